"""The till's payment panel (split tender): an order placed "pay in store" is paid at the
till by cash (with the change), a card on the external terminal, and a payment link sent
by SMS whose status the panel follows live (204 while nothing changed). Errors are shown
inline and change nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Order
from orders.services.carts import cart_create, cart_line_add
from payments.gateways import simulated
from payments.models import Payment, PaymentLink, PaymentOperation
from payments.services.links import payment_link_pay
from pos.selectors import payment_fingerprint
from pos.services import sale_complete
from tests.pos.conftest import HX, SELL
from unicommerce.messaging import backends
from unicommerce.messaging.models import Message
from unicommerce.messaging.services import message_deliver

PAY_URL = re.compile(r"https://shop\.example/pay/([A-Za-z0-9_-]{20,})/")


@pytest.fixture(autouse=True)
def clean_outboxes(settings):
    settings.PUBLIC_BASE_URL = "https://shop.example"
    backends.outbox.clear()
    simulated.reset()
    yield
    backends.outbox.clear()
    simulated.reset()


@pytest.fixture
def order(shop, camille, tee, scarf) -> Order:
    """Camille's basket (2 tees and a scarf, €68.80) placed at Till 1, to be paid in store."""
    cart = cart_create(channel=shop.store_channel, customer=camille)
    cart_line_add(cart=cart, variant=tee, quantity=2, channel=shop.store_channel)
    cart_line_add(cart=cart, variant=scarf, quantity=1, channel=shop.store_channel)
    result = sale_complete(
        register=shop.register, cart=cart, payment_method="pay_in_store", seller=shop.seller
    )
    assert result.order.total_amount == Decimal("68.80")
    return result.order


def url(order: Order) -> str:
    return f"/pos/orders/{order.reference}/payment/"


def form_key(fragment: str, action: str) -> str:
    """The idempotency key of the panel's form for ``action``."""
    pattern = rf'name="action" value="{action}"><input type="hidden" name="key" value="(\w+)"'
    return re.search(pattern, fragment).group(1)


def poll_url(fragment: str) -> str:
    return re.search(r'hx-get="([^"]*since=[^"]*)"', fragment).group(1).replace("&amp;", "&")


def test_placing_an_order_to_pay_in_store_shows_its_payment_panel(till, tee, scarf, camille):
    till.post(SELL, {"action": "add", "variant": tee.pk}, **HX)
    till.post(SELL, {"action": "add", "variant": scarf.pk}, **HX)
    till.post(SELL, {"action": "identify", "phone": "06 12 34 56 78"}, **HX)

    response = till.post(SELL, {"action": "complete", "method": "pay_in_store"}, **HX)

    assert response.status_code == 200
    fragment = response.content.decode()
    order = Order.objects.get()
    assert 'id="payment-panel"' in fragment
    assert f'data-order="{order.reference}"' in fragment
    assert 'id="amount-due" data-figure="pay:due">€48.90<' in fragment
    # The link's phone is the customer's, the amounts default to what is due.
    assert 'value="06 12 34 56 78"' in fragment
    assert re.search(r'id="pay-card-amount"[^>]*value="48.90"', fragment)
    assert re.search(r'id="pay-link-amount"[^>]*value="48.90"', fragment)
    assert poll_url(fragment).startswith(f"{url(order)}?since=")


def test_split_tender_cash_then_card_on_the_terminal_pays_the_order(till, order):
    panel = till.get(url(order), **HX).content.decode()

    cash = till.post(
        url(order), {"action": "cash", "tendered": "20", "key": form_key(panel, "cash")}, **HX
    )
    assert cash.status_code == 200
    cash_fragment = cash.content.decode()
    assert "Cash €20.00 recorded." in cash_fragment
    assert 'data-figure="pay:due">€48.80<' in cash_fragment
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.PARTIALLY_PAID

    card = till.post(
        url(order),
        {"action": "card", "card_amount": "48.80", "key": form_key(cash_fragment, "card")},
        **HX,
    )

    assert card.status_code == 200
    receipt = card.content.decode()
    assert 'class="paid-title">Paid<' in receipt
    assert "hx-get" not in receipt  # paid: nothing polls any more
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.PAID
    payments = list(order.payments.order_by("id").values_list("method", "status", "amount"))
    assert payments == [
        ("cash", "captured", Decimal("20.00")),
        ("card_terminal", "captured", Decimal("48.80")),
    ]
    card_payment = order.payments.get(method="card_terminal")
    assert card_payment.gateway == "manual"
    assert card_payment.channel_id == order.channel_id


