"""The permission matrix: every URL pattern × every principal, generated from the one
table (unicommerce/access/table.py).

A URL pattern (or a method of an API view, or a named POS action) without its line in
the table fails here; a line that names nothing fails too; and each operation is called
by each kind of caller with the credentials it really uses, and must be let in exactly
when the table says so (a refusal is 401/403 with the API's permission codes, or the
POS's log-in page; anything else — 200, 400, 404, 409… — is "let in")."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.views import APIView

from pos.web import payments as pos_payments
from pos.web import sale as pos_sale
from tests.access.conftest import PRINCIPALS, STAFF_ROLES
from unicommerce.access.drf import TablePermission, TableThrottle
from unicommerce.access.principals import ANONYMOUS
from unicommerce.access.roles import ROLE_PERMISSIONS
from unicommerce.access.table import TABLE, Rule

pytestmark = pytest.mark.django_db

REFUSAL_CODES = {"not_authenticated", "authentication_failed", "permission_denied"}
DUMMY = {
    "pk": 999999,
    "line_id": 999999,
    "link_id": 999999,
    "token": "unknown-token-0123456789abcdef",
    "reference": "UC99999999",
    "sku": "NO-SUCH-SKU",
    "gateway": "simulated",
    "code": "NO-SUCH-CODE",
    "path": "products/1/no-such-picture.jpg",
}


def _patterns(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = entry.namespace or ""
            if inner == "admin":
                continue
            yield from _patterns(entry, f"{namespace}{inner}:" if inner else namespace)
        elif isinstance(entry, URLPattern):
            yield (f"{namespace}{entry.name}" if entry.name else None), entry


def _view_class(callback):
    return getattr(callback, "cls", None) or getattr(callback, "view_class", None)


def test_every_url_pattern_method_and_pos_action_has_its_line_in_the_table():
    names_in_table = {operation.split(" ")[0] for operation in TABLE}
    missing, seen = [], set()
    for name, pattern in _patterns():
        if name is None:
            missing.append(str(pattern.pattern))
            continue
        seen.add(name)
        if name not in names_in_table:
            missing.append(name)
            continue
        view = _view_class(pattern.callback)
        if view is not None and issubclass(view, APIView):
            for method in ("get", "post", "put", "patch", "delete"):
                if hasattr(view, method) and f"{name} {method.upper()}" not in TABLE:
                    missing.append(f"{name} {method.upper()}")

    assert missing == [], "add these to unicommerce/access/table.py"
    assert names_in_table - seen == set(), "lines of the table naming no URL"
    for view_name, actions in [
        ("pos:sell", pos_sale.ACTIONS),
        ("pos:payment", pos_payments.ACTIONS),
    ]:
        in_table = {op.split(" ")[2] for op in TABLE if op.startswith(f"{view_name} POST ")}
        assert in_table == set(actions), view_name


def test_every_api_view_asks_the_table_and_counts_its_limits():
    for name, pattern in _patterns():
        view = _view_class(pattern.callback)
        if view is None or not issubclass(view, APIView):
            continue
        instance = view()
        assert [type(p) for p in instance.get_permissions()] == [TablePermission], name
        assert TableThrottle in [type(t) for t in instance.get_throttles()], name


def _role_perms(role: str) -> set[str] | None:
    codenames = ROLE_PERMISSIONS[role]
    return None if codenames is None else set(codenames)


def _expected(rule: Rule, principal: str, *, api: bool) -> bool:
    if principal in STAFF_ROLES:
        if rule.staff is None:
            return False
        perms = _role_perms(principal)
        return perms is None or set(rule.staff) <= perms
    if not api:
        # Keys and customer tokens are API credentials: on a page they are nobody.
        principal = ANONYMOUS
    return principal in rule.callers


def _url(view_name: str) -> str:
    for name, pattern in _patterns():
        if name == view_name:
            keys = pattern.pattern.converters.keys()
            return reverse(view_name, kwargs={key: DUMMY[key] for key in keys})
    raise AssertionError(view_name)


def _refused(response, *, api: bool) -> bool:
    if api:
        if response.status_code not in (401, 403):
            return False
        return response.json()["error"]["code"] in REFUSAL_CODES
    if response.status_code == 403:
        return True
    if response.status_code == 302 and "/pos/login/?next=" in response.get("Location", ""):
        return True
    return response.headers.get("HX-Refresh") == "true"


def _call(caller, method: str, url: str, action: str):
    api = url.startswith("/api/")
    client = caller.api if api else caller.web()
    data = {"action": action} if action else {}
    send = getattr(client, method.lower())
    if method == "GET":
        return send(url)
    if api:
        return send(url, data, format="json")
    return send(url, data)


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_each_caller_is_let_in_exactly_where_the_table_says(world, principal):
    caller = world.callers[principal]
    wrong = []
    # The log-outs last: they end the caller's session or token.
    ends = ("pos:logout", "customer-auth-logout")
    for operation in sorted(TABLE, key=lambda op: op.startswith(ends)):
        rule = TABLE[operation]
        view_name, method, *rest = operation.split(" ")
        url = _url(view_name)
        api = url.startswith("/api/")
        response = _call(caller, method, url, rest[0] if rest else "")
        expected = _expected(rule, principal, api=api)
        if _refused(response, api=api) == expected:
            wrong.append(
                f"{operation}: {'refused' if expected else 'let in'} ({response.status_code})"
            )
    assert wrong == []


def test_the_roles_name_only_permissions_that_exist():
    existing = {
        f"{app}.{code}"
        for app, code in Permission.objects.values_list("content_type__app_label", "codename")
    }
    for role, perms in ROLE_PERMISSIONS.items():
        assert set(perms or ()) <= existing, role
    for operation, rule in TABLE.items():
        assert set(rule.staff or ()) <= existing, operation
