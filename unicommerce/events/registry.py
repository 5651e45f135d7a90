"""The topics of the outbox and who listens to them: the one way an app says "this
happened" to the apps above it.

Each app declares the topics it publishes in its ``events.py`` with ``topic(...)`` (name,
payload shape, one line of meaning) and subscribes there with ``@subscribe(TOPIC)``; its
AppConfig.ready() imports that module, so a lower app never imports the one that reacts
to it. ``topics()`` and ``subscriptions()`` are what ``manage.py events_doc`` writes into
docs/events.md.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from unicommerce.events.models import OutboxEvent

Handler = Callable[["OutboxEvent"], None]
Merge = Callable[[list[dict]], dict]
_handlers: dict[str, list[Handler]] = defaultdict(list)
_mergers: dict[str, Merge] = {}


@dataclass(frozen=True)
class Topic:
    name: str
    publisher: str  # the declaring app's events module, e.g. "inventory.events"
    payload: dict[str, str]  # field -> what it holds
    doc: str


_topics: dict[str, Topic] = {}


def topic(name: str, *, payload: dict[str, str], doc: str, publisher: str = "") -> str:
    """Declare ``name`` as a topic published by the calling module's app; returns the
    name, for ``STOCK_CHANGED = topic("stock.changed", ...)``. Declaring a name twice
    from another module is a mistake and raises."""
    publisher = publisher or sys._getframe(1).f_globals.get("__name__", "")
    known = _topics.get(name)
    if known is not None and known.publisher != publisher:
        raise ValueError(f"topic {name!r} is already declared by {known.publisher}")
    _topics[name] = Topic(name=name, publisher=publisher, payload=dict(payload), doc=doc)
    return name


def topics() -> list[Topic]:
    """Every declared topic, by name."""
    return [_topics[name] for name in sorted(_topics)]


def subscriptions() -> dict[str, list[str]]:
    """Topic -> the dotted names of its handlers, in subscription order."""
    return {
        name: [f"{h.__module__}.{h.__qualname__}" for h in handlers]
        for name, handlers in sorted(_handlers.items())
        if handlers
    }


def subscribe(topic: str) -> Callable[[Handler], Handler]:
    def decorator(handler: Handler) -> Handler:
        if handler not in _handlers[topic]:
            _handlers[topic].append(handler)
        return handler

    return decorator


def handlers_for(topic: str) -> list[Handler]:
    return list(_handlers.get(topic, ()))


def mergeable(topic: str, merge: Merge) -> None:
    """Declare that the handlers of ``topic`` give the same result run once on
    ``merge(payloads)`` as run on each event (say, "these variants changed"): the
    consumer then handles a batch of such events in one transaction."""
    _mergers[topic] = merge


def merger_for(topic: str) -> Merge | None:
    return _mergers.get(topic)
