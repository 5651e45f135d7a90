"""Retention jobs: each prunes what is past its keeping time and nothing else (recent
rows, rows still in use, rows accounting or a ledger points at stay). Rows are aged by
moving their dates back, as time would."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from customers.models import AccessToken, LoginCode
from customers.services.gdpr import login_codes_prune
from orders.models import Cart, CartEvent, CartLine, Order
from orders.services.retention import carts_prune
from payments.models import Payment, PaymentOperation, ProviderEvent
from payments.services.retention import provider_events_prune
from tests.factories import CustomerFactory, VariantFactory
from unicommerce.api.idempotency import idempotency_records_prune
from unicommerce.api.models import IdempotencyRecord
from unicommerce.messaging.models import Message
from unicommerce.messaging.services import messages_prune
from unicommerce.retention import rows_prune

pytestmark = pytest.mark.django_db


def ago(days: float):
    return timezone.now() - timedelta(days=days)


def test_every_prune_runs_nightly_from_beat():
    tasks = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}

    assert {
        "messaging.prune",
        "orders.carts_prune",
        "customers.login_codes_prune",
        "api.idempotency_records_prune",
        "payments.provider_events_prune",
    } <= tasks
    from unicommerce.celery import app

    app.loader.import_default_modules()
    assert {
        "messaging.prune",
        "orders.carts_prune",
        "customers.login_codes_prune",
        "api.idempotency_records_prune",
        "payments.provider_events_prune",
    } <= set(app.tasks)


def test_rows_prune_deletes_in_batches_and_only_what_is_selected():
    for n in range(7):
        IdempotencyRecord.objects.create(owner="o", key=f"k{n}", method="POST", path="/")
    keep = IdempotencyRecord.objects.create(owner="other", key="k", method="POST", path="/")

    assert rows_prune(IdempotencyRecord.objects.filter(owner="o"), batch=3) == 7

    assert list(IdempotencyRecord.objects.all()) == [keep]


def _message(status: str, days_old: float) -> Message:
    message = Message.objects.create(
        channel="sms", to="+33612345678", body="Hello", kind="t", status=status
    )
    Message.objects.filter(pk=message.pk).update(created_at=ago(days_old))
    return message


def test_messages_sent_or_failed_long_ago_go_queued_and_recent_ones_stay(settings):
    settings.MESSAGE_KEEP_DAYS = 90
    old_sent, old_failed = _message("sent", 91), _message("failed", 200)
    recent = _message("sent", 89)
    old_queued = _message("queued", 120)  # still to send: never pruned

    assert messages_prune() == 2

    assert not Message.objects.filter(pk__in=[old_sent.pk, old_failed.pk]).exists()
    assert set(Message.objects.values_list("pk", flat=True)) == {recent.pk, old_queued.pk}


def _cart(shop, *, status="open", days_idle: float, expires_in_days: float | None = -1):
    cart = Cart.objects.create(
        channel=shop.web,
        customer=CustomerFactory(),
        status=status,
        expires_at=None if expires_in_days is None else timezone.now() + timedelta(expires_in_days),
    )
    CartLine.objects.create(cart=cart, variant=VariantFactory(), quantity=1)
    CartEvent.objects.create(cart=cart, kind="created", channel=shop.web)
    Cart.objects.filter(pk=cart.pk).update(updated_at=ago(days_idle))
    return cart


def test_carts_that_never_became_an_order_go_after_their_keeping_time(shop, settings):
    settings.CART_KEEP_DAYS = 30
    expired = _cart(shop, days_idle=31)
    merged = _cart(shop, status="merged", days_idle=40, expires_in_days=None)
    recent = _cart(shop, days_idle=29)
    still_open = _cart(shop, days_idle=45, expires_in_days=3)  # its owner may come back
    ordered = _cart(shop, status="checked_out", days_idle=400)
    Order.objects.create(
        channel=shop.web,
        cart=ordered,
        status=Order.Status.PLACED,
        currency="EUR",
        total_amount=Decimal("10.00"),
    )
    expired_ordered = _cart(shop, days_idle=60)  # an order points at it: it stays
    Order.objects.create(
        channel=shop.web,
        cart=expired_ordered,
        status=Order.Status.PLACED,
        currency="EUR",
        total_amount=Decimal("10.00"),
    )

    assert carts_prune() == 2

    assert set(Cart.objects.values_list("pk", flat=True)) == {
        recent.pk,
        still_open.pk,
        ordered.pk,
        expired_ordered.pk,
    }
    assert not CartLine.objects.filter(cart_id__in=[expired.pk, merged.pk]).exists()
    assert not CartEvent.objects.filter(cart_id__in=[expired.pk, merged.pk]).exists()
    assert CartLine.objects.filter(cart=recent).count() == 1


def test_used_or_expired_sign_in_codes_and_dead_tokens_go(shop, settings):
    settings.LOGIN_CODE_KEEP_DAYS = 7
    customer = CustomerFactory()

    def code(**fields) -> LoginCode:
        defaults = {"expires_at": timezone.now() + timedelta(minutes=10)}
        return LoginCode.objects.create(
            customer=customer, channel=shop.web, code_hash="h", **{**defaults, **fields}
        )

    def token(key: str, **fields) -> AccessToken:
        defaults = {"expires_at": timezone.now() + timedelta(days=30)}
        return AccessToken.objects.create(
            customer=customer, channel=shop.web, key_hash=key, **{**defaults, **fields}
        )

    used_long_ago = code(used_at=ago(8), expires_at=ago(8))
    expired_long_ago = code(expires_at=ago(10))
    used_recently = code(used_at=ago(1), expires_at=ago(1))
    live = code()
    expired_token = token("a", expires_at=ago(8))
    revoked_token = token("b", revoked_at=ago(30))
    recently_revoked = token("c", revoked_at=ago(2))
    live_token = token("d")

    assert login_codes_prune() == 4

    assert set(LoginCode.objects.values_list("pk", flat=True)) == {used_recently.pk, live.pk}
    assert set(AccessToken.objects.values_list("pk", flat=True)) == {
        recently_revoked.pk,
        live_token.pk,
    }
    assert not LoginCode.objects.filter(pk__in=[used_long_ago.pk, expired_long_ago.pk]).exists()
    assert not AccessToken.objects.filter(pk__in=[expired_token.pk, revoked_token.pk]).exists()


def test_old_idempotency_records_go(settings):
    settings.IDEMPOTENCY_KEEP_DAYS = 7
    old = IdempotencyRecord.objects.create(owner="channel:1", key="old", method="POST", path="/")
    recent = IdempotencyRecord.objects.create(owner="channel:1", key="new", method="POST", path="/")
    IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=ago(8))
    IdempotencyRecord.objects.filter(pk=recent.pk).update(created_at=ago(6))

    assert idempotency_records_prune() == 1

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_old_provider_events_go_and_those_the_ledger_points_at_lose_only_their_payload(
    shop, settings
):
    settings.PROVIDER_EVENT_KEEP_DAYS = 120
    order = Order.objects.create(
        channel=shop.web, status=Order.Status.PLACED, currency="EUR", total_amount=Decimal("10")
    )
    payment = Payment.objects.create(
        order=order,
        method="card_online",
        status="captured",
        amount=Decimal("10"),
        currency="EUR",
        gateway="simulated",
    )

    def event(event_id: str, days_old: float) -> ProviderEvent:
        row = ProviderEvent.objects.create(
            gateway="simulated",
            event_id=event_id,
            type="payment.succeeded",
            payload={"id": event_id, "billing_details": {"email": "ana@example.com"}},
        )
        ProviderEvent.objects.filter(pk=row.pk).update(received_at=ago(days_old))
        return row

    old = event("evt_old", 121)
    recent = event("evt_recent", 100)
    in_ledger = event("evt_ledger", 300)
    PaymentOperation.objects.create(
        payment=payment,
        kind="capture",
        status="succeeded",
        amount=Decimal("10"),
        currency="EUR",
        provider_event=in_ledger,
    )

    assert provider_events_prune() == 1

    assert not ProviderEvent.objects.filter(pk=old.pk).exists()
    recent.refresh_from_db()
    in_ledger.refresh_from_db()
    assert recent.payload["billing_details"] == {"email": "ana@example.com"}
    assert (in_ledger.event_id, in_ledger.payload) == ("evt_ledger", {})
    assert PaymentOperation.objects.get().provider_event_id == in_ledger.pk
