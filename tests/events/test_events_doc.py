import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from django.conf import settings

from unicommerce.events.document import events_document

ROOT = Path(__file__).resolve().parents[2]


def test_docs_events_md_is_the_registry():
    # A fresh process: tests here subscribe handlers of their own to the registry.
    result = subprocess.run(
        [sys.executable, "manage.py", "events_doc", "--check"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, (
        "docs/events.md is out of date: run `python manage.py events_doc`\n" + result.stderr
    )


def test_the_document_lists_a_topic_its_payload_and_its_subscribers(monkeypatch):
    from unicommerce.events import registry

    monkeypatch.setattr(registry, "_topics", {})
    monkeypatch.setattr(registry, "_handlers", defaultdict(list))
    name = registry.topic(
        "parcel.lost",
        payload={"parcel_id": "the parcel"},
        doc="A carrier lost a parcel.",
        publisher="shipping.events",
    )

    @registry.subscribe(name)
    def on_parcel_lost(event):
        """Tell the customer.

        Not this paragraph."""

    @registry.subscribe("parcel.found")
    def on_parcel_found(event):
        """Say sorry."""

    text = events_document()

    assert (
        "| `parcel.lost` | A carrier lost a parcel. | `parcel_id`: the parcel | `shipping.events` |"
        in text
    )
    assert (
        f"| `parcel.lost` | `{__name__}.{on_parcel_lost.__qualname__}` | Tell the customer. |"
        in text
    )
    assert "declared by no app's `events.py`: `parcel.found`." in text
