"""The right to erasure: every app blanks its copies of the customer, in one
transaction, and keeps what accounting must keep."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from customers.models import Customer
from customers.services.gdpr import customers_customer_erase
from loyalty.services.gift_cards import gift_cards_customer_erase
from loyalty.services.points import points_customer_erase
from loyalty.services.store_credit import loyalty_customer_erase
from loyalty.services.vouchers import vouchers_customer_erase
from orders.services.customers import orders_customer_erase
from payments.services.customers import payments_customer_erase

# The API keeps the answers it gave to replay them (Idempotency-Key): a customer's
# answers are personal data, so the API's part is called here like any app's (crm is a
# domain module and may not import the API otherwise: see pyproject's contracts).
# Importing it also registers its retention task (``api.idempotency_records_prune``).
from unicommerce.api.idempotency import idempotency_records_erase
from unicommerce.messaging.services import messages_customer_erase

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def customer_erase(*, customer: Customer, user: AbstractBaseUser | None = None) -> Customer:
    """Anonymise a customer (the "right to erasure") and keep what accounting must keep,
    in one transaction; ``CustomerErased`` if they already were. Each part is given
    every id erased (the customer's and those of the customers once merged into them)
    and what they were known by (``ErasedIdentity``), to find the copies no key links
    to them:

    1. customers: the row (and the merged ones) loses name, email, phone and tags;
       addresses, notes, sign-in codes and tokens go; consents stay as an anonymous
       history, with a last "withdrawn" per kind; the admin's history no longer names
       them;
    2. messaging: messages sent to any of them lose recipient and text (queued ones are
       not sent);
    3. orders: contact copies on orders, and timeline entries naming them;
    4. loyalty: nothing to blank in the ledgers and voucher uses (they name nobody); the
       recipient of the gift cards they bought or were sent is blanked;
    5. payments: phones of payment links and instalment plans, provider payloads;
    6. the API: the answers kept for replays.
    """
    with transaction.atomic():
        erasure = customers_customer_erase(customer=customer, user=user)
        customer_ids, identity = erasure.customer_ids, erasure.identity
        messages_customer_erase(
            customer_ids=customer_ids, recipients=[*identity.emails, *identity.phones]
        )
        orders_customer_erase(customer_ids=customer_ids, identity=identity)
        loyalty_customer_erase(customer_ids=customer_ids, identity=identity)
        vouchers_customer_erase(customer_ids=customer_ids, identity=identity)
        points_customer_erase(customer_ids=customer_ids, identity=identity)
        gift_cards_customer_erase(customer_ids=customer_ids, identity=identity)
        payments_customer_erase(customer_ids=customer_ids, identity=identity)
        idempotency_records_erase(customer_ids=customer_ids, identity=identity)
    return erasure.customer
