"""docs/events.md, written from the topics the apps declare (``topic(...)`` in their
``events.py``) and the handlers they subscribe, so that the document is the registry
(``manage.py events_doc``; a test fails when the committed file differs)."""

from __future__ import annotations

import importlib
import importlib.util

from unicommerce.events.registry import handlers_for, subscriptions, topics

INTRODUCTION = """\
# Events: who publishes, who subscribes

Written by `python manage.py events_doc` from the topics each app declares in its
`events.py` (`topic(...)`: name, payload, meaning) and the handlers it subscribes there
(`@subscribe(TOPIC)`). Do not edit by hand: change the declaration and run the command
(`--check` fails when this file is out of date).

An app publishes a topic with `event_publish(topic=..., payload=...)` inside the
transaction of the change; the outbox relays it after the commit and the worker runs
every handler of the topic (in the order below), retrying with a backoff when one fails.
A lower app never imports the apps that react to it: they subscribe to its topics.
"""


def events_modules_import(app_names) -> list[str]:
    """Import ``<app>.events`` of each app that has one (its subscriptions register on
    import); return the names of the modules found."""
    found = []
    for name in app_names:
        module = f"{name}.events"
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)
            found.append(module)
    return found


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _first_paragraph(handler) -> str:
    return _cell((handler.__doc__ or "").strip().split("\n\n")[0])


def _topics_table() -> list[str]:
    lines = [
        "## Topics",
        "",
        "| Topic | Meaning | Payload | Publisher |",
        "| --- | --- | --- | --- |",
    ]
    for declared in topics():
        payload = "<br>".join(
            f"`{field}`: {_cell(meaning)}" for field, meaning in declared.payload.items()
        )
        lines.append(
            f"| `{declared.name}` | {_cell(declared.doc)} | {payload} | `{declared.publisher}` |"
        )
    return lines


def _subscribers_table() -> list[str]:
    declared = {topic.name for topic in topics()}
    lines = [
        "## Subscribers",
        "",
        "| Topic | Handler | What it does |",
        "| --- | --- | --- |",
    ]
    for name in sorted(declared | set(subscriptions())):
        handlers = handlers_for(name)
        if not handlers:
            lines.append(f"| `{name}` | (none) | |")
        for handler in handlers:
            dotted = f"{handler.__module__}.{handler.__qualname__}"
            lines.append(f"| `{name}` | `{dotted}` | {_first_paragraph(handler)} |")
    undeclared = sorted(set(subscriptions()) - declared)
    if undeclared:
        names = ", ".join(f"`{name}`" for name in undeclared)
        lines += ["", f"Subscribed to but declared by no app's `events.py`: {names}."]
    return lines


def events_document() -> str:
    """The Markdown of docs/events.md for the topics and handlers registered now."""
    return "\n".join([INTRODUCTION, *_topics_table(), "", *_subscribers_table(), ""])
