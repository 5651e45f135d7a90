"""Payment gateways behind one interface (see ``base.Gateway``), chosen by configuration.

``gateway_get()`` answers the configured gateway for remote methods
(``PAYMENT_GATEWAY``: ``simulated`` or ``stripe``); ``gateway_get("manual")`` is money
taken in person (cash, a card on a standalone terminal). Other apps add theirs at
start-up with ``gateway_register`` (loyalty: ``gift_card`` and ``store_credit``).
"""

from __future__ import annotations

from collections.abc import Callable

from payments.conf import setting
from payments.exceptions import GatewayUnknown
from payments.gateways.base import (
    Declined,
    Gateway,
    GatewayError,
    GatewayResult,
    SignatureInvalid,
    TemporaryError,
    WebhookEvent,
)

__all__ = [
    "Declined",
    "Gateway",
    "GatewayError",
    "GatewayResult",
    "SignatureInvalid",
    "TemporaryError",
    "WebhookEvent",
    "gateway_get",
    "gateway_register",
]

_FACTORIES: dict[str, Callable[[], Gateway]] = {}


def gateway_register(code: str, factory: Callable[[], Gateway]) -> None:
    """Make ``code`` a gateway; ``factory()`` builds it (registering again replaces it)."""
    _FACTORIES[code] = factory


def gateway_unregister(code: str) -> None:
    _FACTORIES.pop(code, None)


def gateway_get(code: str | None = None) -> Gateway:
    """The gateway called ``code``, or the configured one (``PAYMENT_GATEWAY``)."""
    code = code or setting("PAYMENT_GATEWAY")
    factory = _FACTORIES.get(code)
    if factory is None:
        raise GatewayUnknown(gateway=code)
    return factory()


def _builtin() -> None:
    from payments.gateways.manual import ManualGateway
    from payments.gateways.simulated import SimulatedGateway
    from payments.gateways.stripe import StripeGateway

    gateway_register("manual", ManualGateway)
    gateway_register("simulated", SimulatedGateway)
    gateway_register("stripe", StripeGateway.from_settings)


_builtin()
