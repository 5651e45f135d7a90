"""Payments know the register session that took them (``pos.models.SessionTender``): two
registers of one store each count only their own tenders, a refund counts at the register
that gave it back (whichever sold the order, a web order included), a payment whose
link was claimed but never resolved still counts, and the Z report shows tender labels
while it keeps the codes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from orders.services.carts import cart_create, cart_line_add
from orders.services.returns import return_create
from payments.gateways import simulated
from payments.models import Payment, PaymentOperation
from payments.selectors import order_outstanding_amount
from payments.services.start import payment_start
from pos.exceptions import RegisterNotOpen
from pos.models import SessionTender, ZReport
from pos.services import (
    sale_complete,
    sale_pay_card,
    sale_pay_split,
    till_card_record,
    till_cash_take,
    till_return_settle,
)
from pos.session_figures import session_expected, session_taken
from pos.session_tenders import tender_claim
from pos.sessions import session_close, session_close_start, session_open
from tests.factories import RegisterFactory
from tests.pos.conftest import web_order_delivered

pytestmark = [pytest.mark.django_db, pytest.mark.register_closed]
D = Decimal


@pytest.fixture
def two(shop):
    """The store's two registers, each open with its own float."""
    second = RegisterFactory(location=shop.store, channel=shop.store_channel, code="PAR-2")
    a = session_open(register=shop.register, user=shop.seller, counted="100.00")
    b = session_open(register=second, user=shop.seller, counted="50.00")
    return shop.register, second, a, b


def _cart(shop, variant, quantity=1):
    cart = cart_create(channel=shop.store_channel)
    cart_line_add(cart=cart, variant=variant, quantity=quantity, channel=shop.store_channel)
    return cart


def cash_sale(shop, register, variant, quantity=1, tendered="100"):
    return sale_complete(
        register=register,
        cart=_cart(shop, variant, quantity),
        payment_method="cash",
        seller=shop.seller,
        tendered=D(tendered),
    ).order


def card_sale(shop, register, variant, key):
    return sale_pay_card(
        register=register, cart=_cart(shop, variant), seller=shop.seller, idempotency_key=key
    ).order


def refund(shop, order, register, key, *, method="cash", quantity=1):
    ret = return_create(
        order=order,
        channel=shop.store_channel,
        lines=[{"order_line": order.lines.get(), "quantity": quantity, "reason": "damaged"}],
        receiving_location=shop.store,
        outcome="refund",
        user=shop.seller,
    )
    return till_return_settle(
        ret=ret, register=register, seller=shop.seller, method=method, idempotency_key=key
    )


def close(session, user, counts):
    session_close_start(session=session, user=user)
    done = session_close(session=session, counts=counts, user=user)
    return ZReport.objects.get(session=done).payload


def test_two_registers_of_one_store_each_count_only_their_own_tenders(shop, two, tee, scarf):
    a_till, b_till, a, b = two
    cash_sale(shop, a_till, tee, quantity=2)  # 39.80 cash at A
    card_sale(shop, a_till, scarf, "card-a-0001")  # 29.00 card at A
    cash_sale(shop, b_till, scarf)  # 29.00 cash at B
    sold_at_a = cash_sale(shop, a_till, tee)  # 19.90 cash at A

    # Brought back at B: the cash leaves B's drawer, not A's.
    refund(shop, sold_at_a, b_till, "ret-at-b-0001")

    assert session_expected(a) == {"cash": D("159.70"), "card_terminal": D("29.00")}
    assert session_expected(b) == {"cash": D("59.10")}  # 50 + 29.00 - 19.90
    za = close(a, shop.seller, {"cash": "159.70", "card_terminal": "29.00"})
    zb = close(b, shop.seller, {"cash": "59.10"})

    assert (za["register"], za["tickets"], za["sales_total"]) == (a_till.code, 3, "88.70")
    assert za["tenders"] == {"card_terminal": "29.00", "cash": "59.70"}
    assert za["refunds"] == {"count": 0, "total": "0.00", "per_tender": {}}
    assert (zb["register"], zb["tickets"], zb["sales_total"]) == (b_till.code, 1, "29.00")
    assert zb["tenders"] == {"cash": "29.00"}
    assert zb["refunds"] == {"count": 1, "total": "19.90", "per_tender": {"cash": "19.90"}}
    assert [row["tickets"] for row in za["sellers"]] == [3]
    assert [row["tickets"] for row in zb["sellers"]] == [1]
    links = SessionTender.objects.order_by("pk")
    assert [(link.session_id, link.kind) for link in links if link.payment_id] == [
        (a.pk, "sale"),
        (a.pk, "sale"),
        (b.pk, "sale"),
        (a.pk, "sale"),
    ]
    assert [link.session_id for link in links if link.operation_id] == [b.pk]


