import pytest
from django.contrib import admin
from django.urls import reverse

from inventory.models import StockMovement


@pytest.fixture
def manager(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-1")


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def test_every_admin_list_and_add_page_opens(manager_client, manager, shop, stocked_variant, rf):
    stocked_variant(store=2)
    request = rf.get("/admin/")
    request.user = manager
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert manager_client.get(changelist).status_code == 200, changelist
        add = reverse(f"admin:{meta.app_label}_{meta.model_name}_add")
        expected = 200 if model_admin.has_add_permission(request) else 403
        assert manager_client.get(add).status_code == expected, add


def test_the_stock_ledger_is_read_only_in_the_admin(manager_client, shop, stocked_variant):
    variant = stocked_variant(store=2)
    movement = StockMovement.objects.get(variant=variant)
    change_url = reverse("admin:inventory_stockmovement_change", args=[movement.pk])

    page = manager_client.get(change_url)
    post = manager_client.post(change_url, {"quantity": 99})

    assert page.status_code == 200
    assert b'name="quantity"' not in page.content  # shown, not editable
    assert post.status_code == 403
    assert manager_client.get(reverse("admin:inventory_stockmovement_add")).status_code == 403
    movement.refresh_from_db()
    assert movement.quantity == 2


def test_the_admin_speaks_french(manager_client):
    response = manager_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="fr")

    assert "Tableau de bord" in response.content.decode()
    assert "Journal des stocks" in response.content.decode()


def test_an_api_key_created_in_the_admin_is_shown_once_and_stored_hashed(manager_client, shop):
    response = manager_client.post(
        reverse("admin:channels_apikey_add"),
        {"channel": shop.web.pk, "name": "storefront"},
        follow=True,
    )

    page = response.content.decode()
    assert "Copy this key now" in page
    raw_key = page.split("Copy this key now, it will not be shown again: ")[1].split("<")[0]
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert api.get("/api/v1/products/").status_code == 200
