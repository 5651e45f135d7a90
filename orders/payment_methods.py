"""How a customer chose to pay at checkout: a registry of payment methods.

Checkout creates the order, then hands it over to the chosen method's ``handoff``, in the
checkout's transaction::

    handoff(*, order: Order, channel: SalesChannel, user: AbstractBaseUser | None,
            params: dict) -> object

``params`` are what the caller of checkout passed as ``payment_params`` (the cash
tendered at the till, say); the return value (the cash payment, say) is the checked-out
order's ``payment_handoff``.
A handoff records what it did on the order (a timeline entry, a payment row) and must
not call the outside world while the transaction is open: anything remote (a payment
link by SMS, a gateway call) goes through the outbox or ``transaction.on_commit``. If it
raises a ``DomainError``, the whole checkout rolls back.

Nothing registers at import time. Orders' own, ``pay_in_store`` and ``pay_later``, which
only say "awaiting payment" (``payment_awaiting_handoff``: nothing is faked as paid), are
registered by ``orders.registry.orders_strategies_register`` from ``OrdersConfig.ready``;
other apps register theirs from their own ``AppConfig.ready``, e.g.
``payment_method_register("cash", _("Cash"), handoff, channel_kinds={"store"})``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from orders.exceptions import UnknownPaymentMethod
from orders.states import order_event_record

if TYPE_CHECKING:
    from unicommerce.channels.models import SalesChannel


@dataclass(frozen=True)
class PaymentMethod:
    """``in_person``: taken at a store's till by its staff (cash), so checkout refuses
    it to anyone else (``InPersonOnly``). ``self_service``: a customer's own front end
    (a publishable key, a customer token) may choose it; the others (a payment link,
    which sends an SMS to a number the caller gives) are for staff and the channel's
    back end."""

    code: str
    label: str
    handoff: Callable[..., None]
    channel_kinds: frozenset[str] | None = None
    in_person: bool = False
    self_service: bool = True

    def allowed_on(self, channel: SalesChannel | None) -> bool:
        return channel is None or self.channel_kinds is None or channel.kind in self.channel_kinds


_REGISTRY: dict[str, PaymentMethod] = {}


def payment_method_register(
    code: str,
    label: str,
    handoff: Callable[..., None],
    channel_kinds: Iterable[str] | None = None,
    *,
    in_person: bool = False,
    self_service: bool = True,
) -> PaymentMethod:
    """Make ``code`` a payment method (registering a code again replaces it)."""
    method = PaymentMethod(
        code,
        label,
        handoff,
        frozenset(channel_kinds) if channel_kinds is not None else None,
        in_person=in_person,
        self_service=self_service and not in_person,
    )
    _REGISTRY[code] = method
    return method


def payment_methods(*, channel: SalesChannel | None = None) -> list[PaymentMethod]:
    """The methods a channel may offer, by code."""
    return [m for code, m in sorted(_REGISTRY.items()) if m.allowed_on(channel)]


def payment_methods_by_code() -> dict[str, PaymentMethod]:
    """Every registered method, whatever the channel."""
    return dict(_REGISTRY)


def payment_method_get(code: str, *, channel: SalesChannel | None = None) -> PaymentMethod:
    """The method ``code`` if ``channel`` may use it, else ``UnknownPaymentMethod`` (400)."""
    method = _REGISTRY.get(code)
    if method is None or not method.allowed_on(channel):
        raise UnknownPaymentMethod(code, [m.code for m in payment_methods(channel=channel)])
    return method


def payment_awaiting_handoff(*, order, channel, user=None, params=None) -> None:
    """The handoff of the methods paid later: the order's timeline says it awaits
    payment by its method."""
    order_event_record(
        order=order,
        kind="awaiting_payment",
        message=_("Awaiting payment (%(method)s).")
        % {"method": str(_REGISTRY[order.payment_method].label)},
        data={"payment_method": order.payment_method},
        channel=channel,
        actor=user,
    )


# --- payments under way ---------------------------------------------------------------
# An unpaid order may be cancelled when its time is up (orders.services.expiry), unless
# a payment is under way: a provider still to answer, a payment link the customer may be
# paying right now. The payments app, which knows, registers its check at start-up.

_IN_FLIGHT_CHECKS: list[Callable[[int], bool]] = []


def payment_in_flight_register(check: Callable[[int], bool]) -> None:
    """``check(order_id)`` says whether a payment of the order is under way."""
    if check not in _IN_FLIGHT_CHECKS:
        _IN_FLIGHT_CHECKS.append(check)


def payment_in_flight(order_id: int) -> bool:
    return any(check(order_id) for check in _IN_FLIGHT_CHECKS)
