"""What a register session should hold per tender, and its Z report's figures (reads
only; ``pos.sessions`` writes).

Which sales a session covers: payments carry no register, only the channel they were
taken on (``Payment.channel``, the register's store channel at the till) and when. A
session therefore covers the payments and refunds recorded on its register's channel
between its opening and its closing (or now, while it is not closed), and the orders
placed on that channel in the same window; a refund settling a return counts where the
return was recorded. Two registers of one store share its channel:
until payments know their register, each session of a store with several registers
counts the whole store's tenders (a known limit).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from orders.models import Order, OrderLine, Return
from payments.models import IN_PERSON, RETURN_REASON_PREFIX, Payment, PaymentOperation
from pos.models import CashMove, RegisterSession
from unicommerce.money import DECIMAL_PLACES, MAX_DIGITS

CASH = Payment.Method.CASH
ZERO = Decimal("0.00")
RETURN_PREFIX = f"{RETURN_REASON_PREFIX}R"  # payments.selectors.return_refund_reason
_MONEY = DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)


def _sum(field: str, **filters) -> Coalesce:
    return Coalesce(Sum(field, **filters), Value(ZERO), output_field=_MONEY)


def session_window(session: RegisterSession) -> tuple[datetime, datetime]:
    """From the opening to the closing (now while the session is not closed)."""
    return session.opened_at, session.closed_at or timezone.now()


def _payments(session: RegisterSession):
    start, end = session_window(session)
    return Payment.objects.filter(
        channel_id=session.register.channel_id, created_at__gte=start, created_at__lt=end
    )


def _return_reasons(refunds, channel_id: int) -> tuple[list[str], list[str]]:
    """The reasons naming a return (``return R00000012``) among ``refunds``: those of
    returns recorded on this channel, and those of returns recorded elsewhere."""
    named: dict[int, str] = {}
    for reason in refunds.filter(reason__startswith=RETURN_PREFIX).values_list("reason", flat=True):
        number = reason.removeprefix(RETURN_PREFIX)
        if number.isdigit():
            named[int(number)] = reason
    here, elsewhere = [], []
    for pk, channel in Return.objects.filter(pk__in=named).values_list("pk", "channel_id"):
        (here if channel == channel_id else elsewhere).append(named[pk])
    return here, elsewhere


def _refunds(session: RegisterSession):
    """Refunds made at this register in the session. A refund settling a return belongs
    to the channel where the return was recorded (a web order brought back to the store
    and refunded in cash there: the refund's payment row is on the web channel, the cash
    left this drawer; in person only: cash or the card terminal); any other refund to
    its payment's channel."""
    start, end = session_window(session)
    channel_id = session.register.channel_id
    window = PaymentOperation.objects.filter(
        kind=PaymentOperation.Kind.REFUND,
        status=PaymentOperation.Status.SUCCEEDED,
        created_at__gte=start,
        created_at__lt=end,
    )
    here, elsewhere = _return_reasons(window, channel_id)
    return window.filter(
        (Q(payment__channel_id=channel_id) & ~Q(reason__in=elsewhere))
        | Q(reason__in=here, payment__method__in=IN_PERSON)
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
    start, end = session_window(session)
    return Order.objects.filter(
        channel_id=session.register.channel_id, created_at__gte=start, created_at__lt=end
    )


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
    return {
        "register": session.register.code,
        "currency": session.currency,
        "opened_at": start.isoformat(),
        "closed_at": end.isoformat(),
        "opening_counted": str(session.opening_counted_amount),
        "tickets": tickets["count"],
        "sales_total": str(tickets["total"]),
        "vat": _vat_breakdown(sold),
        "tenders": _money_map(session_taken(session)),
        "refunds": {
            "count": refunds["count"],
            "total": str(refunds["total"]),
            "per_tender": _money_map(session_refunded(session)),
        },
        "voids": all_orders.filter(status=Order.Status.CANCELLED).count(),
        "sellers": _per_seller(sold),
        "cash_moves": {row["kind"]: str(row["total"]) for row in by_kind.order_by("kind")},
        "counts": {
            tender: {key: str(value) for key, value in figures.items()}
            for tender, figures in sorted(counts.items())
        },
    }


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
