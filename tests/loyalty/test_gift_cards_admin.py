"""Gift cards in the back office: listed with their balance and status, found by their
full code (its hash), blocked and adjusted through the services, and issued in batches
whose clear codes come back once as a CSV."""

from __future__ import annotations

import csv
import hashlib
import io
from decimal import Decimal

import pytest

from loyalty.models import GiftCard
from loyalty.services.gift_cards import gift_card_balance, gift_card_issue, gift_card_redeem
from tests.factories import UserFactory

URL = "/admin/loyalty/giftcard/"
D = Decimal


@pytest.fixture
def manager(client, db):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def card_of(amount: str = "50.00"):
    return gift_card_issue(amount=D(amount), currency="EUR", purpose="multi")


def test_the_list_shows_balances_and_a_full_code_finds_its_card(manager):
    first, second = card_of("50.00"), card_of("20.00")
    gift_card_redeem(card=first.card, amount=D("12.50"), reference="UC1", idempotency_key=None)

    response = manager.get(URL)

    assert response.status_code == 200
    rows = {row.pk: row.balance for row in response.context["cl"].result_list}
    assert rows == {first.card.pk: D("37.50"), second.card.pk: D("20.00")}
    found = manager.get(URL, {"q": first.display.lower()}).context["cl"].result_list
    assert [card.pk for card in found] == [first.card.pk]
    assert manager.get(f"{URL}{first.card.pk}/change/").status_code == 200


def test_block_and_unblock_actions(manager):
    issued = card_of()
    action = {"_selected_action": [issued.card.pk], "index": 0}

    manager.post(URL, {**action, "action": "block"})
    assert GiftCard.objects.get().is_active is False
    manager.post(URL, {**action, "action": "unblock"})
    assert GiftCard.objects.get().is_active is True


def test_an_adjustment_needs_a_reason_and_is_written_to_the_ledger(manager):
    issued = card_of("50.00")
    url = f"{URL}{issued.card.pk}/adjust/"

    refused = manager.post(url, {"amount": "-60", "reason": "lost"})
    assert refused.status_code == 200  # the form again, with the balance named
    assert "50" in refused.content.decode()
    assert manager.post(url, {"amount": "5"}).status_code == 200

    done = manager.post(url, {"amount": "-10", "reason": "damaged card"})

    assert done.status_code == 302
    assert gift_card_balance(issued.card) == D("40.00")
    entry = issued.card.entries.get(kind="adjust")
    assert (entry.reason, entry.created_by.is_superuser) == ("damaged card", True)


def test_issuing_physical_cards_downloads_their_codes_once(manager):
    assert manager.get(f"{URL}add/").status_code == 200

    response = manager.post(
        f"{URL}add/", {"count": "3", "amount": "25", "currency": "eur", "purpose": "multi"}
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode().lstrip("\ufeff"))))
    assert len(rows) == 3
    for row in rows:
        card = GiftCard.objects.get(pk=row["id"])
        code = row["code"].replace("-", "")
        assert hashlib.sha256(code.encode()).hexdigest() == card.code_hash
        expected = (D("25.00"), "EUR", "physical")
        assert (card.initial_amount, card.currency, card.delivery) == expected


def test_a_card_cannot_be_deleted_from_the_admin(manager):
    issued = card_of()

    assert manager.post(f"{URL}{issued.card.pk}/delete/", {"post": "yes"}).status_code == 403
    assert GiftCard.objects.count() == 1
