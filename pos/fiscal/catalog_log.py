"""Changes of prices and VAT rates in the technical events log (JET): the catalogue tells
them in the transaction of the change (``catalog.price_log``), and they are written there
as events of the company's chain, ``price_change`` (a variant's price, or its price on
one channel) and ``vat_rate_change`` (a product's rate). A change made on its own is one
event; a bulk operation (an import) gathers its changes and writes one event of each
code for the whole batch, with every change listed. Who changed it is kept as a user id
(never a name: the journal is kept unchanged for years, a person's name would outlive
their erasure)."""

from __future__ import annotations

from catalog.price_log import PriceChange, price_changes_listener
from pos.fiscal.events import E, jet_record
from pos.fiscal.journal import COMPANY


def _reference(changes: list[PriceChange], source: str) -> str:
    if source:
        return source[:100]
    change = changes[0]
    if len(changes) == 1 and change.variant_id is not None:
        return f"variant:{change.variant_id}"
    return f"product:{change.product_id}"


@price_changes_listener
def price_changes_journal(changes: list[PriceChange], source: str) -> None:
    """One JET event per code for these changes, in the caller's transaction."""
    rates = [c for c in changes if c.what == "vat_rate"]
    prices = [c for c in changes if c.what != "vat_rate"]
    for code, group in ((E.VAT_RATE_CHANGE, rates), (E.PRICE_CHANGE, prices)):
        if not group:
            continue
        jet_record(
            chain=COMPANY,
            code=code,
            reference=_reference(group, source),
            payload={
                "source": source,
                "count": len(group),
                "changes": [c.as_dict() for c in group],
            },
        )
