"""A message sent by a real Celery worker process over the real Redis broker."""

import pytest
from django.db import transaction

from tests.conftest import drain_worker, wait_until
from unicommerce.messaging.models import Message
from unicommerce.messaging.services import message_send

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_a_real_worker_sends_the_message_after_commit(celery_worker_process):
    with transaction.atomic():
        message = message_send(
            channel="sms",
            to="+33612345678",
            body="Your order R-1 is ready for pickup.",
            kind="order.ready_for_pickup",
            dedup_key="order.ready_for_pickup:R-1",
        )

    sent = wait_until(
        lambda: Message.objects.filter(pk=message.pk, status="sent").first(),
        what="the worker to send the message",
    )
    drain_worker()
    assert (sent.attempts, sent.provider_id) == (1, "locmem-1")  # the worker's own outbox
    assert "messaging.send" in celery_worker_process.output()
