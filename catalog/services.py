"""Catalog operations. Every change of a product, a variant, a price or a publication
goes through here and leaves a CatalogChange row (the edit history)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from functools import cache, partial
from time import monotonic
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from catalog.barcodes import barcode_problem
from catalog.exceptions import (
    CategoryCycle,
    DuplicateBarcode,
    DuplicateSku,
    InvalidBarcode,
    InvalidPrice,
)
from catalog.models import (
    ApiKey,
    Barcode,
    CatalogChange,
    Category,
    ChannelPrice,
    Product,
    Publication,
    SalesChannel,
    Variant,
)
from unicommerce.money import money_round

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

KEY_PREFIX = "uck_"
PRODUCT_FIELDS = {"name", "brand", "description", "vat_rate", "category", "is_active"}
VARIANT_FIELDS = {"sku", "attributes", "price_amount", "is_active"}

# --------------------------------------------------------------------------- API keys

# Live keys this process has looked up lately: key hash -> (monotonic expiry, row of
# ``_api_key_row``). Per process, not shared (see ``api_key_authenticate``).
_API_KEY_CACHE: dict[str, tuple[float, tuple]] = {}
API_KEY_CACHE_MAX_ENTRIES = 1000


def api_key_hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


# What follows KEY_PREFIX says the kind, so a key pasted into a browser bundle or a log
# can be recognised at a glance (``uck_pk_`` may be public, ``uck_sk_`` never).
KIND_PREFIX = {ApiKey.Kind.PUBLISHABLE: "pk_", ApiKey.Kind.SECRET: "sk_"}


def api_key_create(
    *,
    name: str,
    channel: SalesChannel | None = None,
    user: AbstractBaseUser | None = None,
    kind: str = ApiKey.Kind.SECRET,
) -> tuple[ApiKey, str]:
    """A new key acting as ``channel`` (publishable or secret) or as ``user`` (always
    secret). The raw key is returned once."""
    if user is not None:
        kind = ApiKey.Kind.SECRET
    raw_key = KEY_PREFIX + KIND_PREFIX[ApiKey.Kind(kind)] + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        channel=channel,
        user=user,
        name=name,
        kind=kind,
        prefix=raw_key[:15],
        key_hash=api_key_hash(raw_key),
    )
    return api_key, raw_key


@cache
def _api_key_columns() -> tuple[list[str], list[str], list[str]]:
    """The columns read for a key: all of the key's (its id first), its channel's, its user's."""
    user_model = get_user_model()
    return (
        [f.attname for f in ApiKey._meta.concrete_fields],
        [f.attname for f in SalesChannel._meta.concrete_fields],
        [f.attname for f in user_model._meta.concrete_fields],
    )


def _api_key_row(key_hash: str) -> tuple | None:
    """The live key's row with its channel's or its user's columns, or None; stamps
    ``last_used_at`` at most once a minute (a hot key must not write on every request)."""
    user_model = get_user_model()
    key_columns, channel_columns, user_columns = _api_key_columns()
    selected = ", ".join(
        [f"k.{column}" for column in key_columns]
        + [f"c.{column}" for column in channel_columns]
        + [f"u.{column}" for column in user_columns]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT {selected}
              FROM {ApiKey._meta.db_table} k
              LEFT JOIN {SalesChannel._meta.db_table} c ON c.id = k.channel_id
              LEFT JOIN {user_model._meta.db_table} u ON u.id = k.user_id
             WHERE k.key_hash = %s AND k.revoked_at IS NULL
            """,  # noqa: S608 - table and column names come from the models
            [key_hash],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    key = dict(zip(key_columns, row, strict=False))
    now = timezone.now()
    if key["last_used_at"] is None or (now - key["last_used_at"]).total_seconds() > 60:
        ApiKey.objects.filter(pk=key["id"]).update(last_used_at=now)
    return row


def _api_key_from_row(row: tuple) -> ApiKey | None:
    """Fresh model instances for one request (never shared between requests), or None
    when the key's channel or user is inactive."""
    key_columns, channel_columns, user_columns = _api_key_columns()
    key_end, channel_end = len(key_columns), len(key_columns) + len(channel_columns)
    api_key = ApiKey.from_db("default", key_columns, row[:key_end])
    if api_key.channel_id is not None:
        channel = SalesChannel.from_db("default", channel_columns, row[key_end:channel_end])
        if not channel.is_active:
            return None
        api_key.channel = channel
    else:
        user = get_user_model().from_db("default", user_columns, row[channel_end:])
        if not user.is_active:
            return None
        api_key.user = user
    return api_key


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The live key matching ``raw_key`` (with its channel, or its user), or None.

    Every API call goes through here. A key found live is remembered by this process
    for ``settings.API_KEY_CACHE_SECONDS`` (0 turns it off), so a front end's calls do
    not each read it again. The price: revoking a key, deactivating its channel or user,
    or deleting it takes effect in the other web processes within that many seconds
    (``api_key_revoke`` forgets it at once in its own process), and ``last_used_at`` is
    stamped at most once a minute plus that delay. Unknown keys are never remembered.
    """
    if not raw_key.startswith(KEY_PREFIX):
        return None
    key_hash = api_key_hash(raw_key)
    entry = _API_KEY_CACHE.get(key_hash)
    now = monotonic()
    if entry is not None and entry[0] > now:
        return _api_key_from_row(entry[1])
    row = _api_key_row(key_hash)
    if row is None:
        _API_KEY_CACHE.pop(key_hash, None)
        return None
    api_key = _api_key_from_row(row)
    seconds = settings.API_KEY_CACHE_SECONDS
    if api_key is not None and seconds > 0:
        if len(_API_KEY_CACHE) >= API_KEY_CACHE_MAX_ENTRIES:
            _api_key_cache_prune(now)
        _API_KEY_CACHE[key_hash] = (now + seconds, row)
    return api_key


def _api_key_cache_prune(now: float) -> None:
    for key_hash, (expires_at, _row) in _API_KEY_CACHE.copy().items():
        if expires_at <= now:
            _API_KEY_CACHE.pop(key_hash, None)
    if len(_API_KEY_CACHE) >= API_KEY_CACHE_MAX_ENTRIES:
        _API_KEY_CACHE.clear()


def api_key_forget(*, api_key_id: int) -> None:
    """Drop a key from this process's cache of authenticated keys."""
    for key_hash, (_expires_at, row) in _API_KEY_CACHE.copy().items():
        if row[0] == api_key_id:
            _API_KEY_CACHE.pop(key_hash, None)


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey) -> None:
    """Revoke a key. This process forgets it now and again at commit (a request that
    read the key meanwhile may have cached it again); other processes stop accepting it
    within ``settings.API_KEY_CACHE_SECONDS``."""
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_key_forget(api_key_id=api_key.pk)
    transaction.on_commit(partial(api_key_forget, api_key_id=api_key.pk))


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
    return result


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
