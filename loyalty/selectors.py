"""Loyalty's reads used by more than one face: the offers that may price a cart
(carts, checkout, the till, the admin) and a customer's balances (the crm 360° view,
the API's ``/me``, the till's customer panel)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Exists, Min, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from customers.models import Customer
from loyalty.models import GiftCard, PointsEntry, Promotion, VoucherCode
from loyalty.services.points import points_balance, points_programme_active, points_value
from loyalty.services.store_credit import store_credit_balance
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


def customer_points_summary(customer: Customer, *, currency: str | None = None) -> dict:
    """The customer's points in the active programme of ``currency`` (default: the
    default currency): balance, what it is worth, when earned points next expire (the
    earliest validity of an earning still valid: it may be partly spent already) and the
    programme's minimum per redemption. Without an active programme: ``{"active":
    False}`` with a balance of 0."""
    programme = points_programme_active(currency or settings.DEFAULT_CURRENCY)
    if programme is None:
        return {"active": False, "balance": 0, "value": Decimal("0.00")}
    balance = points_balance(customer=customer, programme=programme)
    upcoming = PointsEntry.objects.filter(
        customer_id=customer.pk,
        programme_id=programme.pk,
        kind=PointsEntry.Kind.EARN,
        expires_at__gt=timezone.now(),
    ).aggregate(next_expiry=Min("expires_at"))
    return {
        "active": True,
        "programme": programme.name,
        "currency": programme.currency,
        "balance": balance,
        "value": points_value(balance, programme),
        "point_value": programme.point_value,
        "min_redeem_points": programme.min_redeem_points,
        "next_expiry": upcoming["next_expiry"] if balance > 0 else None,
    }


# --- A customer's balances ------------------------------------------------------------


def customer_balances(customer: Customer, *, currency: str) -> dict:
    """Points, store credit and the gift cards the customer bought (last four
    characters, balance), as the API's ``/me/balances/``, crm's 360° view and the till
    show them."""
    points = customer_points_summary(customer, currency=currency)
    points.setdefault("next_expiry", None)
    points.setdefault("min_redeem_points", None)
    cards = (
        GiftCard.objects.filter(customer_id=customer.pk, currency=currency)
        .annotate(balance=Coalesce(Sum("entries__amount"), Decimal("0.00")))
        .order_by("-created_at")
    )
    return {
        "currency": currency,
        "points": points,
        "store_credit": store_credit_balance(customer=customer, currency=currency),
        "gift_cards": list(cards),
    }
