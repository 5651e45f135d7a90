"""Exports write exactly the import format, so exporting then importing an unchanged
database changes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from django.db.models import CharField, F, Func, Prefetch

from catalog.models import Barcode, Variant
from inventory.models import Location, StockLevel
from inventory.services.imports.cells import format_vat
from inventory.services.imports.sheets import (
    ATTRIBUTE_PREFIX,
    BARCODE_SEPARATOR,
    NAMED_ATTRIBUTES,
    PRODUCT_COLUMNS,
    STOCK_COLUMNS,
)

EXPORT_CHUNK = 500


def _attribute_keys() -> list[str]:
    """Every attribute name used by a variant, beyond size and colour, sorted."""
    keys = (
        Variant.objects.annotate(
            kind=Func(F("attributes"), function="jsonb_typeof", output_field=CharField())
        )
        .filter(kind="object")
        .annotate(key=Func(F("attributes"), function="jsonb_object_keys", output_field=CharField()))
        .order_by()
        .values_list("key", flat=True)
        .distinct()
    )
    return sorted(set(keys) - set(NAMED_ATTRIBUTES))


def _attribute_text(value: object) -> str:
    return "" if value is None else str(value)


def products_csv_rows() -> Iterator[list[str]]:
    """The products file, header first, one row per variant, grouped by product: the
    import format. Reads the variants in chunks, never all at once."""
    keys = _attribute_keys()
    yield [*PRODUCT_COLUMNS, *(ATTRIBUTE_PREFIX + key for key in keys)]
    variants = (
        Variant.objects.select_related("product__category")
        .prefetch_related(Prefetch("barcodes", queryset=Barcode.objects.order_by("id")))
        .order_by("product__name", "product__brand", "product_id", "id")
    )
    for variant in variants.iterator(chunk_size=EXPORT_CHUNK):
        product = variant.product
        attributes = variant.attributes if isinstance(variant.attributes, dict) else {}
        yield [
            variant.sku,
            product.name,
            product.brand,
            product.category.slug if product.category else "",
            format_vat(product.vat_rate),
            str(variant.price_amount),
            variant.currency,
            BARCODE_SEPARATOR.join(barcode.code for barcode in variant.barcodes.all()),
            "yes" if variant.is_active else "no",
            *(_attribute_text(attributes.get(key)) for key in (*NAMED_ATTRIBUTES, *keys)),
        ]


def stock_csv_rows(*, location: Location | None = None) -> Iterator[list[str]]:
    """The stock file (every stock level, or one location's), header first: the import
    format. Streams the levels in chunks."""
    yield list(STOCK_COLUMNS)
    levels = StockLevel.objects.order_by("location__code", "variant__sku")
    if location is not None:
        levels = levels.filter(location=location)
    for sku, code, on_hand, safety in levels.values_list(
        "variant__sku", "location__code", "on_hand", "safety"
    ).iterator(chunk_size=EXPORT_CHUNK * 4):
        yield [sku, code, str(on_hand), str(safety)]


def _write_all(rows: Iterable[list[str]], write: Callable[[list[str]], object]) -> int:
    count = -1  # the header is not a row
    for row in rows:
        write(row)
        count += 1
    return count


def products_csv(*, write: Callable[[list[str]], object]) -> int:
    """Hand every line of the products file to ``write`` (e.g. ``csv.writer(f).writerow``);
    returns the number of data rows."""
    return _write_all(products_csv_rows(), write)


def stock_csv(*, write: Callable[[list[str]], object], location: Location | None = None) -> int:
    """Hand every line of the stock file to ``write``; returns the number of data rows."""
    return _write_all(stock_csv_rows(location=location), write)
