"""Paying with loyalty points: a gateway over the loyalty app's points ledger (registered
as ``points`` by ``payments.registry``), and the refund method that gives points back.

``payment_start(method="points", amount=…)`` redeems from the order customer's points
in the active programme of the order's currency: the points needed are
ceil(amount / point value), so what they pay is never less than the amount. No remote
call: the redemption is a ledger row written with the operation's idempotency key, so a
replay answers the same row and never spends twice. A refund of such a payment gives
the points back pro rata (all of them once the payment is refunded in full); a refund
to ``points`` by another payment's refund (``refund_to_method``) gives back points the
order redeemed, never more.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from customers.models import Customer
from loyalty.exceptions import (
    PointsBelowMinimum,
    PointsInsufficient,
    PointsNeedsCustomer,
    PointsProgrammeInactive,
    PointsRefundExceedsRedeemed,
)
from loyalty.models import PointsEntry
from loyalty.services.points import (
    points_needed,
    points_programme_active,
    points_redeem,
    points_reverse,
    points_reversible,
)
from orders.models import Order
from payments.gateways.base import Declined, Gateway, GatewayResult
from payments.models import Payment
from unicommerce.converters import whole_number

POINTS = "points"


def _redemption_of(reference: str) -> PointsEntry:
    prefix, _, pk = reference.partition("_")
    entry_id = whole_number(pk, minimum=1)
    entry = None
    if prefix == "pt" and entry_id is not None:
        entry = PointsEntry.objects.filter(pk=entry_id, kind=PointsEntry.Kind.REDEEM).first()
    if entry is None:
        raise Declined("points_reference_unknown", f"Unknown points redemption {reference!r}.")
    return entry


def _points_back(*, payment: Payment | None, redeemed: int, already: int, amount) -> int:
    """The points a refund of ``amount`` gives back: the share of the payment refunded
    so far (this refund included) of the points redeemed, rounded down, minus what
    earlier refunds gave back; all that is left once the payment is refunded in full."""
    if payment is None or payment.captured_amount <= 0:
        return redeemed - already
    refunded = payment.refunded_amount + amount
    if refunded >= payment.captured_amount:
        return redeemed - already
    share = Decimal(redeemed) * refunded / payment.captured_amount
    target = int(share.to_integral_value(rounding=ROUND_FLOOR))
    return max(0, min(target, redeemed) - already)


class PointsGateway(Gateway):
    """Paying with loyalty points: a redemption from the order customer's ledger."""

    code = POINTS
    remote = False

    def charge(self, *, amount, currency, token, capture, idempotency_key, **extra):
        metadata = extra.get("metadata") or {}
        payment = (
            Payment.objects.select_related("order").filter(pk=metadata.get("payment_id")).first()
        )
        if payment is None:
            raise Declined("points_payment_unknown", "No payment to take points for.")
        if not capture:
            raise Declined("points_capture_only", "Points are taken at once, never held.")
        order = payment.order
        try:
            if order.customer_id is None:
                raise PointsNeedsCustomer(order=order.reference)
            programme = points_programme_active(currency)
            if programme is None:
                raise PointsProgrammeInactive(currency=currency)
            entry = points_redeem(
                customer=Customer(pk=order.customer_id),
                points=points_needed(amount, programme),
                programme=programme,
                reference=order.reference,
                idempotency_key=f"charge:{idempotency_key}",
            )
        except (
            PointsNeedsCustomer,
            PointsProgrammeInactive,
            PointsInsufficient,
            PointsBelowMinimum,
        ) as error:
            raise Declined(error.code, error.message) from None
        return GatewayResult("succeeded", f"pt_{entry.pk}", amount, currency)

    def refund(self, *, reference, amount, currency, idempotency_key):
        redemption = _redemption_of(reference)
        key = f"points-refund:{redemption.pk}:{idempotency_key}"
        entry = PointsEntry.objects.filter(idempotency_key=key).first()
        if entry is None:
            payment = (
                Payment.objects.select_related("order")
                .filter(gateway=POINTS, provider_reference=reference)
                .first()
            )
            already = PointsEntry.objects.filter(
                idempotency_key__startswith=f"points-refund:{redemption.pk}:"
            ).values_list("points", flat=True)
            back = _points_back(
                payment=payment, redeemed=-redemption.points, already=sum(already), amount=amount
            )
            customer_id = (payment.order.customer_id if payment else None) or redemption.customer_id
            if back > 0:
                entry = points_reverse(
                    customer=Customer(pk=customer_id),
                    points=back,
                    reference=redemption.reference,
                    idempotency_key=key,
                )
        return GatewayResult("succeeded", f"pt_{(entry or redemption).pk}", amount, currency)

    def capture(self, *, reference, amount, currency, idempotency_key):
        raise Declined("points_capture_only", "Points are taken at once, never held.")

    def void(self, *, reference, idempotency_key):
        raise Declined("points_capture_only", "Points are taken at once, never held.")


def points_refund(
    *,
    order: Order,
    amount: Decimal,
    currency: str,
    user,
    idempotency_key: str,
    reason: str,
) -> str:
    """The refund method ``points`` (``payments.services.refund_methods``): ``amount``
    goes back as the points it is worth (rounded up, as when they were spent), and only
    as points the order redeemed and has not had back (``points_refund_exceeds_redeemed``
    otherwise: points are not sold for money)."""
    if order.customer_id is None:
        raise PointsNeedsCustomer(order=order.reference)
    programme = points_programme_active(currency)
    if programme is None:
        raise PointsProgrammeInactive(currency=currency)
    customer = Customer(pk=order.customer_id)
    points = points_needed(amount, programme)
    available = points_reversible(customer=customer, reference=order.reference)["give_back"]
    if points > available:
        raise PointsRefundExceedsRedeemed(
            reference=order.reference, points=points, available=available
        )
    entry = points_reverse(
        customer=customer,
        points=points,
        reference=order.reference,
        user=user,
        idempotency_key=f"refund-to:{idempotency_key}",
    )
    return f"pt_{entry.pk}" if entry is not None else ""
