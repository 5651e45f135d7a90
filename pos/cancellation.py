"""Cancelling a paid sale (issue 15, "the till's day"): a paid ticket is never edited nor
voided, it is corrected by a credit note. From the receipt of a sale of this store, with
a manager's approval (their password typed on the till, ``pos.approve_cash``) and a
reason, every unit not returned yet comes back through the ordinary return
(``orders.services.returns.return_create``: restocked here, gift cards sold on it
voided, points taken back), its credit note is written in the register's chain
(``pos.returns.till_return_record``, naming the ticket and the invoice if any) and a JET
``void`` event names the ticket, the credit note, the seller and the manager — all in one
transaction. Then the money goes back to the original tenders through the return's
settlement (``pos.services.till_return_settle``), outside any transaction as a provider
may be called; if that fails, the return waits on the Returns screen to be settled.

A sale is cancelled once: a second attempt is told so and changes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from orders.locks import order_lock
from orders.models import Order, OrderLine, Return, ReturnLine
from payments.selectors import original_payments_capacity
from pos.fiscal.events import E, jet_record
from pos.invoices import sale_ticket_here
from pos.models import JournalKind, JournalRecord, Register
from pos.returns import till_return_record
from pos.selectors import order_returnable_lines
from pos.services import CASH, KEY_SHAPE, FormKeyMissing, till_return_settle
from pos.sessions import session_selling_check
from unicommerce.exceptions import DomainError, Forbidden, InvalidInput

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

CANCELLABLE_PAYMENT = (Order.PaymentStatus.PAID, Order.PaymentStatus.PARTIALLY_REFUNDED)


class CancelApprovalMissing(Forbidden):
    code = "cancel_approval_missing"

    def __init__(self) -> None:
        super().__init__(
            _("A manager approves the cancellation: they type their username and password.")
        )


class CancelReasonMissing(InvalidInput):
    code = "cancel_reason_missing"

    def __init__(self) -> None:
        super().__init__(_("Say why the sale is cancelled."), field="reason")


class SaleAlreadyCancelled(DomainError):
    code = "sale_already_cancelled"
    http_status = 409

    def __init__(self) -> None:
        super().__init__(_("This sale is already cancelled: its credit note is written."))


class SaleNotCancellable(DomainError):
    code = "sale_not_cancellable"
    http_status = 409


class CancelRefundPending(DomainError):
    """The sale is cancelled (its credit note written) but the refund did not go through:
    the return waits on the Returns screen, where it is settled."""

    code = "cancel_refund_pending"
    http_status = 409

    def __init__(self, *, reason: str) -> None:
        super().__init__(
            _(
                "The sale is cancelled and its credit note written, but the refund did not go "
                "through (%(reason)s): settle it from the Returns screen."
            )
            % {"reason": reason},
            reason=reason,
        )


def sale_cancelled(order: Order) -> JournalRecord | None:
    """The JET ``void`` event of ``order``'s cancellation, if it was cancelled."""
    return JournalRecord.objects.filter(
        kind=JournalKind.EVENT, event_code=E.VOID, reference=order.reference
    ).first()


def _lines_back(order: Order, register: Register) -> list[dict]:
    """Every unit not returned yet, back on sale at this store."""
    rows = order_returnable_lines(order=order)
    waiting = [
        row.line.sku
        for row in rows
        if row.line.status not in (OrderLine.Status.FULFILLED, OrderLine.Status.CANCELLED)
    ]
    if waiting:
        raise SaleNotCancellable(
            _(
                "Part of this sale is still to be delivered (%(skus)s): cancel those lines "
                "from the order in the back office first."
            )
            % {"skus": ", ".join(waiting)}
        )
    lines = [
        {
            "order_line": row.line.pk,
            "quantity": row.returnable,
            "reason": ReturnLine.Reason.OTHER,
            "restock_location": register.location,
        }
        for row in rows
        if row.returnable
    ]
    if not lines:
        raise SaleNotCancellable(_("Everything on this sale has already come back."))
    return lines


def _credit(order: Order, register: Register, seller, approver, reason: str) -> Return:
    """The return of every unit left, its credit note and the JET void event."""
    with transaction.atomic():
        order = order_lock(order.pk)
        if sale_cancelled(order) is not None:
            raise SaleAlreadyCancelled()
        if order.payment_status not in CANCELLABLE_PAYMENT:
            raise SaleNotCancellable(_("This sale is not paid: void it at the till instead."))
        ret, credit = till_return_record(
            order=order,
            register=register,
            lines=_lines_back(order, register),
            outcome=Return.Outcome.REFUND,
            user=seller,
            note=_("Sale cancelled: %(reason)s") % {"reason": reason},
        )
        ticket = sale_ticket_here(order, register)
        jet_record(
            chain=register,
            code=E.VOID,
            reference=order.reference,
            payload={
                "order": order.reference,
                "ticket": {"register": ticket.chain.register_id, "number": ticket.number},
                "credit_note": credit.number,
                "return": ret.pk,
                "total": f"{ret.amount:.2f}",
                "by": seller.pk,
                "approved_by": approver.pk,
                "reason": reason,
            },
        )
    return ret


def sale_cancel(
    *,
    order: Order,
    register: Register,
    seller: AbstractBaseUser,
    approver: AbstractBaseUser | None,
    reason: str,
    idempotency_key: str,
) -> Return:
    """Cancel the paid sale ``order`` of this register's store (see the module): its
    return, settled back to the original tenders (in cash when they cannot take it:
    a cash sale's own tender). A refund that fails leaves the sale cancelled, its return
    to settle (``CancelRefundPending``)."""
    reason = (reason or "").strip()[:200]
    sale_ticket_here(order, register)  # another store's sale: no such sale here
    if not reason:
        raise CancelReasonMissing()
    if approver is None:
        raise CancelApprovalMissing()
    if not KEY_SHAPE.match(idempotency_key or ""):
        raise FormKeyMissing()
    session_selling_check(register)
    if sale_cancelled(order) is not None:
        raise SaleAlreadyCancelled()
    ret = _credit(order, register, seller, approver, reason)
    left = ret.amount
    method = None if original_payments_capacity(ret.order).total >= left else CASH
    try:
        return till_return_settle(
            ret=ret,
            register=register,
            seller=seller,
            method=method,
            idempotency_key=idempotency_key,
        )
    except DomainError as error:
        raise CancelRefundPending(reason=error.message) from error
