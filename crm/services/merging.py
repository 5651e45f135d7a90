"""Merging two customers into one: every app takes its part, in one transaction."""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING

from django.db import transaction

from crm.services.figures import customer_figures_refresh
from customers.models import Customer
from customers.services.merging import customers_customer_reassign, customers_merge_lock
from loyalty.services.gift_cards import gift_cards_customer_reassign
from loyalty.services.points import points_customer_reassign
from loyalty.services.store_credit import loyalty_customer_reassign
from loyalty.services.vouchers import vouchers_customer_reassign
from orders.services.customers import orders_customer_reassign
from payments.services.customers import payments_customer_reassign

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)


def customer_merge(
    *, survivor: Customer, duplicate: Customer, user: AbstractBaseUser | None = None
) -> Customer:
    """Make ``duplicate`` part of ``survivor``. Both rows are locked and checked
    (``MergeRefused``: the same customer, gone, erased or already merged), then each app
    takes its part, in this order and in one transaction (an error in any rolls all
    back; ``MergeConflict`` when rows cannot be put together):

    1. customers: addresses, consents, notes, sign-in codes and tokens follow the
       survivor; the duplicate's contact details fill what the survivor lacks; the
       duplicate stays, marked ``merged_into`` and without contact details;
    2. orders: two open carts become one, every cart and order follows the survivor;
    3. loyalty: the store credit and points balances follow by compensating ledger
       entries (the ledgers' rows stay with the duplicate); voucher uses follow the
       survivor (their per-customer limits count the person); the gift cards they
       bought follow;
    4. payments: nothing to move (payments follow their order).

    The figures of both are refreshed once committed. ``crm.services.links`` lists which
    of these looks after each model pointing at a customer."""
    with transaction.atomic():
        survivor, duplicate = customers_merge_lock(survivor=survivor, duplicate=duplicate)
        moved = customers_customer_reassign(survivor=survivor, duplicate=duplicate, user=user)
        moved |= orders_customer_reassign(survivor=survivor, duplicate=duplicate)
        loyalty_customer_reassign(survivor=survivor, duplicate=duplicate, user=user)
        vouchers_customer_reassign(survivor=survivor, duplicate=duplicate, user=user)
        points_customer_reassign(survivor=survivor, duplicate=duplicate, user=user)
        gift_cards_customer_reassign(survivor=survivor, duplicate=duplicate)
        payments_customer_reassign(survivor=survivor, duplicate=duplicate)
        transaction.on_commit(
            partial(customer_figures_refresh, customer_ids=[survivor.pk, duplicate.pk])
        )
    logger.info(
        "customer %s merged into %s: %s",
        duplicate.pk,
        survivor.pk,
        {label: count for label, count in moved.items() if count},
    )
    return survivor
