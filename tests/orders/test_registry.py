"""Orders' strategies are registered from OrdersConfig.ready() (orders.registry), never
when a module is imported."""

import ast
from pathlib import Path

from django.test import override_settings

from orders import payment_methods
from orders.conf import orchestration_strategy
from orders.orchestration import orchestration_strategy_get, strategy_default
from orders.registry import orders_strategies_register

ORDERS = Path(__file__).resolve().parents[2] / "orders"


def test_orders_own_strategies_are_registered_at_start_up():
    methods = payment_methods.payment_methods_by_code()
    assert str(methods["pay_in_store"].label) == "Pay in store"
    assert str(methods["pay_later"].label) == "Pay later"
    assert methods["pay_later"].handoff is payment_methods.payment_awaiting_handoff
    assert orchestration_strategy_get("orders.orchestration.strategy_default") is strategy_default
    assert orchestration_strategy() is strategy_default


def test_registering_again_changes_nothing(monkeypatch):
    monkeypatch.setattr("orders.payment_methods._REGISTRY", dict(payment_methods._REGISTRY))
    before = payment_methods.payment_methods_by_code()
    orders_strategies_register()
    assert payment_methods.payment_methods_by_code() == before


@override_settings(ORDER_ORCHESTRATION_STRATEGY="orders.orchestration.strategy_default")
def test_a_strategy_nobody_registered_is_found_by_its_dotted_path(monkeypatch):
    monkeypatch.setattr("orders.orchestration._STRATEGIES", {})
    assert orchestration_strategy() is strategy_default


def test_no_module_of_orders_registers_at_import_time():
    registering = []
    for path in ORDERS.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.parse(path.read_text()).body:
            call = node.value if isinstance(node, ast.Expr) else None
            if isinstance(call, ast.Call):
                name = getattr(call.func, "id", getattr(call.func, "attr", ""))
                if name.endswith(("_register", "subscribe", "connect")):
                    registering.append(f"{path.relative_to(ORDERS.parent)}:{node.lineno}")
    assert registering == []
