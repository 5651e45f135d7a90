"""Loyalty's reads used by more than one face: the offers that may price a cart
(carts, checkout, the till, the admin) and a customer's balances (the crm 360° view,
the API's ``/me``, the till's customer panel)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache

from django.conf import settings
from django.db import connection
from django.db.models import Min, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from customers.models import Customer
from loyalty.models import GiftCard, PointsEntry, Promotion, VoucherCode
from loyalty.services.points import points_balance, points_programme_active, points_value
from loyalty.services.store_credit import store_credit_balance
from loyalty.services.vouchers import voucher_code_normalise

# --- Promotions and vouchers ----------------------------------------------------------


@dataclass(frozen=True)
class ActivePromotion:
    """A promotion as the pricing engine needs it, with its targets and scopes as ids."""

    pk: int
    name: str
    stage: str
    reward: str
    value: Decimal
    stackable: bool
    priority: int
    min_subtotal: Decimal | None
    buy_quantity: int
    get_quantity: int
    free_variant_id: int | None
    requires_code: bool
    product_ids: list[int]
    category_ids: list[int]
    variant_ids: list[int]
    channel_ids: list[int]
    location_ids: list[int]
    codes_entered: list[str]


def _link(field_name: str) -> tuple[str, str]:
    """The link table of ``Promotion.<field_name>`` and its column holding the target."""
    field = Promotion._meta.get_field(field_name)
    through = field.remote_field.through
    column = through._meta.get_field(field.m2m_reverse_field_name()).column
    return through._meta.db_table, column


def promotion_ids_sql(field_name: str) -> str:
    """SQL for the ids of ``Promotion.<field_name>`` of the row aliased ``p``, as an
    array (cart reads select them with the promotion: one query)."""
    table, column = _link(field_name)
    return f"ARRAY(SELECT {column} FROM {table} t WHERE t.promotion_id = p.id ORDER BY 1)"  # noqa: S608


def _scoped(field_name: str, parameter: str) -> str:
    """Everywhere (no row in the link table), or the parameter among the rows."""
    table, column = _link(field_name)
    return (
        f"(NOT EXISTS (SELECT 1 FROM {table} t WHERE t.promotion_id = p.id)"  # noqa: S608
        f" OR EXISTS (SELECT 1 FROM {table} t WHERE t.promotion_id = p.id"
        f" AND t.{column} = %({parameter})s))"
    )


@cache
def _active_sql() -> str:
    codes = (
        f"SELECT c.code FROM {VoucherCode._meta.db_table} c WHERE c.promotion_id = p.id"  # noqa: S608
        " AND c.is_active AND c.code = ANY(%(codes)s)"
    )
    targets = ", ".join(promotion_ids_sql(name) for name in _TARGETS)
    return f"""
    SELECT p.id, p.name, p.stage, p.reward, p.value, p.stackable, p.priority,
           p.min_subtotal, p.buy_quantity, p.get_quantity, p.free_variant_id,
           p.requires_code, {targets}, ARRAY({codes} ORDER BY c.code)
      FROM {Promotion._meta.db_table} p
     WHERE p.is_active
       AND (p.starts_at IS NULL OR p.starts_at <= %(now)s)
       AND (p.ends_at IS NULL OR p.ends_at > %(now)s)
       AND (p.segments = '{{}}' OR %(segment)s = ANY(p.segments))
       AND (NOT p.requires_code OR EXISTS ({codes}))
       AND {_scoped("channels", "channel")}
       AND {_scoped("locations", "location")}
     ORDER BY p.priority DESC, p.id
    """  # noqa: S608 - table and column names come from the models, values are parameters


# Promotion's many-to-many targets and scopes, in the order of ActivePromotion's fields.
_TARGETS = ("products", "categories", "variants", "channels", "locations")


def promotions_active(
    *,
    channel_id: int | None,
    location_id: int | None,
    segment: str | None,
    codes: Iterable[str] = (),
    now: datetime,
) -> list[ActivePromotion]:
    """The promotions that may price a cart now: active, in their window, for this
    channel (or every channel), at this till (``location_id``; None online, where
    promotions reserved to stores do not apply), for this RFM ``segment`` (None or "":
    only the promotions for everyone); the automatic ones, plus the voucher campaigns of
    the ``codes`` entered (normalised; active codes only).

    One written-out query whatever the number of promotions (cart reads run it): each
    row carries its targets and scopes as id lists and ``codes_entered``, the entered
    codes of that campaign (empty for automatic promotions). Usage limits are not looked
    at here: ``voucher_refusal`` says why a code entered cannot be used."""
    entered = sorted({voucher_code_normalise(code) for code in codes} - {""})
    parameters = {
        "now": now,
        "segment": segment or None,
        "codes": entered,
        "channel": channel_id,
        "location": location_id,
    }
    with connection.cursor() as cursor:
        cursor.execute(_active_sql(), parameters)
        return [ActivePromotion(*row) for row in cursor.fetchall()]


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
