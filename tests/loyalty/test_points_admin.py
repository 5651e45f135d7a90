"""Points in the back office: programmes whose rules are edited as data, the ledger
read-only with each row's customer balance, filtered by kind and searched by customer,
and an "adjust" action that asks for the points and a reason and writes one row per
customer (refusing to take more than held, writing nothing twice on a resubmission)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.admin import helpers

from loyalty.models import PointsEntry, PointsProgramme
from loyalty.services.points import points_balance, points_earn, points_redeem
from tests.factories import CustomerFactory, UserFactory

URL = "/admin/loyalty/pointsentry/"
D = Decimal


@pytest.fixture
def programme(db) -> PointsProgramme:
    return PointsProgramme.objects.create(name="Fidélité", currency="EUR")


@pytest.fixture
def manager(client, db):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    client.user = user
    return client


def earn(customer, amount: str, reference: str = "UC1") -> PointsEntry:
    return points_earn(customer=customer, amount=D(amount), currency="EUR", reference=reference)


def test_the_ledger_lists_rows_with_the_balance_filtered_by_kind_and_searched(manager, programme):
    martin = CustomerFactory(last_name="Martin")
    earn(martin, "40")
    points_redeem(customer=martin, points=15)
    earn(CustomerFactory(last_name="Other"), "5")

    response = manager.get(URL + "?q=Martin")

    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    assert [(row.kind, row.points, row.balance) for row in rows] == [
        ("redeem", -15, 25),
        ("earn", 40, 25),
    ]
    assert manager.get(URL + "?kind__exact=earn").context["cl"].result_count == 2


def test_the_ledger_cannot_be_added_to_changed_or_deleted(manager, programme):
    entry = earn(CustomerFactory(), "40")

    assert manager.get(URL + "add/").status_code == 403
    assert manager.post(f"{URL}{entry.pk}/change/", {"points": "999"}).status_code == 403
    assert manager.post(f"{URL}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert PointsEntry.objects.get().points == 40


def test_a_programme_rules_are_edited_in_the_admin(manager, programme):
    response = manager.post(
        f"/admin/loyalty/pointsprogramme/{programme.pk}/change/",
        {
            "name": "Fidélité",
            "currency": "EUR",
            "is_active": "on",
            "points_per_unit": "2",
            "point_value": "0.01",
            "min_redeem_points": "100",
            "expiry_days": "",
        },
    )

    assert response.status_code == 302
    programme.refresh_from_db()
    assert (programme.points_per_unit, programme.point_value, programme.min_redeem_points) == (
        D("2.00"),
        D("0.0100"),
        100,
    )


def adjust(client, entries, **data):
    body = {
        "action": "action_adjust",
        helpers.ACTION_CHECKBOX_NAME: [entry.pk for entry in entries],
        **data,
    }
    return client.post(URL, body)


def test_the_adjust_action_asks_then_writes_one_row_per_customer_once(manager, programme):
    camille, noah = CustomerFactory(), CustomerFactory()
    rows = [earn(camille, "10"), earn(camille, "5", "UC2"), earn(noah, "3")]

    page = adjust(manager, rows)
    assert page.status_code == 200
    assert "admin/loyalty/pointsentry/adjust.html" in [t.name for t in page.templates]
    token = page.context["form"].initial["token"]
    assert not PointsEntry.objects.filter(kind="adjust").exists()

    missing_reason = adjust(manager, rows, apply="1", points="-5", reason="", token=token)
    assert missing_reason.status_code == 200  # the form again, nothing written
    assert not PointsEntry.objects.filter(kind="adjust").exists()

    done = adjust(manager, rows, apply="1", points="-5", reason="duplicate order", token=token)
    again = adjust(manager, rows, apply="1", points="-5", reason="duplicate order", token=token)

    assert done.status_code == again.status_code == 302
    adjusted = PointsEntry.objects.filter(kind="adjust").order_by("customer_id")
    # Noah holds 3: refused for him (the message says why), done for Camille, once.
    assert [(e.customer_id, e.points, e.reason, e.created_by) for e in adjusted] == [
        (camille.pk, -5, "duplicate order", manager.user),
    ]
    assert points_balance(customer=camille, programme=programme) == 10
    assert points_balance(customer=noah, programme=programme) == 3


def test_the_adjust_action_needs_the_ledger_add_permission(client, programme):
    viewer = UserFactory(is_staff=True, permissions=["loyalty.view_pointsentry"])
    client.force_login(viewer)
    entry = earn(CustomerFactory(), "10")

    response = adjust(client, [entry], apply="1", points="5", reason="x", token="t")

    assert response.status_code in (200, 302)
    assert not PointsEntry.objects.filter(kind="adjust").exists()
    assert "action_adjust" not in client.get(URL).context["cl"].model_admin.get_actions(
        client.get(URL).wsgi_request
    )
