"""The locmem backend's outbox emptied, and this test run's ``messaging`` Celery queue
read straight from Redis (the real broker), so tests see what was really enqueued."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import pytest
import redis
from django.conf import settings

from unicommerce.messaging import backends

QUEUE = "messaging"


@dataclass(frozen=True)
class QueuedTask:
    name: str
    args: list
    eta: str | None


def _broker() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def queued_tasks() -> list[QueuedTask]:
    """The tasks waiting in the ``messaging`` queue, oldest first."""
    tasks = []
    for raw in reversed(_broker().lrange(QUEUE, 0, -1)):  # kombu LPUSHes, workers BRPOP
        envelope = json.loads(raw)
        body = json.loads(base64.b64decode(envelope["body"]))
        headers = envelope["headers"]
        tasks.append(QueuedTask(headers["task"], body[0], headers.get("eta")))
    return tasks


@pytest.fixture(autouse=True)
def _clean_outbox_and_queue():
    backends.locmem_reset()
    _broker().delete(QUEUE)
    yield
    backends.locmem_reset()
    _broker().delete(QUEUE)
