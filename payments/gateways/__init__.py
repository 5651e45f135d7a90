"""Payment gateways behind one interface (see ``base.Gateway``), chosen by configuration.

``gateway_get()`` answers the configured gateway for remote methods
(``PAYMENT_GATEWAY``: ``simulated`` or ``stripe``); ``gateway_get("manual")`` is money
taken in person (cash, a card on a standalone terminal). Every gateway is registered
at start-up by ``PaymentsConfig.ready()`` (``payments.registry``), ``store_credit``
(over loyalty's ledger) included.

The gateways of remote methods exist only when configured: with ``PAYMENT_GATEWAY=stripe``
there is no simulated gateway (it marks orders paid without any money moving), so no
payment can be started through it and its webhook URL answers 404, and the other way
round. Read at each call, so a settings change (or a test's override) takes effect.
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
    "gateway_exists",
    "gateway_get",
    "gateway_register",
    "gateway_unregister",
]

_FACTORIES: dict[str, Callable[[], Gateway]] = {}
_WHEN_CONFIGURED: set[str] = set()  # codes that exist only as PAYMENT_GATEWAY


def gateway_register(
    code: str, factory: Callable[[], Gateway], *, when_configured: bool = False
) -> None:
    """Make ``code`` a gateway; ``factory()`` builds it (registering again replaces it).
    ``when_configured``: it exists only while it is ``PAYMENT_GATEWAY``."""
    _FACTORIES[code] = factory
    if when_configured:
        _WHEN_CONFIGURED.add(code)
    else:
        _WHEN_CONFIGURED.discard(code)


def gateway_unregister(code: str) -> None:
    _FACTORIES.pop(code, None)
    _WHEN_CONFIGURED.discard(code)


def gateway_exists(code: str) -> bool:
    """Whether ``code`` is a gateway of this site as configured now."""
    if code not in _FACTORIES:
        return False
    return code not in _WHEN_CONFIGURED or code == setting("PAYMENT_GATEWAY")


def gateway_get(code: str | None = None) -> Gateway:
    """The gateway called ``code``, or the configured one (``PAYMENT_GATEWAY``)."""
    code = code or setting("PAYMENT_GATEWAY")
    if not gateway_exists(code):
        raise GatewayUnknown(gateway=code)
    return _FACTORIES[code]()
