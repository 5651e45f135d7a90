"""The stock levels importer: sets each (SKU, location)'s on-hand figure (posted as COUNT
ledger rows) and, when given, its safety stock."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models.functions import Upper
from django.utils.translation import gettext as _

from catalog.models import Variant
from inventory.exceptions import ImportConcurrentChange
from inventory.models import Location, StockLevel, StockMovement
from inventory.selectors import levels_with_availability
from inventory.services.imports.cells import CellError, parse_quantity
from inventory.services.imports.importer import Importer, errors_sorted
from inventory.services.imports.progress import PROGRESS_EVERY
from inventory.services.imports.sheets import chunks
from inventory.services.stock import stock_receive_many, stock_safety_set, stock_take


@dataclass
class _StockRow:
    number: int
    sku: str
    variant_id: int
    location_id: int
    location: str
    on_hand: int
    safety: int | None  # None: leave the safety stock as it is


class StockLevelImport(Importer):
    def check(self) -> list[dict]:
        rows = self.rows()
        skus = {v["sku"].upper() for _n, v in rows if v["sku"]}
        variants: dict[str, tuple[int, str]] = {}
        for chunk in chunks(sorted(skus), 2000):
            found = Variant.objects.annotate(key=Upper("sku")).filter(key__in=chunk)
            for key, pk, sku in found.values_list("key", "pk", "sku"):
                variants[key] = (pk, sku)
        codes = {v["location"].upper() for _n, v in rows if v["location"]}
        locations = {
            key: (pk, name)
            for key, pk, name in Location.objects.annotate(key=Upper("code"))
            .filter(key__in=codes)
            .values_list("key", "pk", "name")
        }
        levels = self._levels(
            {variants[k][0] for k in skus if k in variants}, {pk for pk, _n in locations.values()}
        )
        self.rows_to_write: list[_StockRow] = []
        seen: dict[tuple[int, int], int] = {}
        for number, values in rows:
            self._check_row(number, values, variants, locations, levels, seen)
            self.progress.step()
        return errors_sorted(self.errors, self.sheet.columns)

    @staticmethod
    def _levels(variant_ids: set[int], location_ids: set[int]) -> dict[tuple[int, int], tuple]:
        """{(variant, location): (on_hand, units reserved and still in time, safety)}."""
        levels: dict[tuple[int, int], tuple] = {}
        for chunk in chunks(sorted(variant_ids), 2000):
            found = levels_with_availability(
                StockLevel.objects.filter(variant_id__in=chunk, location_id__in=location_ids)
            ).values_list("variant_id", "location_id", "on_hand", "reserved_now", "safety")
            for variant_id, location_id, on_hand, reserved, safety in found:
                levels[(variant_id, location_id)] = (on_hand, reserved, safety)
        return levels

    def _check_row(
        self,
        number: int,
        values: dict[str, str],
        variants: dict[str, tuple[int, str]],
        locations: dict[str, tuple[int, str]],
        levels: dict[tuple[int, int], tuple],
        seen: dict[tuple[int, int], int],
    ) -> None:
        """Check one row (the errors in column order) and, when it is right, keep it to
        write."""
        before = len(self.errors)
        sku, code = values["sku"], values["location"]
        variant = variants.get(sku.upper()) if sku else None
        location = locations.get(code.upper()) if code else None
        self._check_names(number, sku, code, variant=variant, location=location)
        on_hand, safety = self._check_quantities(number, values)
        if variant is None or location is None:
            return
        pair = (variant[0], location[0])
        if pair in seen:
            self.error(
                number,
                "sku",
                sku,
                _("The SKU %(sku)s at %(location)s is also on row %(row)s.")
                % {"sku": variant[1], "location": code, "row": seen[pair]},
            )
            return
        seen[pair] = number
        reserved = levels.get(pair, (0, 0, 0))[1]
        if on_hand is not None and on_hand < reserved:
            self.error(
                number,
                "on_hand",
                values["on_hand"],
                _(
                    "%(reserved)s units are reserved for customers at %(location)s: "
                    "on hand cannot go below %(reserved)s."
                )
                % {"reserved": reserved, "location": location[1]},
            )
        if len(self.errors) > before or on_hand is None:
            return
        self.rows_to_write.append(
            _StockRow(number, variant[1], pair[0], pair[1], location[1], on_hand, safety)
        )

    def _check_names(
        self,
        number: int,
        sku: str,
        code: str,
        *,
        variant: tuple[int, str] | None,
        location: tuple[int, str] | None,
    ) -> None:
        """The row names a known SKU and a known location."""
        if not sku:
            self.error(number, "sku", sku, _("A SKU is required."))
        elif variant is None:
            self.error(number, "sku", sku, _("No variant has the SKU “%(sku)s”.") % {"sku": sku})
        if not code:
            self.error(number, "location", code, _("A location code is required."))
        elif location is None:
            self.error(
                number,
                "location",
                code,
                _("No location has the code “%(code)s”.") % {"code": code},
            )

    def _check_quantities(
        self, number: int, values: dict[str, str]
    ) -> tuple[int | None, int | None]:
        """The row's on-hand figure and safety stock (None: wrong, or not given)."""
        on_hand = safety = None
        try:
            on_hand = parse_quantity(values["on_hand"])
        except CellError as error:
            self.error(number, "on_hand", values["on_hand"], error.message)
        if values.get("safety"):
            try:
                safety = parse_quantity(values["safety"])
            except CellError as error:
                self.error(number, "safety", values["safety"], error.message)
        return on_hand, safety

    def write(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for batch in chunks(self.rows_to_write, PROGRESS_EVERY):
            self._write_batch(batch, counts)
            self.progress.step(len(batch))
        return {
            "rows": self.job.total_rows,
            "created": counts["created"],
            "updated": counts["updated"],
            "unchanged": counts["unchanged"],
            "ledger_rows": counts["ledger_rows"],
        }

    def _write_batch(self, batch: Sequence[_StockRow], counts: Counter[str]) -> None:
        """One batch of rows: read the levels as they are now, post each difference as one
        COUNT ledger row (increases in one statement, decreases one statement per
        location), then check each level ended where the file says: a sale or a receipt
        in between would make the absolute figure wrong, so the whole import fails."""
        current = {
            (v, loc): (on_hand, safety)
            for v, loc, on_hand, safety in StockLevel.objects.filter(
                variant_id__in={row.variant_id for row in batch},
                location_id__in={row.location_id for row in batch},
            ).values_list("variant_id", "location_id", "on_hand", "safety")
        }
        increases: list[tuple[int, int, int]] = []
        decreases: dict[int, list[tuple[int, int]]] = defaultdict(list)
        safety_changes: list[_StockRow] = []
        by_pair = {}
        for row in batch:
            pair = (row.variant_id, row.location_id)
            by_pair[pair] = row
            on_hand, safety = current.get(pair, (0, 0))
            difference = row.on_hand - on_hand
            if difference > 0:
                increases.append((row.variant_id, row.location_id, difference))
            elif difference < 0:
                decreases[row.location_id].append((row.variant_id, -difference))
            safety_changed = row.safety is not None and row.safety != safety
            if safety_changed:
                safety_changes.append(row)
            if not difference and not safety_changed:
                counts["unchanged"] += 1
            else:
                counts["updated" if pair in current else "created"] += 1
        arguments = {
            "reason": StockMovement.Reason.COUNT,
            "user": self.user,
            "source": self.job,
            "note": self.note,
        }
        movements = list(stock_receive_many(entries=increases, **arguments))
        for location_id in sorted(decreases):
            movements += stock_take(
                location_id=location_id, lines=decreases[location_id], **arguments
            )
        for movement in movements:
            row = by_pair[(movement.variant_id, movement.location_id)]
            if movement.on_hand_after != row.on_hand:
                self.current_row = row.number
                raise ImportConcurrentChange(sku=row.sku, location=row.location)
        for row in safety_changes:
            self.current_row = row.number
            stock_safety_set(
                variant_id=row.variant_id, location_id=row.location_id, safety=row.safety
            )
        self.current_row = None
        counts["ledger_rows"] += len(movements)
