"""The right to erasure leaves nothing: a customer with a realistic history (a web cart
checked out with an Idempotency-Key, a payment link sent by SMS, an instalment plan, a
provider webhook naming them, a sign-in code, an admin change, a merged-away duplicate
with messages of its own) is erased, then EVERY text, varchar, json, jsonb and array
column of EVERY table of the database is searched for their e-mail, phone (E.164 and
national forms) and names. Nothing may be found; the accounting (orders, amounts,
payments, store credit) stays."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from crm.services.erasure import customer_erase
from crm.services.merging import customer_merge
from customers.auth import login_code_exchange, login_code_send
from customers.models import Customer
from customers.services.identity import customer_identify
from customers.services.profile import address_add, consent_record, customer_note_add
from loyalty.services.store_credit import store_credit_add, store_credit_balance
from orders.models import Order
from payments.gateways import simulated
from payments.models import InstalmentPlan, Payment, PaymentLink, ProviderEvent
from payments.services.instalments import instalment_plan_start
from payments.services.links import payment_link_create
from tests.api.conftest import client_with_key
from unicommerce.api.models import IdempotencyRecord
from unicommerce.messaging.models import Message
from unicommerce.messaging.tasks import message_send_task

pytestmark = pytest.mark.django_db

FIRST, LAST = "Zephyrine", "Quillardeau"
EMAIL = "zephyrine.quillardeau@example.org"
PHONE, PHONE_NATIONAL = "+33623456789", "06 23 45 67 89"
DUP_EMAIL, DUP_PHONE, DUP_NATIONAL = "zq.shop@example.net", "+33687654321", "06 87 65 43 21"
SEARCHED = [
    EMAIL,
    PHONE,
    PHONE_NATIONAL,
    PHONE_NATIONAL.replace(" ", ""),
    DUP_EMAIL,
    DUP_PHONE,
    DUP_NATIONAL,
    DUP_NATIONAL.replace(" ", ""),
    FIRST,
    LAST,
]
TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb", "ARRAY")


def personal_data_found() -> list[tuple[str, str, str]]:
    """(table, column, value) for every value of every text-like column of every table
    of this database that contains one of ``SEARCHED`` (case-insensitive)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.table_name, c.column_name
              FROM information_schema.columns c
              JOIN information_schema.tables t
                ON t.table_schema = c.table_schema AND t.table_name = c.table_name
             WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
               AND c.data_type = ANY(%s)
             ORDER BY 1, 2
            """,
            [list(TEXT_TYPES)],
        )
        columns = cursor.fetchall()
        assert len(columns) > 100  # the whole schema, not a few tables
        patterns = [f"%{value}%" for value in SEARCHED]
        found = []
        for table, column in columns:
            cursor.execute(
                f'SELECT "{column}"::text FROM "{table}" WHERE "{column}"::text ILIKE ANY(%s)',  # noqa: S608
                [patterns],
            )
            found += [(table, column, row[0][:300]) for row in cursor.fetchall()]
    return found


@pytest.fixture
def manager_client(client, django_user_model):
    manager = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-1")
    client.force_login(manager)
    client.user = manager
    return client


def _admin_rename(manager_client, customer: Customer) -> None:
    """Name the customer through the admin's change form (Django writes a LogEntry whose
    ``object_repr`` is the customer's name)."""
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    form = manager_client.get(url).context["adminform"].form
    data = {
        name: ("" if value is None else value)
        for name, value in form.initial.items()
        if not isinstance(value, (list, dict))
    }
    data.update(
        first_name=FIRST,
        last_name=LAST,
        email=customer.email or "",
        phone=customer.phone or "",
        tags="",
        source_channel=customer.source_channel_id or "",
    )
    for formset in manager_client.get(url).context["inline_admin_formsets"]:
        management = formset.formset.management_form
        prefix = formset.formset.prefix
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": str(management.initial["TOTAL_FORMS"]),
                f"{prefix}-INITIAL_FORMS": str(management.initial["INITIAL_FORMS"]),
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
        for index, inline_form in enumerate(formset.formset.forms):
            for name, field in inline_form.fields.items():
                value = inline_form.initial.get(name, field.initial)
                if hasattr(value, "pk"):
                    value = value.pk
                data[f"{prefix}-{index}-{name}"] = "" if value is None else value
    response = manager_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors


def _webhook(client, settings, *, reference: str, amount: str) -> None:
    """A provider's webhook carrying the customer's billing details, as card providers
    send them (signed, through the real endpoint)."""
    settings.PAYMENT_SIMULATED_WEBHOOK_SECRET = "whsec-test"
    document = {
        "id": "evt_erasure_1",
        "type": "payment.succeeded",
        "created": int(time.time()),
        "data": {
            "reference": reference,
            "amount": amount,
            "currency": "EUR",
            "billing_details": {
                "name": f"{FIRST} {LAST}",
                "email": EMAIL,
                "phone": PHONE,
            },
        },
    }
    body = json.dumps(document, sort_keys=True).encode()
    headers = {
        f"HTTP_{k.upper().replace('-', '_')}": v
        for k, v in simulated.webhook_headers(body).items()
        if k.lower() != "content-type"
    }
    response = client.post(
        "/payments/webhooks/simulated/", body, content_type="application/json", **headers
    )
    assert response.status_code == 200, response.content