def test_cash_covering_what_is_due_gives_the_change_and_pays(till, order):
    panel = till.get(url(order), **HX).content.decode()

    preview = till.post(url(order), {"action": "change", "tendered": "70"}, **HX)
    assert "€1.20" in preview.content.decode()
    assert not order.payments.exists()  # a preview records nothing

    response = till.post(
        url(order), {"action": "cash", "tendered": "70", "key": form_key(panel, "cash")}, **HX
    )

    receipt = response.content.decode()
    assert 'class="paid-title">Paid<' in receipt
    assert "received €70.00 · change €1.20" in receipt
    payment = order.payments.get()
    assert (payment.amount, payment.tendered_amount, payment.change_amount) == (
        Decimal("68.80"),
        Decimal("70.00"),
        Decimal("1.20"),
    )
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.PAID


def test_a_double_click_on_terminal_approved_records_the_card_once(till, order):
    key = form_key(till.get(url(order), **HX).content.decode(), "card")
    data = {"action": "card", "card_amount": "30", "key": key}

    first = till.post(url(order), data, **HX)
    second = till.post(url(order), data, **HX)

    assert (first.status_code, second.status_code) == (200, 200)
    payment = Payment.objects.get(order=order)
    assert (payment.method, payment.amount, payment.status) == ("card_terminal", 30, "captured")
    assert PaymentOperation.objects.filter(payment=payment, status="succeeded").count() == 1
    assert 'data-figure="pay:due">€38.80<' in second.content.decode()


def test_a_payment_link_from_the_till_queues_an_sms_with_the_pay_page(till, order):
    key = form_key(till.get(url(order), **HX).content.decode(), "link")

    response = till.post(
        url(order),
        {
            "action": "link",
            "phone": "06 12 34 56 78",
            "link_amount": "",
            "language": "en",
            "key": key,
        },
        **HX,
    )

    assert response.status_code == 200
    fragment = response.content.decode()
    assert "Payment link for €68.80 sent by SMS to 06 12 34 56 78." in fragment
    link = PaymentLink.objects.get(order=order)
    assert (link.amount, link.phone, link.language, link.status) == (
        Decimal("68.80"),
        "+33612345678",
        "en",
        "created",
    )
    message = Message.objects.get(pk=link.message_id)
    assert (message.channel, message.to, message.status) == ("sms", "+33612345678", "queued")
    assert PAY_URL.search(message.body)
    assert f'data-link="{link.pk}" data-status="created"' in fragment
    assert "SMS: queued" in fragment

    # The same form sent twice (a double click) sends one link, one SMS.
    again = till.post(
        url(order),
        {"action": "link", "phone": "06 12 34 56 78", "language": "en", "key": key},
        **HX,
    )
    assert again.status_code == 200
    assert PaymentLink.objects.filter(order=order).count() == 1
    assert Message.objects.count() == 1


