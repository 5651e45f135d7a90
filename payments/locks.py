"""The locks of payments: the only place that takes them.

Lock order, for every writer: the provider reference (advisory, webhooks and outcomes),
the order (``orders.locks.order_lock``), the payment, the provider event. The session
advisory locks (an idempotency key, a payment link) lock no row: they are held while a
provider is called, so concurrent calls wait instead of charging twice.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import OperationalError, connection, transaction

from payments.conf import setting
from payments.exceptions import PaymentInProgress
from payments.models import Payment, PaymentLink

logger = logging.getLogger(__name__)


def advisory_lock_id(namespace: str, value: str) -> int:
    """The 64-bit PostgreSQL advisory lock id of ``namespace:value``."""
    digest = hashlib.sha256(f"{namespace}:{value}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def _session_lock(lock_id: int, *, busy_key: str, what: str) -> Iterator[None]:
    """A session advisory lock, waited for at most ``PAYMENT_IDEMPOTENCY_WAIT_SECONDS``
    (then ``PaymentInProgress`` with ``busy_key``)."""
    wait = int(float(setting("PAYMENT_IDEMPOTENCY_WAIT_SECONDS")) * 1000)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{wait}ms"])
            cursor.execute("SELECT pg_advisory_lock(%s)", [lock_id])
    except OperationalError as exc:
        raise PaymentInProgress(key=busy_key) from exc
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_id])
        except Exception:  # an aborted transaction: the lock ends with the session
            logger.exception("could not release the lock of %s", what)


def payment_key_lock(key: str):
    """Serialise the calls made with one idempotency key (a session advisory lock, held
    across the claim, the provider call and the record; it locks no row). Also for the
    services that wrap several operations under one caller key (instalment plans,
    returns)."""
    lock_id = advisory_lock_id("payments-key", key)
    return _session_lock(lock_id, busy_key=key, what=f"the idempotency key {key}")


def payment_link_lock(link_id: int):
    """Serialise pay / resend / cancel of one link across processes (a session advisory
    lock, held while the provider is called; it locks no row)."""
    lock_id = advisory_lock_id("payments-link", str(link_id))
    return _session_lock(
        lock_id, busy_key=f"payment-link:{link_id}", what=f"payment link {link_id}"
    )


def provider_reference_lock(gateway: str, reference: str) -> None:
    """Serialise what is recorded for one provider payment (outcome vs webhook), for the
    current transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s)",
            [advisory_lock_id("payments-ref", f"{gateway}:{reference}")],
        )


def payment_lock(payment_id: int) -> Payment:
    """The payment's row, locked (after its order's: see the module)."""
    return Payment.objects.select_for_update().get(pk=payment_id)


def payment_link_row_lock(link_id: int) -> PaymentLink:
    """The link's row, locked (not its order's nor its payment's)."""
    return (
        PaymentLink.objects.select_for_update(of=("self",))
        .select_related("payment", "order", "channel")
        .get(pk=link_id)
    )
