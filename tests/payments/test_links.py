"""Payment links: created for an order or a cart, sent by SMS through the worker's
service, resent, cancelled, opened, paid once (in full or by instalments), expired."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from customers.exceptions import InvalidPhone
from inventory.models import StockLevel
from orders.models import Cart, Order, OrderEvent
from orders.services.carts import cart_create, cart_line_add
from payments.exceptions import (
    AmountExceeds,
    InstalmentDeclined,
    PaymentAmountInvalid,
    PaymentDeclined,
    PaymentLinkCancelled,
    PaymentLinkChoiceInvalid,
    PaymentLinkExpired,
    PaymentLinkNotFound,
    PaymentLinkUsed,
)
from payments.gateways import simulated
from payments.models import InstalmentPlan, Payment, PaymentLink
from payments.selectors import payment_link_get
from payments.services.links import (
    payment_link_cancel,
    payment_link_choices,
    payment_link_create,
    payment_link_open,
    payment_link_pay,
    payment_link_resend,
    payment_links_expire,
)
from payments.tasks import simulated_webhook
from unicommerce.events.models import OutboxEvent
from unicommerce.events.services import event_process
from unicommerce.messaging import backends
from unicommerce.messaging.models import Message
from unicommerce.messaging.services import message_deliver

LS = PaymentLink.Status
PHONE = "06 12 34 56 78"
E164 = "+33612345678"
ADDRESS = {
    "first_name": "Camille",
    "last_name": "Durand",
    "line1": "1 rue de Rivoli",
    "postal_code": "75001",
    "city": "Paris",
    "country": "fr",
}


@pytest.fixture(autouse=True)
def empty_sms_outbox():
    backends.outbox.clear()
    yield
    backends.outbox.clear()


@pytest.fixture
def base_url(settings) -> str:
    settings.PUBLIC_BASE_URL = "https://shop.example"
    return "https://shop.example"


def test_a_link_for_an_order_owes_the_outstanding_amount_and_queues_one_sms(
    make_order, base_url, django_capture_on_commit_callbacks
):
    order = make_order(total="120.00")

    with django_capture_on_commit_callbacks() as callbacks:
        link, token = payment_link_create(order=order, phone=PHONE, language="en")

    assert (link.amount, link.currency, link.status, link.phone, link.language) == (
        Decimal("120.00"),
        "EUR",
        LS.CREATED,
        E164,
        "en",
    )
    assert len(token) >= 43
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(PaymentLink.objects.filter(pk=link.pk).values().get())
    expected_expiry = timezone.now() + timedelta(minutes=60 * 24)
    assert abs((link.expires_at - expected_expiry).total_seconds()) < 60
    message = Message.objects.get(pk=link.message_id)
    assert (message.channel, message.to, message.kind, message.reference, message.status) == (
        "sms",
        E164,
        "payment_link",
        order.reference,
        Message.Status.QUEUED,
    )
    assert message.dedup_key == f"payment-link:{link.pk}:1"
    assert f"https://shop.example/pay/{token}/" in message.body
    assert "€120.00" in message.body
    assert len(callbacks) == 1  # the worker is woken up only once the link is committed
    assert OrderEvent.objects.filter(order=order, kind="payment_link_sent").count() == 1


def test_the_sms_is_in_the_links_language(make_order, base_url):
    order = make_order(total="12.50")

    link, token = payment_link_create(order=order, phone=PHONE, language="fr")

    body = Message.objects.get(pk=link.message_id).body
    assert "12,50\xa0€" in body
    assert body.endswith(f"https://shop.example/pay/{token}/")


def test_the_link_says_sent_once_the_worker_has_sent_the_sms(make_order, base_url):
    link, token = payment_link_create(order=make_order(), phone=PHONE)
    assert payment_link_get(token=token).status == LS.CREATED

    assert message_deliver(message_id=link.message_id) == "sent"

    [sms] = backends.outbox
    assert sms.to == E164
    assert f"https://shop.example/pay/{token}/" in sms.body
    refreshed = payment_link_get(token=token)
    assert refreshed.status == LS.SENT
    assert refreshed.sent_at == Message.objects.get(pk=link.message_id).sent_at


def test_the_periodic_job_also_records_sent_links(make_order):
    link, _token = payment_link_create(order=make_order(), phone=PHONE)
    message_deliver(message_id=link.message_id)

    assert payment_links_expire() == 0

    link.refresh_from_db()
    assert link.status == LS.SENT


def test_a_partial_amount_is_allowed_more_than_due_or_nothing_is_refused(make_order):
    order = make_order(total="100.00")

    link, _token = payment_link_create(order=order, phone=PHONE, amount=Decimal("40"))
    assert link.amount == Decimal("40.00")
    with pytest.raises(AmountExceeds, match="still due on this order") as too_much:
        payment_link_create(order=order, phone=PHONE, amount=Decimal("100.01"))
    assert too_much.value.code == "payment_exceeds_due"
    assert too_much.value.http_status == 409
    assert too_much.value.details["outstanding"] == "100.00"
    for amount in (Decimal("0"), Decimal("-5"), Decimal("0.001")):
        with pytest.raises(PaymentAmountInvalid):
            payment_link_create(order=order, phone=PHONE, amount=amount)

    assert PaymentLink.objects.filter(order=order).count() == 1
    assert Message.objects.count() == 1


def test_an_invalid_phone_is_refused_and_nothing_is_created(make_order):
    order = make_order()

    with pytest.raises(InvalidPhone) as error:
        payment_link_create(order=order, phone="12")

    assert error.value.code == "invalid_phone"
    assert error.value.http_status == 400
    assert not PaymentLink.objects.exists()
    assert not Message.objects.exists()


def _web_cart(shop, stocked_variant) -> tuple[Cart, object]:
    variant = stocked_variant(warehouse=3, price_amount=Decimal("30.00"))
    cart = cart_create(channel=shop.web)
    cart_line_add(cart=cart, variant=variant, quantity=2)
    return cart, variant


def test_a_link_for_a_cart_checks_it_out_holding_the_stock(shop, stocked_variant):
    cart, variant = _web_cart(shop, stocked_variant)

    link, _token = payment_link_create(
        cart=cart, phone=PHONE, checkout_options={"shipping_address": ADDRESS}
    )

    order = link.order
    assert order.cart_id == cart.pk
    assert order.payment_method == "payment_link"
    assert order.payment_status == Order.PaymentStatus.UNPAID
    assert order.phone == E164
    assert link.amount == order.total_amount == Decimal("60.00")
    level = StockLevel.objects.get(variant=variant, location=shop.warehouse)
    assert (level.on_hand, level.reserved) == (3, 2)
    assert OrderEvent.objects.filter(order=order, kind="awaiting_payment").exists()
    cart.refresh_from_db()
    assert cart.status == Cart.Status.CHECKED_OUT


def test_a_cart_link_with_an_invalid_phone_leaves_the_cart_open(shop, stocked_variant):
    cart, variant = _web_cart(shop, stocked_variant)

    with pytest.raises(InvalidPhone):
        payment_link_create(cart=cart, phone="not a phone")

    cart.refresh_from_db()
    assert cart.status == Cart.Status.OPEN
    assert not Order.objects.exists()
    level = StockLevel.objects.get(variant=variant, location=shop.warehouse)
    assert level.reserved == 0


def test_opening_marks_the_link_opened_once(make_order):
    link, token = payment_link_create(order=make_order(), phone=PHONE)

    opened = payment_link_open(token=token)
    first_opened_at = opened.opened_at
    again = payment_link_open(token=token)

    assert opened.status == again.status == LS.OPENED
    link.refresh_from_db()
    assert link.opened_at == first_opened_at == again.opened_at


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: t + "x",
        lambda t: "../../etc/passwd",
        lambda t: "",
    ],
    ids=["one-char-changed", "longer", "garbage", "empty"],
)
def test_a_tampered_or_unknown_token_is_not_found(make_order, mangle):
    _link, token = payment_link_create(order=make_order(), phone=PHONE)

    with pytest.raises(PaymentLinkNotFound) as error:
        payment_link_open(token=mangle(token))

    assert (error.value.code, error.value.http_status) == ("payment_link_not_found", 404)


def test_resending_retires_the_old_token_and_sends_a_new_sms(make_order, base_url):
    link, old = payment_link_create(order=make_order(), phone=PHONE)
    message_deliver(message_id=link.message_id)
    payment_link_open(token=old)

    resent, new = payment_link_resend(link=link, phone="+33 6 98 76 54 32")

    assert new != old
    assert (resent.sends, resent.status, resent.phone) == (2, LS.CREATED, "+33698765432")
    with pytest.raises(PaymentLinkNotFound):
        payment_link_open(token=old)
    assert payment_link_open(token=new).pk == link.pk
    message = Message.objects.get(pk=resent.message_id)
    assert message.dedup_key == f"payment-link:{link.pk}:2"
    assert message.to == "+33698765432"
    assert f"https://shop.example/pay/{new}/" in message.body
    assert Message.objects.count() == 2


def test_a_cancelled_link_can_be_neither_opened_nor_paid_nor_resent(make_order):
    order = make_order()
    link, token = payment_link_create(order=order, phone=PHONE)

    cancelled = payment_link_cancel(link=link)
    assert payment_link_cancel(link=link).status == LS.CANCELLED  # twice is harmless

    assert cancelled.cancelled_at is not None
    with pytest.raises(PaymentLinkCancelled) as error:
        payment_link_open(token=token)
    assert (error.value.code, error.value.http_status) == ("payment_link_cancelled", 410)
    with pytest.raises(PaymentLinkCancelled):
        payment_link_pay(token=token, card_token="sim_ok", idempotency_key="k1")
    with pytest.raises(PaymentLinkCancelled):
        payment_link_resend(link=link)
    assert not Payment.objects.filter(order=order).exists()
    assert simulated.charges() == []


def test_an_expired_link_answers_410_and_the_periodic_job_marks_it(make_order):
    order = make_order()
    link, token = payment_link_create(order=order, phone=PHONE)
    other, _other_token = payment_link_create(order=order, phone=PHONE, amount=Decimal("1"))
    PaymentLink.objects.filter(pk__in=[link.pk, other.pk]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert payment_links_expire() == 2
    with pytest.raises(PaymentLinkExpired) as error:
        payment_link_open(token=token)
    assert (error.value.code, error.value.http_status) == ("payment_link_expired", 410)
    with pytest.raises(PaymentLinkExpired):
        payment_link_pay(token=token, card_token="sim_ok", idempotency_key="k1")
    assert simulated.charges() == []
    assert set(PaymentLink.objects.values_list("status", flat=True)) == {LS.EXPIRED}


def test_a_link_past_its_time_is_expired_on_open_even_before_the_job(make_order):
    link, token = payment_link_create(order=make_order(), phone=PHONE, expires_in=60)
    PaymentLink.objects.filter(pk=link.pk).update(expires_at=timezone.now())

    with pytest.raises(PaymentLinkExpired):
        payment_link_open(token=token)

    link.refresh_from_db()
    assert link.status == LS.EXPIRED


def test_paying_in_full_pays_the_link_and_the_order_then_the_link_is_used(make_order):
    order = make_order(total="80.00")
    link, token = payment_link_create(order=order, phone=PHONE)

    paid = payment_link_pay(token=token, card_token="sim_ok", idempotency_key="page-1")

    assert paid.status == LS.PAID
    assert paid.paid_at is not None
    payment = paid.payment
    assert (payment.method, payment.status, payment.amount, payment.channel_id) == (
        "payment_link",
        Payment.Status.CAPTURED,
        Decimal("80.00"),
        order.channel_id,
    )
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.PAID
    with pytest.raises(PaymentLinkUsed) as error:
        payment_link_open(token=token)
    assert (error.value.code, error.value.http_status) == ("payment_link_used", 409)
    with pytest.raises(PaymentLinkUsed):
        payment_link_pay(token=token, card_token="sim_ok", idempotency_key="page-2")
    with pytest.raises(PaymentLinkUsed):
        payment_link_cancel(link=link)
    assert len(simulated.charges()) == 1


def test_a_retried_submit_with_the_same_key_is_the_same_payment(make_order):
    _link, token = payment_link_create(order=make_order(), phone=PHONE)

    first = payment_link_pay(token=token, card_token="sim_ok", idempotency_key="page-1")
    again = payment_link_pay(token=token, card_token="sim_ok", idempotency_key="page-1")

    assert again.payment_id == first.payment_id
    assert again.status == LS.PAID
    assert len(simulated.charges()) == 1
    assert Payment.objects.count() == 1


def test_a_declined_card_leaves_the_link_payable_with_another_card(make_order):
    order = make_order(total="50.00")
    link, token = payment_link_create(order=order, phone=PHONE)

    with pytest.raises(PaymentDeclined) as declined:
        payment_link_pay(token=token, card_token="sim_decline", idempotency_key="page-1")

    assert declined.value.decline_code == "card_declined"
    link.refresh_from_db()
    assert link.status == LS.OPENED
    assert link.payment.status == Payment.Status.FAILED
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.UNPAID
    # the same submit again: the same refusal, no new charge
    with pytest.raises(PaymentDeclined):
        payment_link_pay(token=token, card_token="sim_decline", idempotency_key="page-1")
    assert len(simulated.charges()) == 1

    paid = payment_link_pay(token=token, card_token="sim_ok", idempotency_key="page-2")

    assert paid.status == LS.PAID
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.PAID


def test_a_delayed_confirmation_pays_the_link_when_the_webhook_arrives(make_order):
    order = make_order(total="70.00")
    link, token = payment_link_create(order=order, phone=PHONE)

    pending = payment_link_pay(token=token, card_token="sim_delayed", idempotency_key="page-1")

    assert pending.status == LS.OPENED
    assert pending.payment.status == Payment.Status.PENDING
    # while the provider has not confirmed, nobody can pay or cancel the link again
    with pytest.raises(PaymentLinkUsed) as error:
        payment_link_pay(token=token, card_token="sim_ok", idempotency_key="page-2")
    assert error.value.details["payment_status"] == "pending"
    with pytest.raises(PaymentLinkUsed):
        payment_link_cancel(link=link)

    assert simulated_webhook(**simulated.WEBHOOKS[0]) == "processed"

    # the outbox event's handler marks the link paid (what the events worker runs)
    captured = OutboxEvent.objects.filter(topic="payment.captured").get()
    assert event_process(event_id=captured.id)
    link.refresh_from_db()
    assert link.status == LS.PAID
    assert link.paid_at is not None
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.PAID
    assert len(simulated.charges()) == 1


def test_a_delayed_payment_confirmed_is_also_seen_by_a_reader(make_order):
    _link, token = payment_link_create(order=make_order(), phone=PHONE)
    payment_link_pay(token=token, card_token="sim_delayed", idempotency_key="page-1")
    simulated_webhook(**simulated.WEBHOOKS[0])

    assert payment_link_get(token=token).status == LS.PAID


def test_a_pending_payment_keeps_its_link_from_expiring(make_order):
    link, token = payment_link_create(order=make_order(), phone=PHONE)
    payment_link_pay(token=token, card_token="sim_delayed", idempotency_key="page-1")
    PaymentLink.objects.filter(pk=link.pk).update(expires_at=timezone.now())

    assert payment_links_expire() == 0
    simulated_webhook(**simulated.WEBHOOKS[0])

    assert payment_link_get(token=token).status == LS.PAID


def test_the_choices_are_full_then_eligible_plans_whose_parts_sum_to_the_amount(make_order):
    link, _token = payment_link_create(order=make_order(total="100.00"), phone=PHONE)

    choices = payment_link_choices(link)

    assert [c.kind for c in choices][:4] == ["full", "2x", "3x", "4x"]
    for choice in choices:
        assert sum(amount for _due, amount in choice.parts) == Decimal("100.00")
    assert [amount for _due, amount in choices[2].parts] == [
        Decimal("33.34"),
        Decimal("33.33"),
        Decimal("33.33"),
    ]


def test_paying_in_three_instalments_takes_the_first_part_and_pays_the_link(make_order):
    order = make_order(total="100.00")
    _link, token = payment_link_create(order=order, phone=PHONE)

    paid = payment_link_pay(token=token, choice="3x", card_token="sim_ok", idempotency_key="p")

    assert paid.status == LS.PAID
    plan = InstalmentPlan.objects.get(payment=paid.payment)
    assert (plan.kind, plan.amount, plan.phone) == ("3x", Decimal("100.00"), E164)
    assert paid.payment.captured_amount == Decimal("33.34")
    assert [p.status for p in plan.parts.order_by("number")] == ["paid", "scheduled", "scheduled"]
    order.refresh_from_db()
    # paid in instalments: covered by what is captured plus what the running plan collects
    assert order.payment_status == Order.PaymentStatus.PAID
    with pytest.raises(PaymentLinkUsed):
        payment_link_pay(token=token, card_token="sim_ok", idempotency_key="p2")
    assert len(simulated.charges()) == 1


def test_a_declined_first_instalment_leaves_the_link_payable(make_order):
    _link, token = payment_link_create(order=make_order(total="100.00"), phone=PHONE)

    with pytest.raises(InstalmentDeclined):
        payment_link_pay(token=token, choice="2x", card_token="sim_decline", idempotency_key="a")

    paid = payment_link_pay(token=token, choice="full", card_token="sim_ok", idempotency_key="b")
    assert paid.status == LS.PAID


def test_a_plan_not_offered_for_the_amount_is_refused(make_order):
    _link, token = payment_link_create(order=make_order(total="10.00"), phone=PHONE)

    with pytest.raises(PaymentLinkChoiceInvalid) as error:
        payment_link_pay(token=token, choice="3x", card_token="sim_ok", idempotency_key="a")

    assert error.value.details["offered"][0] == "full"
    assert "3x" not in error.value.details["offered"]
    assert simulated.charges() == []


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_pays_charge_once_and_the_other_is_told_the_link_is_used(make_order):
    order = make_order(total="90.00")
    _link, token = payment_link_create(order=order, phone=PHONE)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def pay(key: str) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(payment_link_pay(token=token, card_token="sim_ok", idempotency_key=key))
        except Exception as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay, args=(f"tab-{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    paid = [o for o in outcomes if isinstance(o, PaymentLink)]
    used = [o for o in outcomes if isinstance(o, PaymentLinkUsed)]
    assert (len(paid), len(used)) == (1, 1), outcomes
    assert len(simulated.charges()) == 1
    assert Payment.objects.filter(order=order).count() == 1
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.PAID


# --- the back-office


def test_staff_send_a_link_from_the_admin(admin_client, make_order):
    order = make_order(total="64.00")
    url = "/admin/payments/paymentlink/add/"

    page = admin_client.get(f"{url}?order={order.pk}")
    bad_phone = admin_client.post(url, {"order": order.pk, "phone": "12", "language": "fr"})
    too_much = admin_client.post(
        url, {"order": order.pk, "phone": PHONE, "amount": "64.01", "language": "fr"}
    )
    unknown = admin_client.post(url, {"order": "UC99999999", "phone": PHONE, "language": "fr"})
    sent = admin_client.post(url, {"order": order.reference, "phone": PHONE, "language": "en"})

    assert page.status_code == 200
    assert f'value="{order.pk}"' in page.content.decode()
    assert bad_phone.status_code == too_much.status_code == unknown.status_code == 200
    assert "No such order." in unknown.content.decode()
    assert "is not a valid phone number" in bad_phone.content.decode()
    assert "still due on this order" in too_much.content.decode()
    link = PaymentLink.objects.get()
    assert sent.status_code == 302
    assert sent["Location"] == f"/admin/payments/paymentlink/{link.pk}/change/"
    assert (link.amount, link.phone, link.language) == (Decimal("64.00"), E164, "en")
    assert Message.objects.filter(pk=link.message_id, status="queued").exists()
    detail = admin_client.get(sent["Location"])
    assert detail.status_code == 200
    assert "queued" in detail.content.decode()


def test_admin_actions_resend_then_cancel_links(admin_client, make_order):
    order = make_order()
    link, old = payment_link_create(order=order, phone=PHONE)
    changelist = "/admin/payments/paymentlink/"

    admin_client.post(changelist, {"action": "resend_links", "_selected_action": [link.pk]})
    with pytest.raises(PaymentLinkNotFound):
        payment_link_open(token=old)
    admin_client.post(changelist, {"action": "cancel_links", "_selected_action": [link.pk]})

    link.refresh_from_db()
    assert (link.sends, link.status) == (2, LS.CANCELLED)
    assert admin_client.get(changelist + "?status__exact=cancelled").status_code == 200


def test_admin_ledgers_are_read_only_and_searchable_by_order_reference(admin_client, make_order):
    order = make_order(total="100.00")
    other = make_order(total="10.00", channel=order.channel)
    _link, token = payment_link_create(order=order, phone=PHONE)
    paid = payment_link_pay(token=token, choice="3x", card_token="sim_ok", idempotency_key="k")
    payment_link_pay(
        token=payment_link_create(order=other, phone=PHONE)[1],
        card_token="sim_ok",
        idempotency_key="k2",
    )
    plan = InstalmentPlan.objects.get(payment=paid.payment)

    found = admin_client.get(f"/admin/payments/payment/?q={order.reference}")
    payment_page = admin_client.get(f"/admin/payments/payment/{paid.payment_id}/change/")
    plan_page = admin_client.get(f"/admin/payments/instalmentplan/{plan.pk}/change/")
    events = admin_client.get("/admin/payments/providerevent/")

    assert found.status_code == 200
    assert list(found.context["cl"].result_list) == [paid.payment]
    assert payment_page.status_code == plan_page.status_code == events.status_code == 200
    assert "33.34" in payment_page.content.decode()  # the first part's capture, inline
    assert plan_page.content.decode().count("scheduled") >= 2
    assert admin_client.get("/admin/payments/payment/add/").status_code == 403


def test_the_expiry_job_is_a_registered_task():
    from unicommerce.celery import app

    assert "payments.links_expire" in app.tasks


# --- with a real Celery worker


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_sms_and_a_delayed_confirmation_pays_the_link(
    celery_worker_process, make_order, settings
):
    from tests.conftest import drain_worker, wait_until

    settings.PAYMENT_SIMULATED_WEBHOOK_DELAY_SECONDS = 0.1
    order = make_order(total="45.00")

    link, token = payment_link_create(order=order, phone=PHONE)

    wait_until(
        lambda: Message.objects.filter(pk=link.message_id, status="sent").exists(),
        what="the worker to send the SMS",
    )
    assert payment_link_get(token=token).status == LS.SENT
    payment_link_pay(token=token, card_token="sim_delayed", idempotency_key="page")
    # no reader here: the worker's outbox handler of payment.captured marks the link paid
    wait_until(
        lambda: PaymentLink.objects.filter(pk=link.pk, status=LS.PAID).exists(),
        what="the confirmation to pay the link",
    )
    drain_worker()
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.PAID
    assert Message.objects.get(pk=link.message_id).attempts == 1


def test_links_still_waiting_are_cancelled_once_the_order_is_paid_another_way(make_order):
    from payments.services.cash import payment_take_cash

    order = make_order(total="40.00")
    link, token = payment_link_create(order=order, phone=PHONE)
    payment_take_cash(order=order, tendered=Decimal("50.00"))  # paid in cash after all

    paid = OutboxEvent.objects.get(topic="order.paid", payload__order_id=order.pk)
    assert event_process(event_id=paid.id)

    link.refresh_from_db()
    assert link.status == PaymentLink.Status.CANCELLED
    with pytest.raises(PaymentLinkCancelled):
        payment_link_open(token=token)


def test_the_sms_text_with_the_token_is_not_kept_once_sent(make_order, base_url):
    order = make_order(total="40.00")
    link, token = payment_link_create(order=order, phone=PHONE)
    message = Message.objects.get(pk=link.message_id)
    assert token in message.body  # queued: the worker still needs it

    assert message_deliver(message_id=message.pk) == "sent"

    message.refresh_from_db()
    assert token not in message.body
    assert backends.outbox[-1].body.count(token) == 1  # the customer got it


def test_the_same_idempotency_key_makes_one_link_and_one_sms(make_order):
    order = make_order(total="40.00")
    first, token = payment_link_create(order=order, phone=PHONE, idempotency_key="till-1")
    again, no_token = payment_link_create(order=order, phone=PHONE, idempotency_key="till-1")

    assert (again.pk, token is not None, no_token) == (first.pk, True, None)
    assert PaymentLink.objects.filter(order=order).count() == 1
    assert Message.objects.filter(kind="payment_link", reference=order.reference).count() == 1
