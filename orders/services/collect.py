"""Click & collect: the order waits at the store (``shipment_ready`` draws a pickup
code and tells the customer, by SMS or e-mail), then the customer collects it against
that code (``shipment_collect``). Same steps as every fulfilment operation
(``orders.services.fulfilment``): lock, re-read, check, change, record.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.exceptions import PickupCodeWrong
from orders.locks import shipment_lock
from orders.models import Order, OrderLine, Shipment
from orders.services.fulfilment import shipment_action_check
from orders.services.order_lines import order_lines_fulfil, order_step_record
from unicommerce.messaging.exceptions import MessageRecipientInvalid
from unicommerce.messaging.services import message_send
from unicommerce.ratelimit import RateLimited, rate_limit_check, rate_limit_hit

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from unicommerce.channels.models import SalesChannel

logger = logging.getLogger(__name__)

SS = Shipment.Status
LS = OrderLine.Status
PICKUP_CODE_DIGITS = 6


PICKUP_LIMIT = "pickup_code_attempt_per_shipment"


def pickup_code_new() -> str:
    return f"{secrets.randbelow(10**PICKUP_CODE_DIGITS):0{PICKUP_CODE_DIGITS}d}"


def _pickup_notify(*, order: Order, shipment: Shipment) -> str:
    """Tell the customer the order is ready, by SMS when a phone is known, else by
    e-mail; queued in this transaction (sent by a worker after commit), once per
    shipment. Returns the channel used, or "" when the customer cannot be reached."""
    customer = order.customer
    phone = order.phone or (customer.phone if customer else "") or ""
    email = order.email or (customer.email if customer else "") or ""
    values = {
        "reference": order.reference,
        "store": shipment.location.name,
        "code": shipment.pickup_code,
    }
    body = (
        _(
            "Your order %(reference)s is ready for pickup at %(store)s. "
            "Show this code at the counter: %(code)s."
        )
        % values
    )
    common = {
        "body": body,
        "kind": "order.ready_for_pickup",
        "customer_id": order.customer_id,
        "reference": order.reference,
        "dedup_key": f"shipment-ready:{shipment.pk}",
        # The code hands the parcel over: it must not outlive the message in our tables.
        "redact_after_send": True,
    }
    if phone:
        try:
            message_send(channel="sms", to=phone, **common)
            return "sms"
        except MessageRecipientInvalid:
            pass  # an unusable number (or a country SMS may not go to): try the e-mail
        except RateLimited:
            logger.warning("pickup SMS for %s over the SMS limits; trying e-mail", order.reference)
    if email:
        try:
            subject = _("Your order %(reference)s is ready for pickup") % values
            message_send(channel="email", to=email, subject=subject, **common)
            return "email"
        except MessageRecipientInvalid:
            pass
    return ""


@transaction.atomic
def shipment_ready(
    *,
    shipment: Shipment,
    user: AbstractBaseUser | None = None,
    channel: SalesChannel | None = None,
) -> Shipment:
    """A click & collect order waits at the store: a 6-digit pickup code is drawn and
    the customer is told (SMS, else e-mail) with the code and the store."""
    order, shipment = shipment_lock(shipment)
    shipment_action_check(shipment, "ready")
    shipment.status = SS.READY
    shipment.ready_at = timezone.now()
    shipment.pickup_code = pickup_code_new()
    shipment.save(update_fields=["status", "ready_at", "pickup_code"])
    order = Order.objects.select_related("customer").get(pk=order.pk)
    notified = _pickup_notify(order=order, shipment=shipment)
    order_step_record(
        order=order,
        kind="shipment_ready",
        message=_("Ready for pickup at %(store)s.") % {"store": shipment.location.name},
        data={
            "shipment": shipment.pk,
            "location": shipment.location.code,
            "notified_by": notified,
        },
        user=user,
        channel=channel,
    )
    return shipment


@transaction.atomic
def shipment_collect(
    *,
    shipment: Shipment,
    code: str,
    user: AbstractBaseUser | None = None,
    channel: SalesChannel | None = None,
) -> Shipment:
    """The customer collects the goods against their pickup code: the reservations
    become sales and the lines are fulfilled. A wrong code changes nothing."""
    # Six digits can be guessed: wrong tries are counted per shipment, whoever types them
    # (the staff API or a till), and refused once over the limit (asked before the lock).
    rate_limit_check(PICKUP_LIMIT, shipment.pk)
    order, shipment = shipment_lock(shipment)
    shipment_action_check(shipment, "collect")
    typed = "".join((code or "").split())
    if not shipment.pickup_code or not secrets.compare_digest(
        typed.encode(), shipment.pickup_code.encode()
    ):
        rate_limit_hit(PICKUP_LIMIT, shipment.pk)
        raise PickupCodeWrong(shipment)
    lines = list(OrderLine.objects.filter(shipment=shipment, status=LS.OPEN))
    order_lines_fulfil(order=order, lines=lines, user=user)
    shipment.status = SS.COLLECTED
    shipment.collected_at = timezone.now()
    shipment.save(update_fields=["status", "collected_at"])
    order_step_record(
        order=order,
        kind="shipment_collected",
        message=_("Collected at %(store)s.") % {"store": shipment.location.name},
        data={
            "shipment": shipment.pk,
            "location": shipment.location.code,
            "lines": [line.pk for line in lines],
        },
        user=user,
        channel=channel,
    )
    return shipment
