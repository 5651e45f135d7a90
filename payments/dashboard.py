"""Reads for the payments dashboard (the admin page in payments/admin/dashboard.py).

Every figure is a GROUP BY in PostgreSQL, never a loop over rows in Python, so the page
costs the same number of queries for ten payments or a million. Money stays ``Decimal``
and is always grouped by currency: amounts in two currencies are never added together.

What the figures mean:

- A payment's **channel** is the channel it was taken on (``Payment.channel``: the
  store whose till took it, the channel of the payment link) or, when it was recorded
  without one, its order's channel.
- The date range is on the payment's creation date (the local day, inclusive at both
  ends). **Captured** is what the payment took so far (all of it, or the parts of an
  instalment plan already charged), **refunded** what went back, **net** the difference.
  A refund made another way than the original payment (cash at the till for a card
  payment, store credit) is a refund of its method, never a payment: it is not counted
  among the payments, and its amount is refunded under its method (and channel).
- Instalment parts **due** are those still scheduled within the next ``days`` days;
  **late** are those past their due date and not paid, or whose charge failed (retrying
  or failed), whatever their date.
- Payment links are counted over the links created in the date range: **sent** (an SMS
  was queued: every link gets one at creation), **opened** (the customer opened the
  page), **paid**; the conversions are opened / sent and paid / sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from payments.models import Instalment, InstalmentPlan, Payment, PaymentLink, PaymentOperation
from unicommerce.money import DECIMAL_PLACES, MAX_DIGITS

ZERO = Decimal("0.00")
LATEST_LINKS = 10
PLAN_ROWS = 50
DUE_DAYS = 7
IS = Instalment.Status
LATE_STATUSES = (IS.RETRYING, IS.FAILED)
UNPAID_STATUSES = (IS.SCHEDULED, IS.PROCESSING, IS.RETRYING)


@dataclass(frozen=True)
class DashboardFilters:
    """What the dashboard shows: every field optional (None: no filter)."""

    channel_id: int | None = None
    method: str | None = None
    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True)
class Totals:
    """Sums over a group of payments, in one currency."""

    key: str | int | None
    label: str
    currency: str
    count: int  # payments (refunds made another way are not payments)
    captured: Decimal
    refunded: Decimal  # refunds to the payments and refunds made by this method
    refunds: int = 0  # refunds made by this method (cash at the till…), not payments

    @property
    def net(self) -> Decimal:
        return self.captured - self.refunded


@dataclass(frozen=True)
class InstalmentSummary:
    currency: str
    due_count: int
    due_amount: Decimal
    late_count: int
    late_amount: Decimal


@dataclass(frozen=True)
class LinkFunnel:
    created: int = 0
    sent: int = 0
    opened: int = 0
    paid: int = 0
    paid_amounts: dict[str, Decimal] = field(default_factory=dict)

    @staticmethod
    def _rate(part: int, whole: int) -> Decimal | None:
        if not whole:
            return None
        return (Decimal(100) * part / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def opened_rate(self) -> Decimal | None:
        """Percentage of the links sent that were opened (None when none was sent)."""
        return self._rate(self.opened, self.sent)

    @property
    def paid_rate(self) -> Decimal | None:
        """Percentage of the links sent that were paid (None when none was sent)."""
        return self._rate(self.paid, self.sent)


def _money_sum(expression) -> Coalesce:
    output = DecimalField(max_digits=MAX_DIGITS + 4, decimal_places=DECIMAL_PLACES)
    return Coalesce(Sum(expression, output_field=output), Value(ZERO), output_field=output)


def _channel_q(channel_id: int, prefix: str = "") -> Q:
    """Payments (under ``prefix``) whose channel is ``channel_id``: their own, or their
    order's when they have none."""
    return Q(**{f"{prefix}channel_id": channel_id}) | Q(
        **{f"{prefix}channel__isnull": True, f"{prefix}order__channel_id": channel_id}
    )


