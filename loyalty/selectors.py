"""Loyalty's reads used by more than one face (the crm 360° view, the API's ``/me``, the
till's customer panel)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from customers.models import Customer
from loyalty.models import PointsEntry
from loyalty.services.points import points_balance, points_programme_active, points_value


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
