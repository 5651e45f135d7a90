"""What a register session should hold per tender, and its Z report's figures (reads
only; ``pos.sessions`` writes).

Which money a session covers: the payments and refunds linked to it
(``pos.models.SessionTender``, written by the till's services when it takes a payment or
settles a refund: ``pos.session_tenders``). Each is counted in the session of the
register that took it or gave it back, whichever register sold the order and whatever
channel the payment is on: two registers of one store each count their own; a web order
refunded at a till counts at that till; a card payment captured after its session closed
still belongs to the session that started it. A link is found by its payment (or refund
operation) or, before payments has answered, by the idempotency key the till gave it.

Which sales a session covers: its register's tickets (``pos.fiscal.tickets``, one per
sale, chained per register) written while it was open. A sale holds its session's lock
until it commits, so a closing never misses one.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from django.db.models import (
    BigIntegerField,
    CharField,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Concat, Substr
from django.utils import timezone
from django.utils.text import capfirst

from orders.models import Order, OrderLine
from payments.models import Payment, PaymentLink, PaymentOperation
from pos.models import CashMove, JournalKind, JournalRecord, RegisterSession, SessionTender
from unicommerce.money import DECIMAL_PLACES, MAX_DIGITS

CASH = Payment.Method.CASH
ZERO = Decimal("0.00")
_MONEY = DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
_LABELS = dict(Payment.Method.choices)


def tender_label(code: str) -> str:
    """A tender's label in the active language (``card_terminal`` → "card (payment
    terminal)"); an unknown code is shown as it is."""
    label = _LABELS.get(code)
    return capfirst(str(label)) if label is not None else code


def _sum(field: str, **filters) -> Coalesce:
    return Coalesce(Sum(field, **filters), Value(ZERO), output_field=_MONEY)


def session_window(session: RegisterSession) -> tuple[datetime, datetime]:
    """From the opening to the closing (now while the session is not closed)."""
    return session.opened_at, session.closed_at or timezone.now()


def refund_operations_of(key: str):
    """The refunds payments made under a till's settle key: each derives its own key from
    it (``<key>:method``, ``<key>:payment:<id>``, ``payments.services.returns``)."""
    return PaymentOperation.objects.filter(
        kind=PaymentOperation.Kind.REFUND,
        status=PaymentOperation.Status.SUCCEEDED,
        idempotency_key__startswith=f"{key}:",
    )


def _links(session: RegisterSession, kind: str):
    return SessionTender.objects.filter(session=session, kind=kind)


def _payments(session: RegisterSession):
    """The payments taken in the session: linked, or recorded under a key it claimed, or
    paid through a payment link it sent (the link's key)."""
    links = _links(session, SessionTender.Kind.SALE)
    keys = links.filter(key__isnull=False).values("key")
    return Payment.objects.filter(
        Q(pk__in=links.filter(payment__isnull=False).values("payment_id"))
        | Q(idempotency_key__in=keys)
        | Q(pk__in=PaymentLink.objects.filter(idempotency_key__in=keys).values("payment_id"))
    )


def _refunds(session: RegisterSession):
    """The refunds given in the session: linked, or made under a settle key it claimed
    (each refund's key derives from it)."""
    links = _links(session, SessionTender.Kind.REFUND)
    claimed = (
        links.filter(key__isnull=False)
        .alias(refund_key=ExpressionWrapper(OuterRef("idempotency_key"), output_field=CharField()))
        .filter(refund_key__startswith=Concat("key", Value(":")))
    )
    return PaymentOperation.objects.filter(
        Q(pk__in=links.filter(operation__isnull=False).values("operation_id")) | Exists(claimed),
        kind=PaymentOperation.Kind.REFUND,
        status=PaymentOperation.Status.SUCCEEDED,
    )


def session_taken(session: RegisterSession) -> dict[str, Decimal]:
    """Captured per tender in the session (cash: what stayed in the drawer, the change
    given back already taken off)."""
    rows = _payments(session).values("method").annotate(total=_sum("captured_amount"))
    return {row["method"]: row["total"] for row in rows if row["total"]}


def session_refunded(session: RegisterSession) -> dict[str, Decimal]:
    """Refunded per tender in the session (cash: handed back from the drawer)."""
    rows = _refunds(session).values("payment__method").annotate(total=_sum("amount"))
    return {row["payment__method"]: row["total"] for row in rows if row["total"]}


def session_moves_total(session: RegisterSession) -> Decimal:
    """The signed total of the session's cash moves (reversals included)."""
    return CashMove.objects.filter(session=session).aggregate(total=_sum("amount"))["total"]