def payments_filtered(filters: DashboardFilters) -> QuerySet[Payment]:
    """The payments the dashboard shows, newest first, with what a row displays."""
    payments = Payment.objects.select_related("order", "channel", "order__channel")
    if filters.channel_id is not None:
        payments = payments.filter(_channel_q(filters.channel_id))
    if filters.method:
        payments = payments.filter(method=filters.method)
    if filters.status:
        payments = payments.filter(status=filters.status)
    if filters.date_from is not None:
        payments = payments.filter(created_at__date__gte=filters.date_from)
    if filters.date_to is not None:
        payments = payments.filter(created_at__date__lte=filters.date_to)
    return payments.order_by("-created_at", "-id")


#: A refund made another way than the original payment (cash or a card terminal at the
#: till, store credit: ``payments.services.refund_methods``) is recorded as a payment row of that
#: method that took nothing (amount 0) and carries the refund as its one operation. It is
#: a refund, not a payment: not counted among the payments, its amount among the refunds.
REFUND_ROW = Q(amount=0, status=Payment.Status.REFUNDED)


def _refund_row_amount() -> Subquery:
    """What a refund row gave back (its succeeded refund operations)."""
    return Subquery(
        PaymentOperation.objects.filter(
            payment=OuterRef("pk"),
            kind=PaymentOperation.Kind.REFUND,
            status=PaymentOperation.Status.SUCCEEDED,
        )
        .order_by()
        .values("payment")
        .annotate(total=Sum("amount"))
        .values("total")[:1],
        output_field=DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES),
    )


def _refunded_expression() -> Case:
    """What a payment row gave back: its refunds, or the refund it carries (a refund
    row, whose cached ``refunded_amount`` stays 0)."""
    return Case(
        When(REFUND_ROW, then=Coalesce(_refund_row_amount(), Value(ZERO))),
        default=F("refunded_amount"),
        output_field=DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES),
    )


