"""Loyalty's reads used by more than one face (carts, checkout, the till, the admin)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Exists, OuterRef, Q, QuerySet

from loyalty.models import Promotion, VoucherCode
from loyalty.services.vouchers import voucher_code_normalise

# --- Promotions and vouchers ----------------------------------------------------------

# Promotion's many-to-many targets and scopes: attribute on the rows -> field.
_TARGETS = {
    "product_ids": "products",
    "category_ids": "categories",
    "variant_ids": "variants",
    "channel_ids": "channels",
    "location_ids": "locations",
}


def _through(field_name: str) -> tuple[QuerySet, str]:
    """The link table of ``Promotion.<field_name>`` filtered on the outer promotion,
    and the name of its column holding the target's id."""
    field = Promotion._meta.get_field(field_name)
    through = field.remote_field.through
    rows = through.objects.filter(**{field.m2m_field_name(): OuterRef("pk")})
    return rows, f"{field.m2m_reverse_field_name()}_id"


def _ids(field_name: str) -> ArraySubquery:
    rows, column = _through(field_name)
    return ArraySubquery(rows.order_by(column).values(column))


def _scoped(field_name: str, value: int | None) -> Q:
    """Everywhere (no row in the link table), or ``value`` among the rows."""
    rows, column = _through(field_name)
    unscoped = ~Exists(rows)
    if value is None:
        return unscoped
    return unscoped | Exists(rows.filter(**{column: value}))


def promotions_active(
    *,
    channel_id: int | None,
    location_id: int | None,
    segment: str | None,
    codes: Iterable[str] = (),
    now: datetime,
) -> list[Promotion]:
    """The promotions that may price a cart now: active, in their window, for this
    channel (or every channel), at this till (``location_id``; None online, where
    promotions reserved to stores do not apply), for this RFM ``segment`` (None or "":
    only the promotions for everyone); the automatic ones, plus the voucher campaigns of
    the ``codes`` entered (normalised; active codes only).

    One query whatever the number of promotions: each row carries its targets and scopes
    as id lists (``product_ids``, ``category_ids``, ``variant_ids``, ``channel_ids``,
    ``location_ids``) and ``codes_entered``, the entered codes of that campaign (empty
    for automatic promotions). Usage limits are not looked at here: ``voucher_check``
    says why a code entered cannot be used."""
    entered = sorted({voucher_code_normalise(code) for code in codes} - {""})
    codes_of = VoucherCode.objects.filter(
        promotion_id=OuterRef("pk"), code__in=entered, is_active=True
    )
    window = (Q(starts_at__isnull=True) | Q(starts_at__lte=now)) & (
        Q(ends_at__isnull=True) | Q(ends_at__gt=now)
    )
    segments = Q(segments=[]) | (Q(segments__contains=[segment]) if segment else Q(pk__in=[]))
    rows = (
        Promotion.objects.filter(window, segments, is_active=True)
        .filter(Q(requires_code=False) | Q(Exists(codes_of), requires_code=True))
        .filter(_scoped("channels", channel_id), _scoped("locations", location_id))
        .annotate(
            codes_entered=ArraySubquery(codes_of.order_by("code").values("code")),
            **{name: _ids(field) for name, field in _TARGETS.items()},
        )
        .order_by("-priority", "pk")
    )
    return list(rows)
