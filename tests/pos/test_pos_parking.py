"""Park, recall and void at the till (issue 15, the till's day): a parked sale keeps its
lines and waits at its register while the till serves someone else; it comes back only
when no other sale is in progress; a void removes every line with its reason recorded;
nothing else changes when one of them is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Cart, CartEvent, CartLine
from pos.models import ParkedSale, Register
from tests.factories import RegisterFactory
from tests.pos.conftest import HX, SELL

pytestmark = pytest.mark.django_db


@pytest.fixture
def tee(stocked_variant):
    return stocked_variant(store=5, price_amount=Decimal("19.90"))


def post(till, **data):
    return till.post(SELL, data, **HX)


def add(till, variant) -> None:
    assert post(till, action="add", variant=variant.pk).status_code == 200


def test_a_parked_sale_waits_and_comes_back_as_it_was(till, tee, shop):
    add(till, tee)
    add(till, tee)
    first = Cart.objects.get()

    parked = post(till, action="park")

    assert parked.status_code == 200
    assert "Sale parked" in parked.content.decode()
    assert ParkedSale.objects.get().cart == first
    assert CartLine.objects.get(cart=first).quantity == 2  # kept
    page = post(till, action="new").content.decode()  # an empty sale shows the parked ones
    assert "Parked sales" in page and "Recall" in page  # noqa: PT018

    add(till, tee)  # someone else's sale
    busy = post(till, action="recall", parked=ParkedSale.objects.get().pk)
    assert busy.status_code == 422
    assert "Park or finish the sale in progress first" in busy.content.decode()
    assert ParkedSale.objects.exists()

    post(till, action="void", reason="Changed their mind")
    recalled = post(till, action="recall", parked=ParkedSale.objects.get().pk)
    assert recalled.status_code == 200
    assert "Parked sale recalled" in recalled.content.decode()
    assert not ParkedSale.objects.exists()
    assert CartEvent.objects.filter(cart=first, kind="recalled").exists()


def test_an_empty_sale_is_not_parked_and_another_registers_sale_is_not_recalled(till, tee, shop):
    assert post(till, action="park").status_code == 422
    other = RegisterFactory(
        code="paris-2", name="Till 2", location=shop.store, channel=shop.store_channel
    )
    cart = Cart.objects.create(channel=shop.store_channel)
    CartLine.objects.create(cart=cart, variant=tee, quantity=1)
    elsewhere = ParkedSale.objects.create(register=other, cart=cart, parked_by=shop.seller)

    answer = post(till, action="recall", parked=elsewhere.pk)

    assert answer.status_code == 422  # the till shows every refusal inline
    assert "no longer waiting at this till" in answer.content.decode()
    assert ParkedSale.objects.filter(pk=elsewhere.pk).exists()
    assert Register.objects.count() == 2


def test_a_void_needs_a_reason_and_removes_every_line(till, tee):
    add(till, tee)
    cart = Cart.objects.get()

    refused = post(till, action="void", reason="  ")
    assert refused.status_code == 422
    assert "Say why the sale is voided" in refused.content.decode()
    assert CartLine.objects.filter(cart=cart).count() == 1

    voided = post(till, action="void", reason="Customer left")
    assert voided.status_code == 200
    assert not CartLine.objects.filter(cart=cart).exists()
    event = CartEvent.objects.get(cart=cart, kind="voided")
    assert event.data["reason"] == "Customer left"
    from pos.models import JournalRecord

    jet = JournalRecord.objects.get(event_code="void")
    assert (jet.payload["reason"], jet.chain.register_id) == (
        "Customer left",
        cart_register_id(till),
    )
    assert event.data["lines"] == [{"variant_id": tee.pk, "quantity": 1}]


def cart_register_id(till) -> int:
    return till.session["pos_register_id"]
