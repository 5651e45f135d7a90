"""Returns: goods brought back on any channel, for an order placed on any channel.

``return_create`` checks the whole request before writing anything, under the order's
lock (``orders.locks.order_lock``), so two returns of the same item racing each other
are checked one after the other and cannot both pass. The goods go back on hand at the
restock location (the receiving location, or a quarantine place) with ledger reason
"return" and the return as source document; the outcome (refund, exchange, store credit)
is recorded with its settlement pending: money moves later, in payments or loyalty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from inventory.models import Location, StockMovement
from inventory.services.stock import stock_receive
from orders.exceptions import ReturnInvalid, ReturnLineNotFulfilled, ReturnQuantityExceeded
from orders.locks import order_lock
from orders.models import Order, OrderLine, Return, ReturnLine
from orders.pricing.allocation import share_of_units
from orders.services.gift_card_sales import order_line_gift_cards_void
from orders.services.points import return_points_reverse
from orders.states import order_event_record

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from unicommerce.channels.models import SalesChannel


def _order_line_id(value: Any) -> int | None:
    if isinstance(value, OrderLine):
        return value.pk
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _parse(
    *, lines: Sequence[Mapping[str, Any]], receiving_location: Location
) -> list[dict[str, Any]]:
    """Shape checks that need no lock: quantities, reasons, restock places, duplicates."""
    if not lines:
        raise ReturnInvalid("return_empty", _("A return needs at least one line."))
    parsed, seen = [], set()
    for index, entry in enumerate(lines):
        line_id = _order_line_id(entry.get("order_line"))
        if line_id is None:
            raise ReturnInvalid(
                "return_line_unknown",
                _("Each return line names an order line."),
                line=index,
            )
        quantity = entry.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise ReturnInvalid(
                "invalid_quantity",
                _("Quantity must be a whole number above zero (got %(quantity)s).")
                % {"quantity": quantity},
                line=index,
                quantity=str(quantity),
            )
        reason = entry.get("reason")
        if reason not in ReturnLine.Reason.values:
            raise ReturnInvalid(
                "return_reason_invalid",
                _("“%(reason)s” is not a return reason.") % {"reason": reason},
                line=index,
                allowed=list(ReturnLine.Reason.values),
            )
        restock = entry.get("restock_location") or receiving_location
        if restock.pk != receiving_location.pk and restock.kind != Location.Kind.QUARANTINE:
            raise ReturnInvalid(
                "return_restock_location_invalid",
                _(
                    "Returned goods go back to the receiving location or to quarantine, "
                    "not to %(location)s."
                )
                % {"location": restock.name},
                line=index,
                location=restock.code,
            )
        if line_id in seen:
            raise ReturnInvalid(
                "return_line_duplicate",
                _("The same order line appears twice in this return."),
                order_line=line_id,
            )
        seen.add(line_id)
        parsed.append(
            {"order_line": line_id, "quantity": quantity, "reason": reason, "restock": restock}
        )
    return parsed


def _request_check(*, outcome: str, receiving_location: Location) -> None:
    if outcome not in Return.Outcome.values:
        raise ReturnInvalid(
            "return_outcome_invalid",
            _("“%(outcome)s” is not a return outcome.") % {"outcome": outcome},
            allowed=list(Return.Outcome.values),
        )
    if not receiving_location.is_active:
        raise ReturnInvalid(
            "return_location_invalid",
            _("%(location)s does not take returns.") % {"location": receiving_location.name},
            location=receiving_location.code,
        )


def _order_lines_returnable(*, order: Order, parsed: list[dict[str, Any]]) -> dict[int, OrderLine]:
    """The order lines the return names, once each is known to be a fulfilled line of
    ``order`` (with the order's lock held)."""
    order_lines = OrderLine.objects.select_related("variant__product").in_bulk(
        [entry["order_line"] for entry in parsed]
    )
    unknown = [
        entry["order_line"]
        for entry in parsed
        if entry["order_line"] not in order_lines
        or order_lines[entry["order_line"]].order_id != order.pk
    ]
    if unknown:
        raise ReturnInvalid(
            "return_line_unknown",
            _("These lines are not lines of order %(order)s.") % {"order": order.reference},
            order_lines=[str(u) for u in unknown],
        )
    not_fulfilled = [
        {"order_line": line.pk, "sku": line.sku, "status": line.status}
        for entry in parsed
        if (line := order_lines[entry["order_line"]]).status != OrderLine.Status.FULFILLED
    ]
    if not_fulfilled:
        raise ReturnLineNotFulfilled(not_fulfilled)
    return order_lines


def _quantities_check(*, parsed: list[dict[str, Any]], order_lines: dict[int, OrderLine]) -> None:
    """``ReturnQuantityExceeded`` when a line would come back more than it was bought
    and not yet returned."""
    returned = dict(
        ReturnLine.objects.filter(order_line__in=list(order_lines))
        .values("order_line")
        .annotate(total=Sum("quantity"))
        .values_list("order_line", "total")
    )
    exceeded = []
    for entry in parsed:
        line = order_lines[entry["order_line"]]
        returnable = line.quantity - returned.get(line.pk, 0)
        if entry["quantity"] > returnable:
            exceeded.append(
                {
                    "order_line": line.pk,
                    "sku": line.sku,
                    "requested": entry["quantity"],
                    "bought": line.quantity,
                    "already_returned": returned.get(line.pk, 0),
                    "returnable": returnable,
                }
            )
    if exceeded:
        raise ReturnQuantityExceeded(exceeded)


def _amounts_paid(parsed: list[dict[str, Any]], order_lines: dict[int, OrderLine]) -> list:
    """What each returned line refunds: its share of what was paid for the order line,
    discounts included (``total_amount``), pro rata to the units, the last units taking
    exactly what is left (``share_of_units``): a line's returns add up to what it cost."""
    before: dict[int, tuple[int, Decimal]] = {
        line_id: (units, amount)
        for line_id, units, amount in ReturnLine.objects.filter(order_line__in=list(order_lines))
        .values("order_line")
        .annotate(units=Sum("quantity"), amount=Sum("amount"))
        .values_list("order_line", "units", "amount")
    }
    amounts = []
    for entry in parsed:
        line = order_lines[entry["order_line"]]
        units_before, amount_before = before.get(line.pk, (0, Decimal("0.00")))
        amount = share_of_units(
            line.total_amount, line.quantity, entry["quantity"], units_before, amount_before
        )
        before[line.pk] = (units_before + entry["quantity"], amount_before + amount)
        amounts.append(amount)
    return amounts


def _return_insert(
    *,
    order: Order,
    channel: SalesChannel,
    receiving_location: Location,
    outcome: str,
    note: str,
    user: AbstractBaseUser | None,
    parsed: list[dict[str, Any]],
    order_lines: dict[int, OrderLine],
) -> Return:
    """The return and its lines, each line worth what was paid for its units
    (``_amounts_paid``)."""
    amounts = _amounts_paid(parsed, order_lines)
    ret = Return.objects.create(
        order=order,
        channel=channel,
        location=receiving_location,
        is_cross_channel=channel.pk != order.channel_id,
        outcome=outcome,
        amount=sum(amounts, Decimal("0.00")),
        currency=order.currency,
        note=note,
        created_by=user if user is not None and user.is_authenticated else None,
    )
    ReturnLine.objects.bulk_create(
        ReturnLine(
            ret=ret,
            order_line=order_lines[entry["order_line"]],
            quantity=entry["quantity"],
            reason=entry["reason"],
            restock_location=entry["restock"],
            amount=amount,
        )
        for entry, amount in zip(parsed, amounts, strict=True)
    )
    return ret


def _restock(
    *,
    ret: Return,
    order: Order,
    parsed: list[dict[str, Any]],
    order_lines: dict[int, OrderLine],
    user: AbstractBaseUser | None,
) -> None:
    """The goods go back on hand where each line is restocked, in (variant, location)
    order, with the return as source document."""
    for entry in sorted(
        parsed, key=lambda e: (order_lines[e["order_line"]].variant_id, e["restock"].pk)
    ):
        stock_receive(
            variant_id=order_lines[entry["order_line"]].variant_id,
            location_id=entry["restock"].pk,
            quantity=entry["quantity"],
            user=user if user is not None and user.is_authenticated else None,
            reason=StockMovement.Reason.RETURN,
            source=ret,
            note=order.reference,
        )


def _return_event_record(
    *,
    ret: Return,
    order: Order,
    parsed: list[dict[str, Any]],
    user: AbstractBaseUser | None,
) -> None:
    order_event_record(
        order=order,
        kind="return",
        message=_("Return %(return)s: %(count)s item(s) brought back at %(location)s.")
        % {
            "return": str(ret),
            "count": sum(e["quantity"] for e in parsed),
            "location": ret.location.name,
        },
        data={
            "return": ret.pk,
            "outcome": ret.outcome,
            "amount": str(ret.amount),
            "cross_channel": ret.is_cross_channel,
            "location": ret.location.code,
            "lines": [
                {"order_line": e["order_line"], "quantity": e["quantity"], "reason": e["reason"]}
                for e in parsed
            ],
        },
        actor=user,
        channel=ret.channel,
    )


@transaction.atomic
def return_create(
    *,
    order: Order,
    channel: SalesChannel,
    lines: Sequence[Mapping[str, Any]],
    receiving_location: Location,
    outcome: str,
    user: AbstractBaseUser | None = None,
    note: str = "",
) -> Return:
    """Record goods brought back to ``receiving_location`` on ``channel``.

    ``lines``: ``{"order_line", "quantity", "reason", "restock_location"?}`` each. At
    most what was fulfilled and not yet returned can come back, per line; every refusal
    lists the lines at fault and leaves everything as it was.
    """
    _request_check(outcome=outcome, receiving_location=receiving_location)
    parsed = _parse(lines=lines, receiving_location=receiving_location)
    order = order_lock(order.pk)
    order_lines = _order_lines_returnable(order=order, parsed=parsed)
    _quantities_check(parsed=parsed, order_lines=order_lines)
    _gift_cards_take_back(parsed=parsed, order_lines=order_lines, user=user)
    ret = _return_insert(
        order=order,
        channel=channel,
        receiving_location=receiving_location,
        outcome=outcome,
        note=note,
        user=user,
        parsed=parsed,
        order_lines=order_lines,
    )
    _restock(ret=ret, order=order, parsed=parsed, order_lines=order_lines, user=user)
    _return_event_record(ret=ret, order=order, parsed=parsed, user=user)
    # The points the order earned on what comes back are taken back, pro rata.
    return_points_reverse(ret)
    return ret


def _gift_cards_take_back(
    *, parsed: list[dict[str, Any]], order_lines: dict[int, OrderLine], user
) -> None:
    """Gift cards sold on the lines coming back are voided first: only unused cards can
    come back (``order_line_gift_cards_void`` refuses otherwise, and nothing changes)."""
    for entry in parsed:
        line = order_lines[entry["order_line"]]
        if line.variant.product.gift_card:
            order_line_gift_cards_void(line=line, units=entry["quantity"], user=user)
