"""The products importer: one row per variant, grouped into products by name and brand;
creates and updates products, variants and barcodes through the catalog's services."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.db.models import Prefetch
from django.db.models.functions import Upper
from django.utils.translation import gettext as _

from catalog import services as catalog
from catalog.barcodes import barcode_problem
from catalog.exceptions import DuplicateBarcode, InvalidBarcode
from catalog.models import Barcode, Category, Product, Variant
from inventory.services.imports.cells import (
    CellError,
    parse_active,
    parse_currency,
    parse_price,
    parse_vat,
)
from inventory.services.imports.importer import Importer, errors_sorted
from inventory.services.imports.sheets import BARCODE_SEPARATOR, attribute_key, chunks


@dataclass
class _ProductRow:
    number: int
    sku: str
    price: Decimal
    currency: str | None  # None: no currency column
    barcodes: list[str] | None  # None: no barcodes column
    active: bool | None  # None: no active column
    attributes: dict[str, str]  # the file's attribute columns; "" removes the attribute


@dataclass
class _Group:
    """The rows of one product: same ``product`` and ``brand`` cells."""

    name: str
    brand: str | None  # None: no brand column
    rows: list[_ProductRow] = field(default_factory=list)
    category: Category | None = None
    vat_rate: Decimal | None = None
    defined_by: dict[str, int] = field(default_factory=dict)  # column -> first row giving it
    product_id: int | None = None


class ProductImport(Importer):
    def check(self) -> list[dict]:
        sheet = self.sheet
        rows = self.rows()
        skus = {v["sku"].upper() for _n, v in rows if v["sku"]}
        self.existing: dict[str, Variant] = {}
        for chunk in chunks(sorted(skus), 2000):
            variants = Variant.objects.annotate(key=Upper("sku")).filter(key__in=chunk)
            for variant in variants.select_related("product"):
                self.existing[variant.sku.upper()] = variant
        codes = {
            code.strip()
            for _n, values in rows
            for code in values.get("barcodes", "").split(BARCODE_SEPARATOR)
            if code.strip()
        }
        owners: dict[str, str] = {}
        for chunk in chunks(sorted(codes), 2000):
            owners.update(
                Barcode.objects.filter(code__in=chunk).values_list("code", "variant__sku")
            )
        slugs = {values.get("category", "") for _n, values in rows} - {""}
        categories = {c.slug: c for c in Category.objects.filter(slug__in=slugs)}

        self.groups: dict[tuple[str, str | None], _Group] = {}
        seen_skus: dict[str, int] = {}
        seen_codes: dict[str, int] = {}
        attribute_columns = [(c, attribute_key(c)) for c in sheet.columns if attribute_key(c)]
        for number, values in rows:
            self._check_row(
                number,
                values,
                categories=categories,
                owners=owners,
                seen_skus=seen_skus,
                seen_codes=seen_codes,
                attribute_columns=attribute_columns,
            )
            self.progress.step()
        self._resolve_products()
        return errors_sorted(self.errors, sheet.columns)

    def _check_row(
        self,
        number: int,
        values: dict[str, str],
        *,
        categories: dict[str, Category],
        owners: dict[str, str],
        seen_skus: dict[str, int],
        seen_codes: dict[str, int],
        attribute_columns: list[tuple[str, str | None]],
    ) -> None:
        """Check one row (the errors in column order) and, when it is right, add it to its
        product's group."""
        before = len(self.errors)
        sku = values["sku"]
        self._check_sku(number, sku, seen_skus)
        existing = self.existing.get(sku.upper()) if sku else None
        name, brand = self._check_names(number, values)
        category = self._check_category(number, values.get("category", ""), categories)
        vat_rate = self._cell(number, values, "vat_rate", parse_vat)
        currency, price = self._check_price(number, values, existing)
        active = (
            self._cell(number, values, "active", parse_active) if self.sheet.has("active") else None
        )
        barcodes = None
        if self.sheet.has("barcodes"):
            barcodes = self._check_barcodes(number, values["barcodes"], sku, owners, seen_codes)

        if len(self.errors) > before or vat_rate is None or price is None:
            return  # a wrong row joins no product: its other checks would only add noise
        group = self.groups.setdefault((name, brand), _Group(name=name, brand=brand))
        self._check_product_fields(group, number, values, category=category, vat_rate=vat_rate)
        group.rows.append(
            _ProductRow(
                number=number,
                sku=sku,
                price=price,
                currency=currency,
                barcodes=barcodes,
                active=active,
                attributes={key: values[column] for column, key in attribute_columns},
            )
        )

    def _cell[V](
        self, number: int, values: dict[str, str], column: str, parse: Callable[[str], V]
    ) -> V | None:
        """The parsed value of a cell, or None with its row error."""
        try:
            return parse(values[column])
        except CellError as error:
            self.error(number, column, values[column], error.message)
            return None

    def _check_sku(self, number: int, sku: str, seen_skus: dict[str, int]) -> None:
        if not sku:
            self.error(number, "sku", sku, _("A SKU is required."))
        elif len(sku) > Variant._meta.get_field("sku").max_length:
            self.error(number, "sku", sku, _("A SKU has at most 64 characters."))
        elif sku.upper() in seen_skus:
            self.error(
                number,
                "sku",
                sku,
                _("The SKU %(sku)s is also on row %(row)s.")
                % {"sku": sku, "row": seen_skus[sku.upper()]},
            )
        else:
            seen_skus[sku.upper()] = number

    def _check_names(self, number: int, values: dict[str, str]) -> tuple[str, str | None]:
        """The row's product name and brand (None: no brand column)."""
        name = values["product"]
        if not name:
            self.error(number, "product", name, _("A product name is required."))
        elif len(name) > Product._meta.get_field("name").max_length:
            self.error(number, "product", name, _("A product name has at most 200 characters."))
        brand = values.get("brand") if self.sheet.has("brand") else None
        if brand and len(brand) > Product._meta.get_field("brand").max_length:
            self.error(number, "brand", brand, _("A brand has at most 100 characters."))
        return name, brand

    def _check_category(
        self, number: int, slug: str, categories: dict[str, Category]
    ) -> Category | None:
        if not slug:
            return None
        category = categories.get(slug)
        if category is None:
            self.error(
                number,
                "category",
                slug,
                _("No category has the slug “%(slug)s”.") % {"slug": slug},
            )
        return category

    def _check_price(
        self, number: int, values: dict[str, str], existing: Variant | None
    ) -> tuple[str | None, Decimal | None]:
        """The row's currency (None: no currency column) and price; an existing variant
        keeps its currency."""
        currency = None
        if self.sheet.has("currency"):
            currency = self._cell(number, values, "currency", parse_currency)
            if currency and existing is not None and existing.currency != currency:
                self.error(
                    number,
                    "currency",
                    values["currency"],
                    _("This variant is priced in %(currency)s; an import cannot change that.")
                    % {"currency": existing.currency},
                )
        price_currency = currency or (existing.currency if existing else None)
        price = self._cell(
            number,
            values,
            "price",
            partial(parse_price, currency=price_currency or settings.DEFAULT_CURRENCY),
        )
        return currency, price

    def _check_barcodes(
        self,
        number: int,
        text: str,
        sku: str,
        owners: dict[str, str],
        seen_codes: dict[str, int],
    ) -> list[str]:
        codes: list[str] = []
        for code in (piece.strip() for piece in text.split(BARCODE_SEPARATOR)):
            if not code:
                continue
            problem = barcode_problem(code)
            owner = owners.get(code)
            if problem:
                self.error(number, "barcodes", text, InvalidBarcode(code, problem).message)
            elif code in seen_codes:
                self.error(
                    number,
                    "barcodes",
                    text,
                    _("The barcode %(code)s is also on row %(row)s.")
                    % {"code": code, "row": seen_codes[code]},
                )
            elif owner is not None and owner.upper() != sku.upper():
                self.error(number, "barcodes", text, DuplicateBarcode(code, owner).message)
            else:
                seen_codes[code] = number
                codes.append(code)
        return codes

    def _check_product_fields(
        self,
        group: _Group,
        number: int,
        values: dict[str, str],
        *,
        category: Category | None,
        vat_rate: Decimal,
    ) -> None:
        """Every row of a product gives it the same category and VAT rate."""
        given = {"vat_rate": vat_rate}
        if self.sheet.has("category"):
            given["category"] = category
        for column, value in given.items():
            first = group.defined_by.get(column)
            if first is None:
                group.defined_by[column] = number
                setattr(group, column, value)
            elif getattr(group, column) != value:
                self.error(
                    number,
                    column,
                    values[column],
                    _("Row %(row)s gives the same product another %(column)s.")
                    % {"row": first, "column": column},
                )

    def _resolve_products(self) -> None:
        """Which existing product each group updates: the product of its SKUs already
        known, else the oldest product with that name (and brand); else a new one."""
        claimed: dict[int, _Group] = {}
        for group in self.groups.values():
            known = [
                (row, self.existing[row.sku.upper()])
                for row in group.rows
                if row.sku.upper() in self.existing
            ]
            if not known:
                continue
            first_row, first = known[0]
            for row, variant in known[1:]:
                if variant.product_id != first.product_id:
                    self.error(
                        row.number,
                        "product",
                        group.name,
                        _(
                            "The SKU %(sku)s belongs to the product “%(product)s” and the SKU "
                            "of row %(row)s to another one: a variant cannot change product."
                        )
                        % {
                            "sku": row.sku,
                            "product": variant.product.name,
                            "row": first_row.number,
                        },
                    )
            if first.product_id in claimed:
                self.error(
                    group.rows[0].number,
                    "product",
                    group.name,
                    _(
                        "The variants of the product “%(product)s” are also on row %(row)s "
                        "under another name."
                    )
                    % {
                        "product": first.product.name,
                        "row": claimed[first.product_id].rows[0].number,
                    },
                )
            else:
                claimed[first.product_id] = group
                group.product_id = first.product_id
        waiting = [g for g in self.groups.values() if g.product_id is None]
        if not waiting:
            return
        candidates = Product.objects.filter(name__in={g.name for g in waiting}).order_by("pk")
        by_name: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for pk, name, brand in candidates.values_list("pk", "name", "brand"):
            by_name[name].append((pk, brand))
        for group in waiting:
            for pk, brand in by_name.get(group.name, []):
                if pk not in claimed and (group.brand is None or group.brand == brand):
                    claimed[pk] = group
                    group.product_id = pk
                    break

    # ----------------------------------------------------------------------- writing

    def write(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        fresh: dict[str, Variant] = {}
        keys = sorted(self.existing)
        for chunk in chunks(keys, 2000):
            variants = Variant.objects.annotate(key=Upper("sku")).filter(key__in=chunk)
            for variant in variants.select_related("product").prefetch_related(
                Prefetch("barcodes", queryset=Barcode.objects.order_by("id"))
            ):
                fresh[variant.sku.upper()] = variant
        for group in self.groups.values():
            self.current_row = group.rows[0].number
            product, product_changed = self._write_product(group, counts)
            for row in group.rows:
                self.current_row = row.number
                variant = fresh.get(row.sku.upper())
                if variant is None:
                    self._create_variant(product, row)
                    counts["created"] += 1
                elif self._update_variant(variant, row) or product_changed:
                    counts["updated"] += 1
                else:
                    counts["unchanged"] += 1
                self.progress.step()
        self.current_row = None
        return {
            "rows": self.job.total_rows,
            "created": counts["created"],
            "updated": counts["updated"],
            "unchanged": counts["unchanged"],
            "products_created": counts["products_created"],
            "products_updated": counts["products_updated"],
        }

    def _write_product(self, group: _Group, counts: Counter[str]) -> tuple[Product, bool]:
        wanted: dict[str, Any] = {"name": group.name, "vat_rate": group.vat_rate}
        if group.brand is not None:
            wanted["brand"] = group.brand
        if self.sheet.has("category"):
            wanted["category"] = group.category
        if group.product_id is None:
            counts["products_created"] += 1
            product = catalog.product_create(user=self.user, **wanted)
            return product, True
        product = Product.objects.select_related("category").get(pk=group.product_id)
        changes = {name: value for name, value in wanted.items() if getattr(product, name) != value}
        if not changes:
            return product, False
        counts["products_updated"] += 1
        return catalog.product_update(product=product, user=self.user, **changes), True

    def _create_variant(self, product: Product, row: _ProductRow) -> None:
        variant = catalog.variant_create(
            product=product,
            sku=row.sku,
            price_amount=row.price,
            user=self.user,
            attributes={key: value for key, value in row.attributes.items() if value},
            barcodes=row.barcodes or (),
            currency=row.currency or settings.DEFAULT_CURRENCY,
        )
        if row.active is False:
            catalog.variant_update(variant=variant, user=self.user, is_active=False)

    def _update_variant(self, variant: Variant, row: _ProductRow) -> bool:
        changes: dict[str, Any] = {}
        if variant.price_amount != row.price:
            changes["price_amount"] = row.price
        attributes = _merged_attributes(variant.attributes, row.attributes)
        if attributes != variant.attributes:
            changes["attributes"] = attributes
        if row.active is not None and variant.is_active != row.active:
            changes["is_active"] = row.active
        if changes:
            catalog.variant_update(variant=variant, user=self.user, **changes)
        if row.barcodes is None:
            return bool(changes)
        current = [barcode.code for barcode in variant.barcodes.all()]
        added = [code for code in row.barcodes if code not in current]
        removed = [code for code in current if code not in row.barcodes]
        for code in removed:
            catalog.barcode_remove(variant=variant, code=code, user=self.user)
        for code in added:
            catalog.barcode_add(variant=variant, code=code, user=self.user)
        return bool(changes or added or removed)


def _merged_attributes(current: object, wanted: dict[str, str]) -> dict:
    """The variant's attributes with the file's attribute columns applied: a value sets
    it (a number stored as 42 equals the text "42"), an empty cell removes it; attributes
    without a column in the file are kept."""
    result = dict(current) if isinstance(current, dict) else {}
    for key, value in wanted.items():
        if not value:
            result.pop(key, None)
        elif key not in result or str(result[key]) != value:
            result[key] = value
    return result
