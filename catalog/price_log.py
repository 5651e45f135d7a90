"""Price and VAT rate changes told, **inside the transaction of the change**, to whoever
keeps a legal log of them (the POS's technical events log, the JET of the fiscal
journal: French law asks that a change of price or VAT rate be traceable).

The catalogue is the lowest layer: it cannot import the app that logs. That app registers
a listener with ``@price_changes_listener`` from its ``AppConfig.ready()``; the catalog
services call ``price_changes_tell`` when a price, a channel price or a product's VAT rate
really changes (a save with the same value tells nothing). The outbox (unicommerce.events)
is not used for this: its handlers run after the commit, in a worker, and the log must be
written with the change or not at all.

A bulk operation (an import of thousands of rows) wraps its writes in
``price_changes_batch(source=...)``: the changes are gathered and told **once**, as one
list, when the block ends without an error (still inside its transaction), so the
listener writes one record per batch rather than one per row, and takes its locks only
at the end. A block left by an exception tells nothing (its transaction rolls back). A
batch inside a batch joins the outer one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from decimal import Decimal


@dataclass(frozen=True)
class PriceChange:
    """One change: ``what`` is ``price`` (a variant's), ``channel_price`` (a variant's on
    one channel; ``old`` or ``new`` None when it is set or removed) or ``vat_rate`` (a
    product's, in percent). Values are text (``"19.90"``, ``"5.5"``) so they keep their
    exact digits."""

    what: str
    product_id: int
    old: str | None
    new: str | None
    variant_id: int | None = None
    sku: str = ""
    channel_id: int | None = None
    user_id: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


Listener = Callable[[list[PriceChange], str], None]
_listeners: list[Listener] = []
_batch: ContextVar[list[PriceChange] | None] = ContextVar("price_changes_batch", default=None)


def price_changes_listener(listener: Listener) -> Listener:
    """Register ``listener(changes, source)``; called in the transaction of the change
    (``source`` is the batch's, or ``""`` for one change made on its own)."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def price_change(
    *,
    what: str,
    product_id: int,
    old: Decimal | None,
    new: Decimal | None,
    variant_id: int | None = None,
    sku: str = "",
    channel_id: int | None = None,
    user_id: int | None = None,
) -> PriceChange:
    return PriceChange(
        what=what,
        product_id=product_id,
        old=_text(old),
        new=_text(new),
        variant_id=variant_id,
        sku=sku,
        channel_id=channel_id,
        user_id=user_id,
    )


def price_changes_tell(changes: list[PriceChange]) -> None:
    """Inside the change's transaction: tell the listeners now, or keep the changes for
    the end of the batch being run."""
    if not changes:
        return
    gathered = _batch.get()
    if gathered is not None:
        gathered.extend(changes)
        return
    for listener in list(_listeners):
        listener(list(changes), "")


@contextmanager
def price_changes_batch(*, source: str) -> Iterator[None]:
    """Gather the price and VAT rate changes made in the block; tell them once, as one
    list, when it ends without an error. Run it inside the transaction of the writes."""
    if _batch.get() is not None:  # an outer batch gathers these too
        yield
        return
    gathered: list[PriceChange] = []
    token = _batch.set(gathered)
    try:
        yield
    finally:
        _batch.reset(token)
    if gathered:
        for listener in list(_listeners):
            listener(list(gathered), source)
