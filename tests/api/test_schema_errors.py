"""The OpenAPI schema documents what the permission table answers before any view runs:
a 403 for a caller it does not let in, a 429 with Retry-After for an operation with rate
limits (unicommerce/api/schema.py reads the table), and what the parsers answer (415)."""

from __future__ import annotations

import re

import pytest
from django.urls import resolve

from unicommerce.access.principals import ANONYMOUS
from unicommerce.access.table import operation_of, rule_for

pytestmark = pytest.mark.django_db

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def operations(client) -> list[tuple[str, str, dict, object]]:
    """(path, method, responses, the table's rule) of every operation of the schema."""
    schema = client.get("/api/v1/schema/?format=json").json()
    found = []
    for path, items in schema["paths"].items():
        name = resolve(re.sub(r"\{[^}]+\}", "1", path)).view_name
        for method, operation in items.items():
            if method in METHODS:
                rule = rule_for(operation_of(name, method.upper()))
                found.append((path, method, operation, rule))
    assert len(found) > 70
    return found


def test_every_operation_of_the_schema_has_a_rule_in_the_table(operations):
    assert [(path, method) for path, method, _, rule in operations if rule is None] == []


def test_every_operation_with_rate_limits_documents_429_with_retry_after(operations):
    limited = [(path, method, op) for path, method, op, rule in operations if rule.limits]
    assert {(path, method) for path, method, _ in limited} >= {
        ("/api/v1/auth/code/", "post"),
        ("/api/v1/auth/token/", "post"),
        ("/api/v1/carts/", "post"),
        ("/api/v1/carts/{token}/identify/", "post"),
        ("/api/v1/payment-links/", "post"),
        ("/api/v1/payment-links/{link_id}/resend/", "post"),
    }
    for path, method, operation in limited:
        answer = operation["responses"].get("429")
        assert answer is not None, (path, method)
        assert answer["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }
        assert answer["headers"]["Retry-After"]["schema"]["type"] == "integer"


def test_a_429_a_view_documents_itself_gets_retry_after_too(operations):
    (contact_change,) = [
        op for path, method, op, _ in operations if path == "/api/v1/me/contact-change/"
    ]
    assert "Retry-After" in contact_change["responses"]["429"]["headers"]


def test_every_operation_not_open_to_anyone_documents_403(operations):
    for path, method, operation, rule in operations:
        if ANONYMOUS not in rule.callers:
            assert "403" in operation["responses"], (path, method)


def test_every_operation_with_a_body_documents_415(operations):
    with_body = [(path, method, op) for path, method, op, _ in operations if "requestBody" in op]
    assert len(with_body) > 30
    for path, method, operation in with_body:
        assert "415" in operation["responses"], (path, method)
