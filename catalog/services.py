"""Catalog operations. Every change of a product, a variant, a price or a publication
goes through here and leaves a CatalogChange row (the edit history)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction

from catalog.barcodes import barcode_problem
from catalog.exceptions import (
    CategoryCycle,
    DuplicateBarcode,
    DuplicateSku,
    InvalidBarcode,
    InvalidPrice,
)
from catalog.models import (
    Barcode,
    CatalogChange,
    Category,
    ChannelPrice,
    Product,
    Publication,
    Variant,
)
from catalog.price_log import price_change, price_changes_tell
from unicommerce.channels.models import SalesChannel
from unicommerce.money import money_round

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

PRODUCT_FIELDS = {"name", "brand", "description", "vat_rate", "category", "is_active"}
VARIANT_FIELDS = {"sku", "attributes", "price_amount", "is_active"}

# --------------------------------------------------------------------------- helpers


def _user(user: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return user if user is not None and user.is_authenticated else None


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "pk"):
        return value.pk
    return value


def _price(amount: object, currency: str) -> Decimal:
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except (InvalidOperation, ValueError):
        raise InvalidPrice(amount) from None
    if not value.is_finite() or value < 0 or value >= Decimal("1e10"):
        raise InvalidPrice(amount)
    return money_round(value, currency)


def _record(
    *,
    product: Product,
    kind: str,
    changes: dict,
    user: AbstractBaseUser | None,
    variant: Variant | None = None,
    channel: SalesChannel | None = None,
) -> CatalogChange:
    return CatalogChange.objects.create(
        product=product,
        variant=variant,
        channel=channel,
        kind=kind,
        changes={k: [_json(a), _json(b)] for k, (a, b) in changes.items()},
        created_by=_user(user),
    )


# --------------------------------------------------------------------------- categories


@transaction.atomic
def category_save(
    *,
    category: Category | None = None,
    name: str,
    slug: str,
    parent: Category | None = None,
    position: int = 0,
) -> Category:
    """Create or change a category; refuse to move it under itself or its descendants."""
    if category is not None and parent is not None:
        node: Category | None = parent
        while node is not None:
            if node.pk == category.pk:
                raise CategoryCycle(category.name, parent.name)
            node = node.parent
    category = category or Category()
    category.name, category.slug, category.parent, category.position = name, slug, parent, position
    category.save()
    return category


# --------------------------------------------------------------------------- products


@transaction.atomic
def product_create(
    *,
    name: str,
    vat_rate: Decimal,
    user: AbstractBaseUser | None = None,
    brand: str = "",
    description: str = "",
    category: Category | None = None,
    channels: Iterable[SalesChannel] = (),
) -> Product:
    product = Product.objects.create(
        name=name, vat_rate=vat_rate, brand=brand, description=description, category=category
    )
    _record(product=product, kind=CatalogChange.Kind.CREATED, changes={}, user=user)
    channels = list(channels)
    if channels:
        product_publish(product=product, channels=channels, user=user)
    return product


@transaction.atomic
def product_update(*, product: Product, user: AbstractBaseUser | None = None, **fields) -> Product:
    """Change some of name, brand, description, vat_rate, category, is_active."""
    unknown = set(fields) - PRODUCT_FIELDS
    if unknown:
        raise TypeError(f"product_update() got unknown fields {sorted(unknown)}")
    current = Product.objects.select_for_update().get(pk=product.pk)
    changes = {
        field: (getattr(current, field), value)
        for field, value in fields.items()
        if getattr(current, field) != value
    }
    if changes:
        for field, (_before, after) in changes.items():
            setattr(current, field, after)
        current.save()
        _record(product=current, kind=CatalogChange.Kind.UPDATED, changes=changes, user=user)
        if "vat_rate" in changes:
            old, new = changes["vat_rate"]
            price_changes_tell(
                [
                    price_change(
                        what="vat_rate",
                        product_id=current.pk,
                        old=old,
                        new=new,
                        user_id=getattr(_user(user), "pk", None),
                    )
                ]
            )
    return current


@transaction.atomic
def product_publish(
    *, product: Product, channels: Iterable[SalesChannel], user: AbstractBaseUser | None = None
) -> None:
    """Publish the product on exactly these channels (and unpublish it elsewhere)."""
    wanted = {c.pk for c in channels}
    current = set(Publication.objects.filter(product=product).values_list("channel_id", flat=True))
    if wanted == current:
        return
    Publication.objects.filter(product=product).exclude(channel_id__in=wanted).delete()
    Publication.objects.bulk_create(
        [Publication(product=product, channel_id=pk) for pk in wanted - current]
    )
    _record(
        product=product,
        kind=CatalogChange.Kind.PUBLICATION,
        changes={"channels": (sorted(current), sorted(wanted))},
        user=user,
    )


# --------------------------------------------------------------------------- variants


@transaction.atomic
def variant_create(
    *,
    product: Product,
    sku: str,
    price_amount: Decimal,
    user: AbstractBaseUser | None = None,
    attributes: dict | None = None,
    barcodes: Iterable[str] = (),
    currency: str = "EUR",
) -> Variant:
    sku = sku.strip()
    if Variant.objects.filter(sku__iexact=sku).exists():
        raise DuplicateSku(sku)
    variant = Variant.objects.create(
        product=product,
        sku=sku,
        price_amount=_price(price_amount, currency),
        attributes=attributes or {},
        currency=currency,
    )
    codes = [barcode_add(variant=variant, code=code, record=False).code for code in barcodes]
    changes = {"price_amount": (None, variant.price_amount)}
    if codes:
        changes["barcodes"] = (None, codes)
    _record(
        product=product,
        variant=variant,
        kind=CatalogChange.Kind.CREATED,
        changes=changes,
        user=user,
    )
    return variant


@transaction.atomic
def variant_update(*, variant: Variant, user: AbstractBaseUser | None = None, **fields) -> Variant:
    """Change some of sku, attributes, price_amount, is_active; a price change is
    recorded as such."""
    unknown = set(fields) - VARIANT_FIELDS
    if unknown:
        raise TypeError(f"variant_update() got unknown fields {sorted(unknown)}")
    current = Variant.objects.select_for_update().get(pk=variant.pk)
    if "price_amount" in fields:
        fields["price_amount"] = _price(fields["price_amount"], current.currency)
    if "sku" in fields:
        fields["sku"] = fields["sku"].strip()
        if Variant.objects.filter(sku__iexact=fields["sku"]).exclude(pk=current.pk).exists():
            raise DuplicateSku(fields["sku"])
    changes = {
        field: (getattr(current, field), value)
        for field, value in fields.items()
        if getattr(current, field) != value
    }
    if not changes:
        return current
    for field, (_before, after) in changes.items():
        setattr(current, field, after)
    current.save()
    price = {k: v for k, v in changes.items() if k == "price_amount"}
    other = {k: v for k, v in changes.items() if k != "price_amount"}
    if price:
        _record(
            product=current.product,
            variant=current,
            kind=CatalogChange.Kind.PRICE,
            changes=price,
            user=user,
        )
        _price_told(current, *price["price_amount"], user=user)
    if other:
        _record(
            product=current.product,
            variant=current,
            kind=CatalogChange.Kind.UPDATED,
            changes=other,
            user=user,
        )
    return current


@transaction.atomic
def channel_price_set(
    *,
    variant: Variant,
    channel: SalesChannel,
    price_amount: Decimal | None,
    user: AbstractBaseUser | None = None,
) -> ChannelPrice | None:
    """Set (or with None, remove) the price of a variant on one channel."""
    existing = ChannelPrice.objects.select_for_update().filter(variant=variant, channel=channel)
    before = existing.first()
    old = before.price_amount if before else None
    if price_amount is None:
        existing.delete()
        result = None
    else:
        amount = _price(price_amount, variant.currency)
        result, _created = ChannelPrice.objects.update_or_create(
            variant=variant, channel=channel, defaults={"price_amount": amount}
        )
    new = result.price_amount if result else None
    if old != new:
        _record(
            product=variant.product,
            variant=variant,
            channel=channel,
            kind=CatalogChange.Kind.CHANNEL_PRICE,
            changes={"price_amount": (old, new)},
            user=user,
        )
        _price_told(variant, old, new, user=user, channel=channel)
    return result


def _price_told(
    variant: Variant,
    old: Decimal | None,
    new: Decimal | None,
    *,
    user: AbstractBaseUser | None,
    channel: SalesChannel | None = None,
) -> None:
    """Tell the price log (catalog.price_log) in this transaction."""
    price_changes_tell(
        [
            price_change(
                what="price" if channel is None else "channel_price",
                product_id=variant.product_id,
                variant_id=variant.pk,
                sku=variant.sku,
                channel_id=getattr(channel, "pk", None),
                old=old,
                new=new,
                user_id=getattr(_user(user), "pk", None),
            )
        ]
    )


# --------------------------------------------------------------------------- barcodes


@transaction.atomic
def barcode_add(
    *, variant: Variant, code: str, user: AbstractBaseUser | None = None, record: bool = True
) -> Barcode:
    """Attach a barcode to a variant after checking its digits and that no other
    variant carries it; the edit history records it (``record=False`` when the caller
    records the change itself)."""
    code = code.strip()
    problem = barcode_problem(code)
    if problem:
        raise InvalidBarcode(code, problem)
    owner = Barcode.objects.select_related("variant").filter(code=code).first()
    if owner is not None:
        if owner.variant_id == variant.pk:
            return owner
        raise DuplicateBarcode(code, owner.variant.sku)
    try:
        with transaction.atomic():
            barcode = Barcode.objects.create(variant=variant, code=code)
    except IntegrityError:  # a concurrent creation of the same code won
        owner = Barcode.objects.select_related("variant").get(code=code)
        raise DuplicateBarcode(code, owner.variant.sku) from None
    if record:
        _record(
            product=variant.product,
            variant=variant,
            kind=CatalogChange.Kind.UPDATED,
            changes={"barcodes": (None, code)},
            user=user,
        )
    return barcode


@transaction.atomic
def barcode_remove(*, variant: Variant, code: str, user: AbstractBaseUser | None = None) -> None:
    code = code.strip()
    deleted, _ = Barcode.objects.filter(variant=variant, code=code).delete()
    if deleted:
        _record(
            product=variant.product,
            variant=variant,
            kind=CatalogChange.Kind.UPDATED,
            changes={"barcodes": (code, None)},
            user=user,
        )