def session_expected(session: RegisterSession) -> dict[str, Decimal]:
    """What the session should hold per tender: cash = the opening count + cash taken
    (change already deducted) − cash refunded + cash moves; every other tender = taken −
    refunded. Cash is always there; another tender only when something moved in it."""
    taken = session_taken(session)
    refunded = session_refunded(session)
    expected = {
        CASH: session.opening_counted_amount
        + taken.get(CASH, ZERO)
        - refunded.get(CASH, ZERO)
        + session_moves_total(session)
    }
    for method in sorted(set(taken) | set(refunded)):
        if method != CASH:
            expected[method] = taken.get(method, ZERO) - refunded.get(method, ZERO)
    return expected


def _orders(session: RegisterSession):
    """The orders sold at the session's register while it was open: its tickets."""
    start, end = session_window(session)
    tickets = JournalRecord.objects.filter(
        chain__register_id=session.register_id,
        chain__kind=JournalKind.TICKET,
        created_at__gte=start,
        created_at__lt=end,
    )
    # A ticket's reference is its order's (``UC00000012``: "UC" and the order's id).
    order_ids = tickets.annotate(order_id=Cast(Substr("reference", 3), BigIntegerField()))
    return Order.objects.filter(pk__in=order_ids.values("order_id"))


def _per_seller(orders) -> list[dict[str, object]]:
    """Sales per seller: tickets and their total, by who checked them out."""
    rows = (
        orders.values("created_by__username")
        .annotate(count=Count("id"), total=_sum("total_amount"))
        .order_by("created_by__username")
    )
    return [
        {
            "seller": row["created_by__username"] or "",
            "tickets": row["count"],
            "total": str(row["total"]),
        }
        for row in rows
    ]


def _vat_breakdown(orders) -> list[dict[str, str]]:
    """Per VAT rate: incl. VAT, VAT, excl. VAT, from the lines of the orders sold."""
    rows = (
        OrderLine.objects.filter(order__in=orders)
        .exclude(status=OrderLine.Status.CANCELLED)
        .values("vat_rate")
        .annotate(gross=_sum("total_amount"), vat=_sum("vat_amount"))
        .order_by("vat_rate")
    )
    return [
        {
            "rate": str(row["vat_rate"]),
            "gross": str(row["gross"]),
            "vat": str(row["vat"]),
            "net": str(row["gross"] - row["vat"]),
        }
        for row in rows
    ]


def _money_map(values: dict[str, Decimal]) -> dict[str, str]:
    return {key: str(value) for key, value in sorted(values.items())}


def z_report_figures(session: RegisterSession, counts: dict[str, dict[str, Decimal]]) -> dict:
    """The Z report: sales per VAT rate, tenders taken and refunded, ticket count, voids,
    cash moves, and per tender what was expected, counted and the difference. Amounts are
    strings (exact Decimals in JSON)."""
    start, end = session_window(session)
    all_orders = _orders(session)
    sold = all_orders.exclude(status=Order.Status.CANCELLED)
    tickets = sold.aggregate(count=Count("id"), total=_sum("total_amount"))
    moves = CashMove.objects.filter(session=session)
    by_kind = moves.values("kind").annotate(total=_sum("amount"))
    refunds = _refunds(session).aggregate(count=Count("id"), total=_sum("amount"))
    taken, refunded = session_taken(session), session_refunded(session)
    return {
        "register": session.register.code,
        "currency": session.currency,
        "opened_at": start.isoformat(),
        "closed_at": end.isoformat(),
        "opening_counted": str(session.opening_counted_amount),
        "tickets": tickets["count"],
        "sales_total": str(tickets["total"]),
        "vat": _vat_breakdown(sold),
        "tenders": _money_map(taken),
        "refunds": {
            "count": refunds["count"],
            "total": str(refunds["total"]),
            "per_tender": _money_map(refunded),
        },
        "voids": all_orders.filter(status=Order.Status.CANCELLED).count(),
        "sellers": _per_seller(sold),
        "cash_moves": {row["kind"]: str(row["total"]) for row in by_kind.order_by("kind")},
        "counts": {
            tender: {key: str(value) for key, value in figures.items()}
            for tender, figures in sorted(counts.items())
        },
        "tender_labels": _labels(taken, refunded, counts),
    }


def _labels(*tender_maps: dict) -> dict[str, str]:
    """The label of every tender the report names, in the language it was closed in (a
    print or an export of the stored report reads them; the keys stay the codes)."""
    codes = sorted({code for tenders in tender_maps for code in tenders})
    return {code: tender_label(code) for code in codes}


def session_differences(
    expected: dict[str, Decimal], counted: dict[str, Decimal]
) -> dict[str, dict[str, Decimal]]:
    """Per tender expected, counted and counted − expected. A tender not counted (points,
    gift cards, store credit: ledgers nobody counts) is taken as counted = expected."""
    figures: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for tender in sorted(set(expected) | set(counted)):
        want = expected.get(tender, ZERO)
        have = counted.get(tender, want)
        figures[tender] = {"expected": want, "counted": have, "difference": have - want}
    return dict(figures)
