"""Which register session took the money (``pos.models.SessionTender``): written by the
till's services (``pos.services``) for every payment taken and every refund given at a
register, read by ``pos.session_figures``.

Payments run outside any transaction when they may call a provider (their claim is
committed first), so the link cannot share their transaction. Instead it is written
**before**, in its own short transaction under the session's lock: ``tender_claim``
records the idempotency key the till is about to give payments, in the register's open
session. Whatever payments then records under that key belongs to that session, even if
the till dies before ``tender_resolve`` / ``refunds_resolve`` fill in the row's foreign
keys. A payment recorded in the till's own transaction (cash at the checkout, cash
covering what is due) is linked in that transaction (``tender_link``).

Holding the session's lock (``pos.locks.session_lock``) while linking serialises the link
with the session's closing: a session that went to closing in between refuses the money
(``RegisterNotOpen``), and a closing never misses a link that committed before it.
"""

from __future__ import annotations

from django.db import transaction

from payments.models import Payment
from pos.exceptions import RegisterNotOpen
from pos.locks import session_lock
from pos.models import Register, RegisterSession, SessionTender
from pos.session_figures import refund_operations_of
from pos.sessions import session_selling_check

SALE = SessionTender.Kind.SALE
REFUND = SessionTender.Kind.REFUND


def session_open_locked(register: Register) -> RegisterSession:
    """The register's open session, locked until the caller's transaction ends; refused
    as ``session_selling_check`` refuses (none open, too old, gone to closing)."""
    session = session_lock(session_selling_check(register).pk)
    if session.status != RegisterSession.Status.OPEN:
        raise RegisterNotOpen(register=register.code)
    return session


def tender_claim(*, register: Register, key: str, kind: str) -> SessionTender:
    """Before the till asks payments for money under ``key``: the key is recorded in the
    register's open session (committed on return). The same key again (a double click, a
    retry) is the row already written: the money stays with the session that started it."""
    with transaction.atomic():
        done = SessionTender.objects.filter(key=key).first()
        if done is not None:
            return done
        session = session_open_locked(register)
        link, _created = SessionTender.objects.get_or_create(
            key=key, defaults={"session": session, "kind": kind}
        )
        return link


def tender_resolve(*, key: str, payment: Payment) -> None:
    """Name the payment recorded under a claimed key (its sale row)."""
    SessionTender.objects.filter(key=key, kind=SALE, payment__isnull=True).update(payment=payment)


def tender_link(*, register: Register, payment: Payment) -> SessionTender:
    """Link a payment recorded in the caller's transaction to the register's open session
    (locked: a closing waits for this transaction)."""
    session = session_open_locked(register)
    link, _created = SessionTender.objects.get_or_create(
        payment=payment, defaults={"session": session, "kind": SALE}
    )
    return link


def refunds_resolve(*, key: str) -> list[SessionTender]:
    """One row per refund made under a claimed settle key, in the claim's session."""
    claim = SessionTender.objects.filter(key=key, kind=REFUND).first()
    if claim is None:
        return []
    links = []
    with transaction.atomic():
        for operation in refund_operations_of(key).order_by("pk"):
            link, _created = SessionTender.objects.get_or_create(
                operation=operation, defaults={"session_id": claim.session_id, "kind": REFUND}
            )
            links.append(link)
    return links