def payments_with_refunds(payments: QuerySet[Payment]) -> QuerySet[Payment]:
    """``payments`` with ``refunded_total`` (what each row gave back, see
    ``_refunded_expression``) and ``is_refund`` (a refund row): one subquery per row, in
    the same query."""
    return payments.annotate(
        refunded_total=_refunded_expression(),
        is_refund=Case(
            When(REFUND_ROW, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        ),
    )


def _totals(payments: QuerySet[Payment], *group: str, **named) -> list[dict]:
    return list(
        payments.order_by()
        .annotate(**named)
        .values(*group, *named, "currency")
        .annotate(
            payments=Count("pk", filter=~REFUND_ROW),
            refunds=Count("pk", filter=REFUND_ROW),
            captured=_money_sum("captured_amount"),
            refunded=_money_sum(_refunded_expression()),
        )
    )


def payment_totals_by_method(payments: QuerySet[Payment]) -> list[Totals]:
    """One row per (method, currency) of ``payments``: one query."""
    labels = dict(Payment.Method.choices)
    rows = _totals(payments, "method")
    result = [
        Totals(
            key=row["method"],
            label=str(labels.get(row["method"], row["method"])),
            currency=row["currency"],
            count=row["payments"],
            captured=row["captured"],
            refunded=row["refunded"],
            refunds=row["refunds"],
        )
        for row in rows
    ]
    return sorted(result, key=lambda t: (t.currency, -t.captured, t.label))


def payment_totals_by_channel(payments: QuerySet[Payment]) -> list[Totals]:
    """One row per (channel, currency) of ``payments`` (the payment's channel, else its
    order's): one query."""
    rows = _totals(
        payments,
        sales_channel=Coalesce("channel_id", "order__channel_id"),
        sales_channel_name=Coalesce("channel__name", "order__channel__name"),
    )
    result = [
        Totals(
            key=row["sales_channel"],
            label=row["sales_channel_name"] or "—",
            currency=row["currency"],
            count=row["payments"],
            captured=row["captured"],
            refunded=row["refunded"],
            refunds=row["refunds"],
        )
        for row in rows
    ]
    return sorted(result, key=lambda t: (t.currency, -t.captured, t.label))


def payment_totals_by_currency(payments: QuerySet[Payment]) -> list[Totals]:
    """The grand totals of ``payments``, one row per currency: one query."""
    return [
        Totals(
            key=row["currency"],
            label=row["currency"],
            currency=row["currency"],
            count=row["payments"],
            captured=row["captured"],
            refunded=row["refunded"],
            refunds=row["refunds"],
        )
        for row in sorted(_totals(payments), key=lambda r: r["currency"])
    ]


# --- instalment plans


def _parts(channel_id: int | None) -> QuerySet[Instalment]:
    parts = Instalment.objects.exclude(plan__status=InstalmentPlan.Status.CANCELLED)
    if channel_id is not None:
        parts = parts.filter(_channel_q(channel_id, "plan__payment__"))
    return parts


def _due_q(today: date, days: int) -> Q:
    return Q(status=IS.SCHEDULED, due_date__gte=today, due_date__lte=today + timedelta(days=days))


def _late_q(today: date) -> Q:
    return Q(status__in=LATE_STATUSES) | Q(status__in=UNPAID_STATUSES, due_date__lt=today)


def instalments_summary(
    *, today: date, days: int = DUE_DAYS, channel_id: int | None = None
) -> list[InstalmentSummary]:
    """Count and amount of the parts due within ``days`` days and of the late ones, per
    currency: one query."""
    due, late = _due_q(today, days), _late_q(today)
    rows = (
        _parts(channel_id)
        .filter(due | late)
        .order_by()
        .values(currency=F("plan__currency"))
        .annotate(
            due_count=Count("pk", filter=due),
            due_amount=Coalesce(Sum("amount", filter=due), Value(ZERO)),
            late_count=Count("pk", filter=late),
            late_amount=Coalesce(Sum("amount", filter=late), Value(ZERO)),
        )
    )
    return [InstalmentSummary(**row) for row in sorted(rows, key=lambda r: r["currency"])]


def _part_rows(parts: QuerySet[Instalment]) -> QuerySet[Instalment]:
    return parts.select_related("plan", "plan__payment", "plan__payment__order")


def instalments_due(
    *, today: date, days: int = DUE_DAYS, channel_id: int | None = None, limit: int = PLAN_ROWS
) -> list[Instalment]:
    """The parts due within ``days`` days, soonest first: one query."""
    parts = _parts(channel_id).filter(_due_q(today, days))
    return list(_part_rows(parts).order_by("due_date", "plan_id", "number")[:limit])


def instalments_late(
    *, today: date, channel_id: int | None = None, limit: int = PLAN_ROWS
) -> list[Instalment]:
    """The late parts (past due and unpaid, or failing), oldest first: one query."""
    parts = _parts(channel_id).filter(_late_q(today))
    return list(_part_rows(parts).order_by("due_date", "plan_id", "number")[:limit])


# --- payment links


def _links(filters: DashboardFilters) -> QuerySet[PaymentLink]:
    links = PaymentLink.objects.all()
    if filters.channel_id is not None:
        links = links.filter(channel_id=filters.channel_id)
    if filters.date_from is not None:
        links = links.filter(created_at__date__gte=filters.date_from)
    if filters.date_to is not None:
        links = links.filter(created_at__date__lte=filters.date_to)
    return links


def payment_link_funnel(filters: DashboardFilters) -> LinkFunnel:
    """Links created in the period, sent, opened and paid (and the amounts paid by
    currency): one query."""
    paid = Q(status=PaymentLink.Status.PAID) | Q(paid_at__isnull=False)
    rows = list(
        _links(filters)
        .order_by()
        .values("currency")
        .annotate(
            created=Count("pk"),
            sent=Count("pk", filter=Q(sends__gt=0)),
            opened=Count("pk", filter=Q(opened_at__isnull=False)),
            paid=Count("pk", filter=paid),
            paid_amount=Coalesce(Sum("amount", filter=paid), Value(ZERO)),
        )
    )
    return LinkFunnel(
        created=sum(r["created"] for r in rows),
        sent=sum(r["sent"] for r in rows),
        opened=sum(r["opened"] for r in rows),
        paid=sum(r["paid"] for r in rows),
        paid_amounts={r["currency"]: r["paid_amount"] for r in rows if r["paid"]},
    )


def payment_links_latest(filters: DashboardFilters, *, limit: int = LATEST_LINKS):
    """The latest links of the period, newest first: one query."""
    links = _links(filters).select_related("order", "channel")
    return list(links.order_by("-created_at", "-id")[:limit])
