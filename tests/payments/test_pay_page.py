"""The customer's mobile pay page (/pay/<token>/), through Django's test client: both
languages, the plans with their schedules, paying (accepted, declined, confirmed later),
the error pages and their statuses, CSRF, and the weight of the page."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import include, path
from django.utils import timezone, translation
from django.utils.formats import date_format

from orders.models import Order
from payments.gateways import simulated
from payments.models import PaymentLink
from payments.services.links import payment_link_cancel, payment_link_create, payment_link_pay
from payments.tasks import simulated_webhook

urlpatterns = [path("pay/", include("payments.web.urls"))]
pytestmark = pytest.mark.urls("tests.payments.test_pay_page")

PHONE = "+33612345678"


def _amounts(text: str) -> list[Decimal]:
    """The amounts written "€12.34" or "12,34 €" in a piece of the page."""
    found = re.findall(r"€([\d,]+\.\d\d)|([\d\u202f\xa0 ]+,\d\d)\xa0€", text)
    values = []
    for english, french in found:
        raw = english.replace(",", "") if english else re.sub(r"[\s\u202f\xa0]", "", french)
        values.append(Decimal(raw.replace(",", ".")))
    return values


def _schedules(html: str) -> dict[str, list[Decimal]]:
    blocks = re.findall(
        r'data-choice="(\w+)">.*?(?:<ol class="parts">(.*?)</ol>|</label>)', html, re.S
    )
    return {kind: _amounts(parts) for kind, parts in blocks}


@pytest.fixture
def link_for(make_order):
    def make(total: str = "100.00", language: str = "en", **kwargs):
        order = make_order(total=total)
        link, token = payment_link_create(order=order, phone=PHONE, language=language, **kwargs)
        return link, token, f"/pay/{token}/"

    return make


def test_the_page_in_english_shows_the_order_amount_and_every_plan_summing_to_it(client, link_for):
    link, _token, url = link_for(total="100.00", language="en")

    response = client.get(url)

    html = response.content.decode()
    assert response.status_code == 200
    assert link.order.reference in html
    assert '<p class="amount" id="amount">€100.00</p>' in html
    assert "Pay in full" in html
    schedules = _schedules(html)
    assert list(schedules) == ["full", "2x", "3x", "4x", "d15", "d30"]
    for kind in ("2x", "3x", "4x", "d15", "d30"):
        assert sum(schedules[kind]) == Decimal("100.00"), kind
    assert schedules["3x"] == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    today = timezone.localdate()
    assert f"{today.day} {today.strftime('%B')} {today.year}" in html
    link.refresh_from_db()
    assert link.status == PaymentLink.Status.OPENED


def test_the_page_is_in_french_for_a_french_link_and_switches_to_english(client, link_for):
    _link, _token, url = link_for(total="100.00", language="fr")

    french = client.get(url).content.decode()
    english = client.get(url + "?lang=en").content.decode()

    assert '<html lang="fr">' in french
    assert "100,00\xa0€" in french
    assert "Payer en totalité" in french
    assert "Commande" in french
    with translation.override("fr"):
        today = date_format(timezone.localdate(), "j F Y")
    assert f"<li>{today} — 33,34\xa0€</li>" in french
    assert sum(_schedules(french)["3x"]) == Decimal("100.00")
    assert '<html lang="en">' in english
    assert "Pay in full" in english
    assert "€100.00" in english


def test_the_page_is_light_for_a_phone_and_asks_no_card_number(client, link_for):
    _link, _token, url = link_for()

    response = client.get(url)

    html = response.content.decode()
    assert len(response.content) < 15 * 1024
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    # No stylesheet or framework to fetch: the only links are the shop's icon.
    assert {
        re.search(r'rel="([^"]+)"', tag).group(1) for tag in re.findall(r"<link[^>]*>", html)
    } <= {
        "icon",
        "apple-touch-icon",
    }
    assert "<script" not in html
    inputs = re.findall(r"<input[^>]*>", html)
    assert {re.search(r'type="(\w+)"', i).group(1) for i in inputs} <= {"hidden", "radio"}
    assert "cc-number" not in html
    assert response["Cache-Control"].startswith("max-age=0")
    assert response["Referrer-Policy"] == "same-origin"


def _post(client: Client, url: str, **data) -> object:
    page = client.get(url).content.decode()
    key = re.search(r'name="key" value="(\w+)"', page).group(1)
    return client.post(url, {"key": key, "choice": "full", **data})


def test_paying_in_full_with_an_accepted_card_shows_paid(client, link_for):
    link, _token, url = link_for(total="42.00")

    response = _post(client, url, card_token="sim_ok")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Paid, thank you!" in html
    assert "<script" not in html  # nothing left to wait for
    link.refresh_from_db()
    assert link.status == PaymentLink.Status.PAID
    assert link.order.payment_status == Order.PaymentStatus.PAID


def test_paying_in_three_shows_the_schedule_of_the_plan(client, link_for):
    link, _token, url = link_for(total="100.00")

    response = _post(client, url, card_token="sim_ok", choice="3x")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Paid, thank you!" in html
    schedule = re.search(r'<ol class="parts" id="schedule">(.*?)</ol>', html, re.S).group(1)
    assert _amounts(schedule) == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    assert schedule.count("(paid)") == 1
    link.refresh_from_db()
    assert link.payment.method == "instalment"


def test_a_declined_card_shows_the_form_again_with_a_new_key(client, link_for):
    _link, _token, url = link_for()
    page = client.get(url).content.decode()
    key = re.search(r'name="key" value="(\w+)"', page).group(1)

    response = client.post(url, {"key": key, "choice": "full", "card_token": "sim_decline"})

    html = response.content.decode()
    assert response.status_code == 402
    assert "Your card was declined" in html
    new_key = re.search(r'name="key" value="(\w+)"', html).group(1)
    assert new_key != key
    retry = client.post(url, {"key": new_key, "choice": "full", "card_token": "sim_ok"})
    assert "Paid, thank you!" in retry.content.decode()
    assert len(simulated.charges()) == 2


def test_the_same_submit_twice_charges_once(client, link_for):
    _link, _token, url = link_for()
    page = client.get(url).content.decode()
    key = re.search(r'name="key" value="(\w+)"', page).group(1)
    form = {"key": key, "choice": "full", "card_token": "sim_ok"}

    first = client.post(url, form)
    second = client.post(url, form)

    assert first.status_code == second.status_code == 200
    assert "Paid, thank you!" in second.content.decode()
    assert len(simulated.charges()) == 1


def test_a_delayed_confirmation_shows_pending_and_polls_until_paid(client, link_for):
    _link, token, url = link_for()

    response = _post(client, url, card_token="sim_delayed")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="pending"' in html
    assert f"/pay/{token}/status/" in html
    assert "setTimeout(poll,1000)" in html
    status_url = f"/pay/{token}/status/"
    assert client.get(status_url).json() == {"status": "opened", "payment_status": "pending"}

    simulated_webhook(**simulated.WEBHOOKS[0])

    assert client.get(status_url).json() == {"status": "paid", "payment_status": "captured"}
    back = client.get(url + "?lang=en")  # where the page goes once paid
    assert back.status_code == 409
    assert "Paid, thank you!" in back.content.decode()


def test_no_card_outcome_is_a_400_with_the_form(client, link_for):
    _link, _token, url = link_for()

    response = _post(client, url, card_token="4242424242424242")

    assert response.status_code == 400
    assert "Choose a card outcome." in response.content.decode()
    assert simulated.charges() == []


@pytest.mark.parametrize(
    ("state", "status", "text"),
    [
        ("unknown", 404, "does not exist"),
        ("expired", 410, "has expired"),
        ("cancelled", 410, "cancelled by the shop"),
        ("used", 409, "Paid, thank you!"),
    ],
)
def test_errors_are_friendly_pages_with_their_status_and_the_token_is_not_logged(
    client, link_for, caplog, state, status, text
):
    link, token, url = link_for()
    if state == "unknown":
        url = f"/pay/{token[:-2]}xy/"
    elif state == "expired":
        PaymentLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(1))
    elif state == "cancelled":
        payment_link_cancel(link=link)
    else:
        payment_link_pay(token=token, card_token="sim_ok", idempotency_key="k")

    with caplog.at_level(logging.DEBUG):
        response = client.get(url)
        posted = client.post(url, {"key": "k2", "choice": "full", "card_token": "sim_ok"})

    assert response.status_code == posted.status_code == status
    assert text in response.content.decode()
    assert "<html" in response.content.decode()
    assert token not in caplog.text
    assert token[:-2] not in caplog.text


def test_the_status_of_an_unknown_link_is_a_quiet_404(client, caplog, db):
    with caplog.at_level(logging.DEBUG):
        response = client.get("/pay/" + "x" * 43 + "/status/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "payment_link_not_found"
    assert "x" * 43 not in caplog.text


def test_csrf_is_kept_and_its_refusal_does_not_log_the_token(link_for, caplog):
    _link, token, url = link_for()
    client = Client(enforce_csrf_checks=True)

    with caplog.at_level(logging.DEBUG):
        refused = client.post(url, {"key": "k", "choice": "full", "card_token": "sim_ok"})
    page = client.get(url).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    key = re.search(r'name="key" value="(\w+)"', page).group(1)
    accepted = client.post(
        url,
        {"csrfmiddlewaretoken": csrf, "key": key, "choice": "full", "card_token": "sim_ok"},
    )

    assert refused.status_code == 403
    assert token not in caplog.text
    assert accepted.status_code == 200
    assert len(simulated.charges()) == 1
