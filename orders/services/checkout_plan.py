"""Checkout's plan: how each line is fulfilled and where its stock comes from.

Read-only: ``checkout_lines_resolve`` decides each line's fulfilment (the caller's choice,
the cart line's, or the channel's usual way), ``checkout_stock_rows`` reads the stock of
every location that may serve the lines (one query), and ``checkout_plan`` checks every
line against it and chooses the locations (orchestration for shipped lines), raising one
``CheckoutUnavailable`` that lists every short line. ``orders.services.checkout_stock``
then takes what was planned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from customers.phones import phone_e164
from inventory.models import Location, UnbookedSale
from inventory.services.unbooked import unbooked_sales_granted
from orders.conf import orchestration_strategy
from orders.exceptions import CheckoutUnavailable, InvalidFulfilment, InvalidShippingAddress
from orders.models import Fulfilment
from orders.orchestration import Candidate, Destination, ShipLine, Unallocatable
from orders.pricing.carts import PricedLine
from orders.selectors import stock_levels_for
from orders.services.carts import fulfilment_check
from orders.services.unbooked import cart_line_reference
from unicommerce.channels.models import SalesChannel

ADDRESS_REQUIRED = ("line1", "postal_code", "city", "country")
ADDRESS_FIELDS = (
    "name",  # the recipient as written on the parcel (the till's form has one field)
    "first_name",
    "last_name",
    "line1",
    "line2",
    "postal_code",
    "city",
    "country",
    "phone",
)


@dataclass(frozen=True)
class LineChoice:
    """How one line is to be fulfilled, chosen at checkout (overrides the cart line's)."""

    fulfilment: str
    location: Location | None = None


@dataclass
class CheckoutLine:
    priced: PricedLine
    fulfilment: str
    location: Location | None  # the till, the collect store, or a chosen ship location

    @property
    def variant_id(self) -> int:
        return self.priced.line.variant_id

    @property
    def quantity(self) -> int:
        return self.priced.line.quantity


@dataclass(frozen=True)
class StockTake:
    """One stock operation: sell (taken now) or reserve, for one line at one location."""

    variant_id: int
    location_id: int
    quantity: int
    line: CheckoutLine
    unbooked: UnbookedSale | None = None  # taken now though not in the books, approved


def shipping_address_clean(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """The snapshot kept on the order: trimmed text fields, optional coordinates;
    ``InvalidShippingAddress`` (400) naming what is missing."""
    raw = raw or {}
    address: dict[str, Any] = {
        name: str(raw.get(name) or "").strip()[:255] for name in ADDRESS_FIELDS
    }
    address["country"] = address["country"].upper()
    if not address["name"]:
        # One line for the parcel, the receipt and the admin, whichever form was used.
        address["name"] = f"{address['first_name']} {address['last_name']}".strip()
    missing = [name for name in ADDRESS_REQUIRED if not address[name]]
    if address["country"] and len(address["country"]) != 2:
        missing.append("country")
    for name, bound in (("latitude", 90), ("longitude", 180)):
        value = raw.get(name)
        if value in (None, ""):
            continue
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            missing.append(name)
            continue
        if not number.is_finite() or abs(number) > bound:
            missing.append(name)
            continue
        address[name] = str(number)
    if missing:
        raise InvalidShippingAddress(missing)
    if address["phone"]:
        address["phone"] = phone_e164(address["phone"])
    return address


def checkout_lines_resolve(
    pricing_lines: list[PricedLine],
    *,
    channel: SalesChannel,
    till_location: Location | None,
    line_choices: Mapping[int, LineChoice] | None,
    default_choice: LineChoice | None,
) -> list[CheckoutLine]:
    choices = dict(line_choices or {})
    known = {p.line.pk for p in pricing_lines}
    unknown = sorted(str(k) for k in choices if k not in known)
    if unknown:
        raise InvalidFulfilment(
            _("The cart has no line %(lines)s.") % {"lines": ", ".join(unknown)}, lines=unknown
        )
    resolved = []
    for priced in pricing_lines:
        line = priced.line
        choice = choices.get(line.pk) or default_choice
        if choice is not None:
            fulfilment, location = choice.fulfilment, choice.location
            if not fulfilment:
                raise InvalidFulfilment(_("Choose how each line is fulfilled."), line_id=line.pk)
        elif line.fulfilment:
            fulfilment, location = line.fulfilment, line.location
        elif channel.kind == SalesChannel.Kind.STORE and till_location is not None:
            fulfilment, location = Fulfilment.TAKEN_NOW, till_location
        else:
            fulfilment, location = Fulfilment.SHIP, None
        if fulfilment == Fulfilment.TAKEN_NOW:
            if till_location is None:
                raise InvalidFulfilment(
                    _("Only a till can hand goods over now; choose shipping or collection."),
                    line_id=line.pk,
                    fulfilment=fulfilment,
                )
            location = till_location
        fulfilment_check(fulfilment, location)
        resolved.append(CheckoutLine(priced, fulfilment, location))
    return resolved


def checkout_stock_rows(
    *, channel: SalesChannel, variant_ids: set[int], explicit_ids: set[int], ship: bool
) -> list[dict]:
    """In one query: the levels of these variants at the locations named by lines and,
    when something ships, at every candidate shipping location (active stores and
    warehouses feeding the channel; from a store, every one feeding an active channel:
    the endless aisle)."""
    return stock_levels_for(
        variant_ids=variant_ids,
        location_ids=explicit_ids,
        channel=channel,
        fed_kinds=[Location.Kind.STORE, Location.Kind.WAREHOUSE] if ship else None,
        any_active_channel=channel.kind == SalesChannel.Kind.STORE,
    )


def checkout_plan(
    lines: list[CheckoutLine],
    rows: list[dict],
    *,
    channel: SalesChannel,
    destination: Destination | None,
) -> list[StockTake]:
    """Check every line, then choose locations; raise one CheckoutUnavailable listing
    each short line."""
    at = {(r["variant_id"], r["location_id"]): r for r in rows}
    takes: list[StockTake] = []
    short: list[dict] = []
    orchestrated: list[CheckoutLine] = []
    unbooked: list[tuple[CheckoutLine, int]] = []  # short taken-now lines: overrides?
    for line in lines:
        if line.fulfilment == Fulfilment.SHIP and line.location is None:
            orchestrated.append(line)
            continue
        row = at.get((line.variant_id, line.location.pk))
        if line.fulfilment == Fulfilment.TAKEN_NOW:
            # At the till the customer holds the item: safety stock may go.
            available = max(row["on_hand"] - row["reserved_now"], 0) if row else 0
        else:
            available = row["available_now"] if row else 0
        if available < line.quantity and line.fulfilment == Fulfilment.TAKEN_NOW:
            unbooked.append((line, available))
        elif available < line.quantity:
            short.append(line_shortage(line, available))
        else:
            takes.append(StockTake(line.variant_id, line.location.pk, line.quantity, line))
    if unbooked:
        _plan_unbooked(unbooked, takes=takes, short=short)
    if orchestrated:
        _plan_orchestrated(
            orchestrated, _candidates(rows), destination=destination, takes=takes, short=short
        )
    if short:
        short.sort(key=lambda s: s["line_id"])
        raise CheckoutUnavailable(short)
    return takes


def _candidates(rows: list[dict]) -> list[Candidate]:
    """The locations orchestration may ship from: active stores and warehouses feeding
    the channel, with what each has of each variant."""
    candidates: dict[int, Candidate] = {}
    for r in rows:
        if r["fed"] and r["location__kind"] in (Location.Kind.STORE, Location.Kind.WAREHOUSE):
            candidate = candidates.get(r["location_id"])
            if candidate is None:
                candidate = candidates[r["location_id"]] = Candidate(
                    location_id=r["location_id"],
                    postal_code=r["location__postal_code"] or "",
                    latitude=r["location__latitude"],
                    longitude=r["location__longitude"],
                    kind=r["location__kind"],
                )
            candidate.available[r["variant_id"]] = r["available_now"]
    return list(candidates.values())


def _plan_orchestrated(
    lines: list[CheckoutLine],
    candidates: list[Candidate],
    *,
    destination: Destination | None,
    takes: list[StockTake],
    short: list[dict],
) -> None:
    """Shipped lines without a chosen location: the orchestration strategy allocates
    them (``orders.orchestration``); what it cannot allocate is short."""
    ship_lines = [ShipLine(line.variant_id, line.quantity) for line in lines]
    try:
        allocations = orchestration_strategy()(
            lines=ship_lines, candidates=candidates, destination=destination
        )
    except Unallocatable as error:
        totals = {v: sum(c.available.get(v, 0) for c in candidates) for v in error.short}
        short.extend(
            line_shortage(line, totals[line.variant_id])
            for line in lines
            if line.variant_id in totals
        )
    else:
        by_variant = {line.variant_id: line for line in lines}
        takes.extend(
            StockTake(a.variant_id, a.location_id, a.quantity, by_variant[a.variant_id])
            for a in allocations
        )


def _plan_unbooked(
    lines: list[tuple[CheckoutLine, int]], *, takes: list[StockTake], short: list[dict]
) -> None:
    """Short taken-now lines (all at the till's store): those with an override granted
    for them (``orders.services.unbooked``) covering what the books lack are taken with
    it, the others are short. Read only when a taken-now line is short: one query."""
    location_id = lines[0][0].location.pk
    granted = unbooked_sales_granted(
        references=[cart_line_reference(line.priced.line.pk) for line, _free in lines],
        location_id=location_id,
    )
    for line, available in lines:
        sale = granted.get(cart_line_reference(line.priced.line.pk))
        if sale is not None and sale.variant_id != line.variant_id:
            sale = None
        if sale is not None and available + sale.quantity >= line.quantity:
            takes.append(StockTake(line.variant_id, location_id, line.quantity, line, sale))
            continue
        entry = line_shortage(line, available + (sale.quantity if sale else 0))
        if sale is not None:
            entry["unbooked_approved"] = sale.quantity
        short.append(entry)


def line_shortage(line: CheckoutLine, available: int) -> dict:
    return {
        "line_id": line.priced.line.pk,
        "variant_id": line.variant_id,
        "sku": line.priced.line.variant.sku,
        "fulfilment": line.fulfilment,
        "location": line.location.code if line.location is not None else None,
        "location_name": line.location.name if line.location is not None else None,
        "requested": line.quantity,
        "available": available,
    }


def checkout_destination(address: dict[str, Any] | None) -> Destination | None:
    """Where shipped lines go, for orchestration (None: nothing ships)."""
    if address is None:
        return None
    return Destination(
        postal_code=address["postal_code"],
        latitude=float(address["latitude"]) if "latitude" in address else None,
        longitude=float(address["longitude"]) if "longitude" in address else None,
    )


def checkout_locations(lines: list[CheckoutLine], rows: list[dict]) -> dict[int, Location]:
    """Every location the plan may use, by id: those of the lines as loaded, the others
    built from the stock rows (code, name and kind: what the order needs), no query."""
    locations = {line.location.pk: line.location for line in lines if line.location}
    for row in rows:
        if row["location_id"] not in locations:
            location = Location(
                id=row["location_id"],
                code=row["location__code"],
                name=row["location__name"],
                kind=row["location__kind"],
            )
            location._state.adding, location._state.db = False, "default"
            locations[row["location_id"]] = location
    return locations