def test_a_web_order_returned_in_store_counts_at_the_register_that_refunded(
    shop, two, tee, camille
):
    _a_till, b_till, a, b = two
    simulated.reset()
    web_order = web_order_delivered(shop=shop, customer=camille, variant=tee, quantity=2)
    payment_start(
        order=web_order,
        method="card_online",
        amount=order_outstanding_amount(web_order),
        token="sim_ok",
        idempotency_key="web-card-0001",
    )
    refund(shop, web_order, b_till, "ret-web-0001", quantity=2)
    simulated.reset()

    assert session_expected(a) == {"cash": D("100.00")}
    assert session_expected(b) == {"cash": D("10.20")}  # 50 - 39.80
    assert session_taken(b) == {}  # the web payment is nobody's till's


def test_a_split_and_a_later_card_payment_count_in_the_session_that_took_them(
    shop, two, tee, scarf
):
    a_till, b_till, a, b = two
    split = sale_pay_split(
        register=a_till,
        cart=_cart(shop, tee, 2),
        seller=shop.seller,
        cash=D("20.00"),
        idempotency_key="split-a-0001",
    ).order  # 39.80: 20.00 cash, 19.80 card
    later = sale_complete(
        register=a_till, cart=_cart(shop, scarf), payment_method="pay_in_store", seller=shop.seller
    ).order
    # Paid later at the other register: B took it.
    till_cash_take(
        order=later,
        tendered=D("10.00"),
        register=b_till,
        seller=shop.seller,
        idempotency_key="later-b-0001",
    )
    till_card_record(
        order=later,
        amount=None,
        register=b_till,
        seller=shop.seller,
        idempotency_key="later-b-0002",
    )

    assert split.payment_status == "paid"
    assert session_expected(a) == {"cash": D("120.00"), "card_terminal": D("19.80")}
    assert session_expected(b) == {"cash": D("60.00"), "card_terminal": D("19.00")}


def test_a_payment_whose_link_was_only_claimed_still_counts(shop, two, scarf):
    # The till died between linking the key and naming the payment: the key names it.
    a_till, b_till, a, b = two
    order = sale_complete(
        register=a_till, cart=_cart(shop, scarf), payment_method="pay_in_store", seller=shop.seller
    ).order
    tender_claim(register=b_till, key="pos-card-lost-0001", kind="sale")
    payment_start(
        order=order,
        method="card_terminal",
        amount=D("29.00"),
        idempotency_key="pos-card-lost-0001",
        user=shop.seller,
        channel=shop.store_channel,
    )

    assert SessionTender.objects.get(key="pos-card-lost-0001").payment_id is None
    assert session_expected(b) == {"cash": D("50.00"), "card_terminal": D("29.00")}
    assert session_expected(a) == {"cash": D("100.00")}


def test_no_money_is_taken_or_given_back_at_a_register_without_an_open_session(
    shop, two, tee, scarf
):
    a_till, b_till, _a, b = two
    order = sale_complete(
        register=a_till, cart=_cart(shop, scarf), payment_method="pay_in_store", seller=shop.seller
    ).order
    sold = cash_sale(shop, a_till, tee)
    session_close_start(session=b, user=shop.seller)
    payments, operations = Payment.objects.count(), PaymentOperation.objects.count()
    links = SessionTender.objects.count()

    with pytest.raises(RegisterNotOpen):
        till_card_record(
            order=order,
            amount=None,
            register=b_till,
            seller=shop.seller,
            idempotency_key="closed-b-0001",
        )
    with pytest.raises(RegisterNotOpen):
        till_cash_take(
            order=order,
            tendered=D("50"),
            register=b_till,
            seller=shop.seller,
            idempotency_key="closed-b-0002",
        )
    with pytest.raises(RegisterNotOpen):
        refund(shop, sold, b_till, "closed-b-0003")

    assert (Payment.objects.count(), PaymentOperation.objects.count()) == (payments, operations)
    assert SessionTender.objects.count() == links
    assert order_outstanding_amount(order) == D("29.00")


