"""API errors in the language the client asks for (issue 12): ``Accept-Language`` fr →
French, anything else or nothing → English, as the documentation is; the error ``code``
never changes; the pages keep Django's choice (the language cookie of the switch)."""

from __future__ import annotations

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from unicommerce.api.locale import api_language
from unicommerce.channels.services import api_key_create

pytestmark = pytest.mark.django_db

ADDRESS = {"line1": "1 rue de Rivoli", "postal_code": "75001", "city": "Paris", "country": "FR"}


@pytest.fixture
def api(shop) -> APIClient:
    """The web store's key, and no language of its own: each request says (or not)."""
    _, raw_key = api_key_create(channel=shop.web, name="front end")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def empty_cart(api) -> str:
    response = api.post("/api/v1/carts/", {}, format="json")
    assert response.status_code == 201
    return response.json()["token"]


def checkout(api, token: str, **headers):
    return api.post(
        f"/api/v1/carts/{token}/checkout/",
        {"payment_method": "pay_in_store", "shipping_address": ADDRESS},
        format="json",
        **headers,
    )


@pytest.mark.parametrize(
    ("accept_language", "message"),
    [
        ("fr", "Le panier est vide."),
        ("fr-FR,fr;q=0.9,en;q=0.8", "Le panier est vide."),
        ("en-GB", "The cart is empty."),
        ("de-DE,de;q=0.9", "The cart is empty."),
        ("*", "The cart is empty."),
        (None, "The cart is empty."),
    ],
    ids=["fr", "fr-FR first", "en-GB", "de (not spoken)", "star", "no header"],
)
def test_our_errors_follow_accept_language_and_default_to_english(
    api, empty_cart, accept_language, message
):
    headers = {} if accept_language is None else {"HTTP_ACCEPT_LANGUAGE": accept_language}

    response = checkout(api, empty_cart, **headers)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "empty_cart"
    assert response.json()["error"]["message"] == message
    assert response["Content-Language"] == ("fr" if message.startswith("Le") else "en")
    assert "Accept-Language" in response["Vary"]


def test_drf_field_errors_follow_accept_language_with_the_same_code(api, empty_cart):
    url = f"/api/v1/carts/{empty_cart}/lines/"

    body = {"sku": "TEE", "quantity": 1, "fulfilment": "teleport"}
    french = api.post(url, body, format="json", HTTP_ACCEPT_LANGUAGE="fr")
    english = api.post(url, body, format="json")

    assert french.status_code == english.status_code == 400
    assert french.json()["error"]["code"] == english.json()["error"]["code"] == "invalid"
    assert french.json()["error"]["details"] == {
        "fulfilment": ["«\xa0teleport\xa0» n'est pas un choix valide."]
    }
    assert english.json()["error"]["details"] == {
        "fulfilment": ['"teleport" is not a valid choice.']
    }


def test_refusals_before_any_view_speak_the_callers_language(client):
    """The NUL refusal answers before sessions and views: still in the asked language."""
    french = client.get("/api/v1/products/?q=%00", HTTP_ACCEPT_LANGUAGE="fr")
    english = client.get("/api/v1/products/?q=%00", HTTP_ACCEPT_LANGUAGE="it")

    assert french.status_code == english.status_code == 400
    assert french.json()["error"]["code"] == english.json()["error"]["code"]
    assert french.json()["error"]["message"] == (
        "La requête contient un caractère NUL, qui n’est jamais valide ici."
    )
    assert english.json()["error"]["message"] == (
        "The request contains a NUL character, which is never valid here."
    )


def test_drf_authentication_errors_follow_accept_language(client, db):
    french = client.get("/api/v1/me/orders/", HTTP_ACCEPT_LANGUAGE="fr")
    english = client.get("/api/v1/me/orders/")

    assert french.status_code == english.status_code
    assert french.status_code in (401, 403)
    assert french.json()["error"]["code"] == english.json()["error"]["code"]
    assert french.json()["error"]["message"] != english.json()["error"]["message"]
    assert english.json()["error"]["message"].isascii()


def test_the_language_cookie_of_the_pages_does_not_change_the_api(api, empty_cart, client):
    api.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"

    response = checkout(api, empty_cart)

    assert response.json()["error"]["message"] == "The cart is empty."
    # …while a page still follows the cookie the language switch set.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    assert '<html lang="fr"' in client.get("/admin/login/").content.decode()


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("fr-CA", "fr"),
        ("en-US,fr;q=0.5", "en"),
        ("de;q=1, fr;q=0.5", "fr"),
        ("es, it", "en"),
        ("x" * 600, "en"),
        ("", "en"),
    ],
)
def test_api_language_picks_the_first_language_we_speak(header, language):
    assert api_language(header) == language
