"""The back-office list of messages: filters, search, and nothing editable."""

import pytest
from django.urls import reverse

from unicommerce.messaging.models import Message
from unicommerce.messaging.services import message_send


@pytest.fixture
def manager_client(client, django_user_model):
    manager = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-1")
    client.force_login(manager)
    return client


@pytest.fixture
def messages(db):
    ready = message_send(
        channel="sms",
        to="+33612345678",
        body="Ready",
        kind="order.ready_for_pickup",
        reference="R-1",
    )
    link = message_send(
        channel="email",
        to="anna@shop.fr",
        subject="Pay",
        body="Link",
        kind="payment.link",
        reference="R-2",
    )
    Message.objects.filter(pk=link.pk).update(status="failed", last_error="refused")
    return ready, link


def test_the_list_filters_and_searches(manager_client, messages):
    ready, link = messages
    url = reverse("admin:messaging_message_changelist")

    def listed(**query) -> set[int]:
        response = manager_client.get(url, query)
        assert response.status_code == 200
        return {message.pk for message in response.context["cl"].result_list}

    assert listed() == {ready.pk, link.pk}
    assert listed(channel__exact="sms") == {ready.pk}
    assert listed(status__exact="failed") == {link.pk}
    assert listed(kind__exact="payment.link") == {link.pk}
    assert listed(q="+33612345678") == {ready.pk}
    assert listed(q="R-2") == {link.pk}


def test_a_message_is_read_only(manager_client, messages):
    ready, _ = messages
    change_url = reverse("admin:messaging_message_change", args=[ready.pk])

    page = manager_client.get(change_url)
    post = manager_client.post(change_url, {"to": "+33700000000"})

    assert page.status_code == 200
    assert b'name="to"' not in page.content
    assert post.status_code == 403
    assert manager_client.get(reverse("admin:messaging_message_add")).status_code == 403
    delete = reverse("admin:messaging_message_delete", args=[ready.pk])
    assert manager_client.post(delete, {"post": "yes"}).status_code == 403
    ready.refresh_from_db()
    assert ready.to == "+33612345678"