def test_the_live_status_answers_204_until_the_sms_is_sent_then_the_customer_pays(
    till, order, django_assert_max_num_queries
):
    key = form_key(till.get(url(order), **HX).content.decode(), "link")
    sent = till.post(
        url(order), {"action": "link", "phone": "0612345678", "language": "fr", "key": key}, **HX
    ).content.decode()
    poll = poll_url(sent)

    # Nothing changed: an empty 204 for a session, a user and one fingerprint query.
    with django_assert_max_num_queries(3):
        unchanged = till.get(poll, **HX)
    assert unchanged.status_code == 204
    assert unchanged.content == b""
    assert "no-cache" in unchanged["Cache-Control"]

    # The worker sends the SMS: the panel says so, and the link is "sent".
    link = PaymentLink.objects.get(order=order)
    assert message_deliver(message_id=link.message_id) == "sent"
    changed = till.get(poll, **HX)
    assert changed.status_code == 200
    status = changed.content.decode()
    assert status.lstrip().startswith('<div id="payment-live"')
    assert f'data-link="{link.pk}" data-status="sent"' in status
    assert "SMS: sent" in status
    poll = poll_url(status)
    assert till.get(poll, **HX).status_code == 204

    # The customer pays on their phone: the whole panel becomes the "Paid" receipt.
    token = PAY_URL.search(backends.outbox[0].body).group(1)
    payment_link_pay(token=token, card_token="sim_ok", idempotency_key="phone-1")
    paid = till.get(poll, **HX)
    assert paid.status_code == 200
    assert paid["HX-Retarget"] == "#payment-panel"
    assert paid["HX-Reswap"] == "outerHTML"
    receipt = paid.content.decode()
    assert 'class="paid-title">Paid<' in receipt
    assert "hx-get" not in receipt
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.PAID


def test_the_fingerprint_changes_with_a_link_running_out_of_time(order):
    from payments.services.links import payment_link_create

    link, _token = payment_link_create(order=order, phone="0612345678", language="fr")
    before = payment_fingerprint(order_id=order.pk)
    assert payment_fingerprint(order_id=order.pk) == before

    PaymentLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(1))

    assert payment_fingerprint(order_id=order.pk) != before
    assert payment_fingerprint(order_id=order.pk + 1000) == ""


def test_a_poll_of_another_fingerprint_renders_and_one_without_htmx_gets_the_page(till, order):
    assert till.get(f"{url(order)}?since=stale", **HX).status_code == 200
    page = till.get(f"{url(order)}?since={payment_fingerprint(order_id=order.pk)}")
    assert page.status_code == 200
    assert "<html" in page.content.decode()
    assert till.get("/pos/orders/nonsense/payment/", **HX).status_code == 404
    assert till.get("/pos/orders/UC99999999/payment/", **HX).status_code == 404


def test_the_payment_panel_needs_a_seller(client, order):
    assert client.get(url(order))["Location"].startswith("/pos/login/")
    assert client.get(f"{url(order)}?since=x", **HX)["HX-Refresh"] == "true"


def test_paying_more_than_due_by_card_is_refused_inline_and_changes_nothing(till, order):
    key = form_key(till.get(url(order), **HX).content.decode(), "card")

    response = till.post(url(order), {"action": "card", "card_amount": "80", "key": key}, **HX)

    assert response.status_code == 422
    fragment = response.content.decode()
    assert "€80.00 is more than the €68.80 still due on this order." in fragment
    assert re.search(r'id="pay-card-amount"[^>]*value="80"\s+aria-invalid="true"', fragment)
    assert not Payment.objects.exists()
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.UNPAID


def test_a_link_for_more_than_due_or_to_an_invalid_phone_is_refused_and_sends_nothing(till, order):
    panel = till.get(url(order), **HX).content.decode()

    too_much = till.post(
        url(order),
        {
            "action": "link",
            "phone": "0612345678",
            "link_amount": "100",
            "key": form_key(panel, "link"),
        },
        **HX,
    )
    bad_phone = till.post(
        url(order),
        {"action": "link", "phone": "12", "language": "fr", "key": form_key(panel, "link")},
        **HX,
    )

    assert too_much.status_code == 422
    assert "€100.00 is more than the €68.80 still due" in too_much.content.decode()
    assert bad_phone.status_code == 422
    fragment = bad_phone.content.decode()
    assert "“12” is not a valid phone number." in fragment
    assert re.search(r'id="pay-phone"[^>]*value="12"\s+aria-invalid="true"', fragment)
    assert not PaymentLink.objects.exists()
    assert not Message.objects.exists()


