"""Orders' part when a customer is merged or erased, called by crm's orchestration
(``crm.services``) inside its transaction, with the customers' rows locked.

- ``orders_customer_reassign``: the duplicate's open carts are merged into the
  survivor's latest open cart, then every cart and order of the duplicate follows the
  survivor.
- ``orders_customer_erase``: the contact details copied on orders, and the timeline
  entries and cart events that name the customer, are blanked; amounts stay.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from customers.models import Customer
from customers.services.merging import customer_rows_reassign
from orders.models import Cart, CartEvent, Order, OrderEvent
from orders.services.carts import cart_merge
from unicommerce.exceptions import DomainError

if TYPE_CHECKING:
    from customers.services.gdpr import ErasedIdentity

logger = logging.getLogger(__name__)


def _open_carts(customer: Customer) -> list[Cart]:
    now = timezone.now()
    return list(
        Cart.objects.filter(customer=customer, status=Cart.Status.OPEN)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("-updated_at", "-id")
    )


def orders_customer_reassign(*, survivor: Customer, duplicate: Customer) -> dict[str, int]:
    """Two open carts become one: the duplicate's open carts are merged into the
    survivor's latest open cart (``cart_merge``: quantities of the same variant add up).
    Then every cart (merged, closed, or open when the survivor had none) and every order
    of the duplicate points at the survivor. Returns the rows moved, by model."""
    targets = _open_carts(survivor)
    if targets:
        for source in _open_carts(duplicate):
            try:
                with transaction.atomic():
                    cart_merge(source=source, target=targets[0])
            except DomainError as error:
                # Closed or expired meanwhile: it follows the customer unmerged.
                logger.info("cart %s not merged into %s: %s", source.pk, targets[0].pk, error)
    return {
        model._meta.label: customer_rows_reassign(model, survivor=survivor, duplicate=duplicate)
        for model in (Cart, Order)
    }


def orders_customer_erase(
    *, customer_ids: list[int], identity: ErasedIdentity | None = None
) -> None:
    """GDPR erasure, orders' part: blank the contact details copied on the customers'
    orders (and on guest orders that carry their address or number), and scrub the
    timeline entries and cart events of those orders and carts that name them; amounts,
    lines, the timeline itself and returns stay (accounting must keep them). Carts hold
    no contact copy."""
    contact = Q(customer_id__in=customer_ids)
    for email in getattr(identity, "emails", ()):
        contact |= Q(email__iexact=email)
    for phone in getattr(identity, "phones", ()):
        contact |= Q(phone=phone)
    order_ids = list(Order.objects.filter(contact).values_list("pk", flat=True))
    Order.objects.filter(pk__in=order_ids).update(email="", phone="", shipping_address=None)
    if identity is None or not identity.patterns:
        return
    events = [
        (OrderEvent.objects.filter(order_id__in=order_ids), "message"),
        (CartEvent.objects.filter(cart__customer_id__in=customer_ids), None),
    ]
    for queryset, text_field in events:
        named = Q()
        for pattern in identity.patterns:
            named |= Q(data__icontains=pattern)
            if text_field:
                named |= Q(**{f"{text_field}__icontains": pattern})
        for row in queryset.filter(named):
            row.data = identity.scrub(row.data)
            fields = ["data"]
            if text_field and identity.mentioned_in(getattr(row, text_field)):
                setattr(row, text_field, "[erased]")
                fields.append(text_field)
            row.save(update_fields=fields)
