"""Extension points for apps above customers (orders, payments, loyalty), which customers
must not import: they register here, from their ``AppConfig.ready``.

- ``export_section(name)``: a function ``(customer) -> JSON-able`` whose result becomes
  ``customer_export(customer)[name]`` (the GDPR export).
- ``customer_panel(title, order)``: a panel of the customer's 360° page in the admin, a
  function ``(customer) -> (template_name, context) | None`` (None: nothing to show).
  Panels are shown by ascending ``order``.
- ``merge_rows_stay(model)``: rows of ``model`` pointing at a merged-away customer stay
  with that customer instead of following the survivor (an append-only ledger, which
  cannot be rewritten: its app moves the balance by compensating entries from its
  ``customer_merging`` receiver).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ExportFunction = Callable[[Any], Any]
# ``func(customer, viewer)``: ``viewer`` is the member of staff looking (what they see of
# other apps' records is limited to their stores).
PanelFunction = Callable[[Any, Any], tuple[str, dict] | None]

_export_sections: dict[str, ExportFunction] = {}
_panels: dict[str, Panel] = {}
_merge_rows_stay: dict[str, Any] = {}


@dataclass(frozen=True)
class Panel:
    key: str
    title: Any  # a lazy translation
    order: int
    function: PanelFunction


def export_section(name: str) -> Callable[[ExportFunction], ExportFunction]:
    """Register ``func(customer)`` as the ``name`` section of the GDPR export. Registering
    the same name again replaces it (a reloaded module)."""

    def register(func: ExportFunction) -> ExportFunction:
        _export_sections[name] = func
        return func

    return register


def export_sections() -> dict[str, ExportFunction]:
    return dict(_export_sections)


def customer_panel(title: Any, order: int = 100) -> Callable[[PanelFunction], PanelFunction]:
    """Register ``func(customer, viewer) -> (template, context) | None`` as a 360° panel."""

    def register(func: PanelFunction) -> PanelFunction:
        key = f"{func.__module__}.{func.__qualname__}"
        _panels[key] = Panel(key=key, title=title, order=order, function=func)
        return func

    return register


def customer_panels() -> list[Panel]:
    return sorted(_panels.values(), key=lambda panel: (panel.order, panel.key))


def merge_rows_stay(model: Any) -> Any:
    """Leave ``model``'s rows with the duplicate when customers are merged (usable as a
    class decorator or called with the model)."""
    _merge_rows_stay[model._meta.label] = model
    return model


def merge_rows_staying() -> list[Any]:
    return list(_merge_rows_stay.values())