def test_cash_without_an_amount_or_a_form_key_is_refused(till, order):
    key = form_key(till.get(url(order), **HX).content.decode(), "cash")

    empty = till.post(url(order), {"action": "cash", "tendered": "", "key": key}, **HX)
    keyless = till.post(url(order), {"action": "cash", "tendered": "10"}, **HX)

    assert (empty.status_code, keyless.status_code) == (422, 422)
    assert "Type an amount" in empty.content.decode()
    assert "This form has expired" in keyless.content.decode()
    assert not Payment.objects.exists()


def test_an_expired_link_is_shown_expired_and_cannot_be_resent(till, order):
    key = form_key(till.get(url(order), **HX).content.decode(), "link")
    till.post(url(order), {"action": "link", "phone": "0612345678", "key": key}, **HX)
    link = PaymentLink.objects.get()
    PaymentLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(1))

    panel = till.get(url(order), **HX).content.decode()
    resend = till.post(url(order), {"action": "resend", "link": link.pk}, **HX)

    assert f'data-link="{link.pk}" data-status="expired"' in panel
    assert "Expired: the customer can no longer pay with it." in panel
    assert "Send a new link" in panel
    assert resend.status_code == 422
    assert "This payment link has expired." in resend.content.decode()
    link.refresh_from_db()
    assert (link.status, link.sends) == ("expired", 1)
    assert Message.objects.count() == 1


def test_a_declined_card_on_the_customer_s_phone_is_shown_and_the_link_stays_payable(till, order):
    key = form_key(till.get(url(order), **HX).content.decode(), "link")
    till.post(url(order), {"action": "link", "phone": "0612345678", "key": key}, **HX)
    link = PaymentLink.objects.get()
    message_deliver(message_id=link.message_id)
    token = PAY_URL.search(backends.outbox[0].body).group(1)
    with pytest.raises(Exception, match="declined"):
        payment_link_pay(token=token, card_token="sim_decline", idempotency_key="phone-1")

    panel = till.get(url(order), **HX).content.decode()

    assert re.search(r'data-method="payment_link" data-status="failed"', panel)
    assert "declined" in panel
    assert "the link can still be paid" in panel
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.UNPAID


def test_a_link_is_cancelled_from_the_till(till, order):
    key = form_key(till.get(url(order), **HX).content.decode(), "link")
    till.post(url(order), {"action": "link", "phone": "0612345678", "key": key}, **HX)
    link = PaymentLink.objects.get()

    response = till.post(url(order), {"action": "cancel", "link": link.pk}, **HX)

    assert response.status_code == 200
    assert "Payment link cancelled." in response.content.decode()
    link.refresh_from_db()
    assert link.status == "cancelled"


def test_without_htmx_an_action_redirects_to_the_payment_page(till, order):
    key = form_key(till.get(url(order)).content.decode(), "card")

    response = till.post(url(order), {"action": "card", "card_amount": "10", "key": key})

    assert response.status_code == 302
    assert response["Location"] == url(order)
    page = till.get(url(order)).content.decode()
    assert "Card payment of €10.00 recorded." in page
    assert Payment.objects.get().amount == Decimal("10.00")


def test_the_panel_speaks_french(till, order, settings):
    till.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"

    fragment = till.get(url(order), **HX).content.decode()

    assert "Paiement de la commande" in fragment
    assert "Reste dû" in fragment
    assert "68,80\xa0€" in fragment
    assert "Envoyer le lien" in fragment
    assert "Aucun paiement pour l’instant." in fragment


def test_a_customer_s_unpaid_order_links_to_its_payment_panel(till, order):
    response = till.post(SELL, {"action": "find", "find": "06 12 34 56 78"}, **HX)

    fragment = response.content.decode()
    assert f'<a class="pay-link" href="{url(order)}">Payment</a>' in fragment