def test_a_double_click_links_one_payment(shop, two, scarf):
    a_till, _b_till, a, _b = two
    order = sale_complete(
        register=a_till, cart=_cart(shop, scarf), payment_method="pay_in_store", seller=shop.seller
    ).order
    for _ in range(2):
        till_card_record(
            order=order,
            amount=None,
            register=a_till,
            seller=shop.seller,
            idempotency_key="twice-a-0001",
        )
    assert SessionTender.objects.filter(session=a, kind="sale").count() == 1
    assert session_expected(a) == {"cash": D("100.00"), "card_terminal": D("29.00")}


def test_the_z_report_keeps_the_codes_and_shows_the_labels(shop, two, till, tee, scarf):
    a_till, _b_till, a, _b = two
    cash_sale(shop, a_till, tee)
    card_sale(shop, a_till, scarf, "card-a-0002")
    with translation.override("fr"):
        z = close(a, shop.seller, {"cash": "119.90", "card_terminal": "29.00"})

    assert z["tenders"] == {"card_terminal": "29.00", "cash": "19.90"}
    assert z["tender_labels"] == {
        "card_terminal": "Carte (terminal de paiement)",
        "cash": "Espèces",
    }
    page = till.get("/pos/register/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Card (payment terminal)" in page
    assert ">card_terminal<" not in page


def test_a_payment_link_sent_at_a_register_counts_in_its_session_once_paid(
    shop, two, scarf, monkeypatch
):
    from payments.services.links import payment_link_pay
    from pos import services as pos_services

    _a_till, b_till, a, b = two
    tokens = []
    create = pos_services.payment_link_create

    def keep_token(**arguments):
        link, token = create(**arguments)
        tokens.append(token)
        return link, token

    monkeypatch.setattr(pos_services, "payment_link_create", keep_token)
    simulated.reset()
    sold = pos_services.sale_pay_link(
        register=b_till,
        cart=_cart(shop, scarf),
        seller=shop.seller,
        phone="0612345678",
        language="fr",
        idempotency_key="link-b-0001",
    )
    assert session_taken(b) == {}  # sent, not paid yet
    payment_link_pay(token=tokens[0], card_token="sim_ok", idempotency_key="phone-0001")
    simulated.reset()

    assert session_taken(b) == {"payment_link": D("29.00")}
    assert session_taken(a) == {}
    assert sold.order.payment_method == "payment_link"


def _migration_sql(name: str) -> str:
    """A SQL constant of the migration adding the links (found by its name: the merge
    renumbers migrations)."""
    import importlib.util
    from pathlib import Path

    import pos

    path = next(Path(pos.__file__).parent.glob("migrations/*_session_tenders_grand_total.py"))
    spec = importlib.util.spec_from_file_location("session_tenders_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def test_sessions_open_when_the_links_ship_get_their_payments_where_the_channel_was_right(
    shop, tee, scarf, lyon
):
    from django.db import connection

    lyon_till = RegisterFactory(location=lyon, channel=lyon.channels.get(kind="store"))
    paris = session_open(register=shop.register, user=shop.seller, counted="100.00")
    lyon_session = session_open(register=lyon_till, user=shop.seller, counted="10.00")
    sold = cash_sale(shop, shop.register, tee, quantity=2)  # 39.80
    card_sale(shop, shop.register, scarf, "card-p-0001")  # 29.00
    refund(shop, sold, shop.register, "ret-p-0001")  # -19.90
    before = session_expected(paris)
    SessionTender.objects.all().delete()  # as before the links existed

    with connection.cursor() as cursor:
        cursor.execute(_migration_sql("OPEN_SESSIONS_BACKFILL"))
    assert (
        session_expected(paris)
        == before
        == {
            "cash": D("119.90"),
            "card_terminal": D("29.00"),
        }
    )
    assert session_expected(lyon_session) == {"cash": D("10.00")}

    # With a second register of Paris open, the channel's payments are nobody's for sure:
    # nothing is linked.
    SessionTender.objects.all().delete()
    second = RegisterFactory(location=shop.store, channel=shop.store_channel, code="PAR-2")
    session_open(register=second, user=shop.seller, counted="0")
    with connection.cursor() as cursor:
        cursor.execute(_migration_sql("OPEN_SESSIONS_BACKFILL"))
    assert not SessionTender.objects.filter(session=paris).exists()
