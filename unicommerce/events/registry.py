"""Who listens to which topic. Apps subscribe in their ``events.py``, imported by their
AppConfig.ready(), so a lower app never imports the one that reacts to it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from unicommerce.events.models import OutboxEvent

Handler = Callable[["OutboxEvent"], None]
Merge = Callable[[list[dict]], dict]
_handlers: dict[str, list[Handler]] = defaultdict(list)
_mergers: dict[str, Merge] = {}


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