@pytest.fixture
def history(shop, stocked_variant, manager_client, settings):
    """A customer with a life in every app, built through the real services and faces."""
    simulated.reset()
    variant = stocked_variant(warehouse=5, price_amount="150.00")
    from unicommerce.channels.services import api_key_create

    _, raw_key = api_key_create(channel=shop.web, name="front end")
    web_api = client_with_key(raw_key)

    # The web store: a cart filled, identified, checked out with an Idempotency-Key.
    cart = web_api.post("/api/v1/carts/", {}, format="json").json()
    token = cart["token"]
    assert (
        web_api.post(
            f"/api/v1/carts/{token}/lines/", {"sku": variant.sku, "quantity": 1}, format="json"
        ).status_code
        == 201
    )
    identified = web_api.post(
        f"/api/v1/carts/{token}/identify/", {"email": EMAIL, "phone": PHONE}, format="json"
    )
    assert identified.status_code == 200, identified.json()
    customer = Customer.objects.get(email=EMAIL)
    _admin_rename(manager_client, customer)
    address = {
        "first_name": FIRST,
        "last_name": LAST,
        "line1": "7 rue des Quillardeau",
        "postal_code": "75011",
        "city": "Paris",
        "country": "FR",
        "phone": PHONE_NATIONAL,
    }
    checkout = web_api.post(
        f"/api/v1/carts/{token}/checkout/",
        {
            "payment_method": "pay_in_store",
            "contact_email": EMAIL,
            "contact_phone": PHONE_NATIONAL,
            "shipping_address": address,
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="checkout-zq-1",
    )
    assert checkout.status_code == 201, checkout.json()
    order = Order.objects.get(cart__token=token)
    assert order.reference == checkout.json()["reference"]

    # A payment link by SMS for part of it, sent by the worker's task.
    link, _token = payment_link_create(
        order=order, amount=Decimal("30.00"), phone=PHONE_NATIONAL, channel=shop.web
    )
    assert message_send_task(link.message_id) == "sent"

    # The rest in three instalments, reminders to the phone; the provider confirms the
    # first part with a webhook carrying the billing details.
    plan = instalment_plan_start(
        order=order,
        kind="3x",
        amount=Decimal("120.00"),
        token=simulated.TOKEN_OK,
        idempotency_key="plan-zq",
        phone=PHONE_NATIONAL,
        channel=shop.web,
    )
    payment = Payment.objects.get(pk=plan.payment_id)
    _webhook(manager_client, settings, reference=payment.provider_reference, amount="40.00")

    # Their profile: an address, a consent, a note naming them, a sign-in.
    address_add(customer=customer, first_name=FIRST, last_name=LAST, line1="7 rue A",
                postal_code="75011", city="Paris", phone=PHONE)  # fmt: skip
    consent_record(customer=customer, kind="sms_marketing", granted=True, source="web form")
    customer_note_add(customer=customer, body=f"{FIRST} {LAST} prefers {EMAIL}.")
    sent = login_code_send(channel=shop.web, email=EMAIL)
    login_code_exchange(channel=shop.web, email=EMAIL, code=sent.code)
    store_credit_add(customer=customer, amount=Decimal("12.00"), currency="EUR", reason="refund")

    # A duplicate made at the till, with a sign-in code of its own, merged into them.
    duplicate, _created = customer_identify(
        phone=DUP_PHONE, email=DUP_EMAIL, first_name=FIRST, last_name=LAST, verified=True
    )
    login_code_send(channel=shop.web, phone=DUP_PHONE)
    store_credit_add(customer=duplicate, amount=Decimal("8.00"), currency="EUR", reason="refund")
    customer_merge(survivor=customer, duplicate=duplicate, user=manager_client.user)

    for message in Message.objects.filter(status="queued"):
        message_send_task(message.pk)
    customer.refresh_from_db()
    return {
        "customer": customer,
        "duplicate": duplicate,
        "order": order,
        "plan": plan,
        "replay": lambda: web_api.post(
            f"/api/v1/carts/{token}/checkout/",
            {
                "payment_method": "pay_in_store",
                "contact_email": EMAIL,
                "contact_phone": PHONE_NATIONAL,
                "shipping_address": address,
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY="checkout-zq-1",
        ),
    }


def test_the_history_holds_personal_data_everywhere_before_erasure(history):
    tables = {table for table, _column, _value in personal_data_found()}

    # The search sees what the erasure must clear (else the test below proves nothing).
    assert {
        "customers_customer",
        "orders_order",
        "payments_paymentlink",
        "payments_instalmentplan",
        "payments_providerevent",
        "api_idempotencyrecord",
        "django_admin_log",
        "messaging_message",
    } <= tables, tables


def test_erasure_leaves_no_personal_data_in_any_table(history, manager_client):
    customer, order = history["customer"], history["order"]
    total_before = order.total_amount
    payments_before = list(
        Payment.objects.filter(order=order).order_by("id").values_list("amount", "status")
    )

    customer_erase(customer=customer, user=manager_client.user)

    found = personal_data_found()
    assert found == [], "\n".join(f"{table}.{column}: {value}" for table, column, value in found)
    # What accounting keeps is still there.
    order.refresh_from_db()
    assert order.customer_id == customer.pk
    assert order.total_amount == total_before
    assert (
        list(Payment.objects.filter(order=order).order_by("id").values_list("amount", "status"))
        == payments_before
    )
    assert PaymentLink.objects.filter(order=order).count() == 1
    assert InstalmentPlan.objects.filter(pk=history["plan"].pk).count() == 1
    assert ProviderEvent.objects.count() == 1
    assert IdempotencyRecord.objects.count() >= 1
    assert store_credit_balance(customer=customer, currency="EUR") == Decimal("20.00")
    # A late retry of the checkout is answered (the work is not done twice), without
    # the erased details.
    replay = history["replay"]()
    assert replay.status_code == 410
    assert replay.json()["error"]["code"] == "idempotent_answer_erased"
    assert Order.objects.count() == 1
