"""docs/permissions.md, written from the permission table and the staff roles, so that
the document is the table (``manage.py permissions_doc``; a test fails when the
committed file differs from what the table says)."""

from __future__ import annotations

from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

from unicommerce.access.principals import ANONYMOUS, CUSTOMER, INTEGRATION, STOREFRONT
from unicommerce.access.roles import (
    GROUP_NAMES,
    HEAD_OFFICE,
    ROLE_PERMISSIONS,
    SELLER,
    STORE_MANAGER,
    WAREHOUSE,
)
from unicommerce.access.table import TABLE, Rule

COLUMNS = [
    (ANONYMOUS, "anonymous"),
    (STOREFRONT, "publishable key"),
    (INTEGRATION, "secret key"),
    (CUSTOMER, "customer"),
    (SELLER, "seller"),
    (STORE_MANAGER, "store manager"),
    (WAREHOUSE, "warehouse"),
    (HEAD_OFFICE, "head office"),
]
SCOPES = {
    "": "",
    "channel": "own channel",
    "own": "own account",
    "store": "their stores",
    "token": "token holder",
}

INTRODUCTION = """\
# Who may call what

This file is written by `python manage.py permissions_doc` from the one permission table
(`unicommerce/access/table.py`) and the staff roles (`unicommerce/access/roles.py`); a
test fails when it differs from them. Every API view and every POS action asks that
table; an operation missing from it is refused to everyone.

## The callers

| caller | how it calls | what it is for |
| --- | --- | --- |
| anonymous | nothing | the pay page (by its token), provider webhooks (signed), log-in pages, health, the API schema |
| publishable key | `Authorization: Bearer uck_pk_…` | a channel's storefront in a browser or an app — anyone can read it: catalogue, carts, checkout with the methods a customer chooses, customer sign-in |
| secret key | `Authorization: Bearer uck_sk_…` | the channel's own back end, server to server: the above, plus reservations, the stock feed, webhooks, orders and payments of its channel |
| customer | `Authorization: Customer <token>` | a signed-in customer: their own account, carts and orders |
| staff | a session (admin, POS) or their own API key | by role (below), for the locations they are staff of (`Location.staff`); head office everywhere |

A channel's keys are created in the admin (*API keys*, choose the kind); only a hash is
kept. A staff member's key acts as that person, with their permissions and stores.

## Staff roles

Each role is a group of Django permissions (`python manage.py roles_sync` creates them;
the demo data does too). What a member of staff sees and does is further limited to the
stores and warehouses they are staff of, unless they hold `inventory.all_locations`
(head office): orders sold at or fulfilled from those locations, returns received there,
their payments, payment links and carts, their stock, transfers, counts and purchase
orders — in the POS, the staff API and the admin alike. Another store's order answers
*404* (as if it did not exist); acting at a location one does not work at answers *403
`location_not_yours`*.

| role | group | permissions |
| --- | --- | --- |
"""

RULES = """
## Rules that depend on what is asked

- **Identity.** Details typed on a storefront (a key) never change an existing customer
  and never merge into or reveal their carts: identify only attaches the cart, for a store
  to find it, and answers the same whether or not the customer existed. The customer's
  own token, or a seller at the till, identifies *verified*: the cart merges into the
  customer's open cart. A new e-mail or phone on `/me` takes a code sent to it
  (`/api/v1/me/contact-change/`, then `…/confirm/`).
- **In person only in person.** A till (`till_location`), lines taken now, and cash are
  for the staff of that store (`pos.sell`, staff of the location): anyone else gets *403
  `in_person_only`* naming the reason. Through the API, cash and card-terminal payments
  and refunds in cash, on the terminal or to store credit are for staff of the order's
  store only. A payment link (an SMS) is not a method a publishable key or a customer
  may choose.
- **Gift cards.** A card's code is its holder's secret: each lookup (the balance at
  `/api/v1/gift-cards/balance/`, paying with `method=gift_card`) counts against
  `gift_card_lookup_per_caller` and each failed one against
  `gift_card_lookup_failed_per_caller` (by address for a browser's callers, else by key
  or person), and every failed lookup answers the same *404 `gift_card_invalid`*. In the
  admin, `loyalty.view_giftcard` shows cards and their ledger, `loyalty.change_giftcard`
  blocks, unblocks and adjusts (with a reason), `loyalty.add_giftcard` issues physical
  cards (their codes downloaded once): head office only.
- **Reservations.** A channel's key must send `expires_in`: at most
  `RESERVATION_MAX_SECONDS` (publishable: {storefront_seconds} s; secret:
  {integration_seconds} s), and a publishable key at most
  {storefront_quantity} units at a time. Selling a reservation takes the secret key.
- **Unpaid orders** give their stock back after `ORDER_UNPAID_EXPIRY_MINUTES` by payment
  method ({expiry}), cancelled with a timeline entry and the customer told, unless a
  payment is under way, part was paid, or goods were handed over.
- **Promotions and vouchers (admin).** *Promotions* (`/admin/loyalty/promotion/`) take
  `loyalty.view_promotion`, `loyalty.add_promotion`, `loyalty.change_promotion`; the
  preview page (`…/<id>/preview/`) takes viewing; generating codes (`…/<id>/codes/generate/`
  and the list's action) takes `loyalty.change_promotion` and `loyalty.add_vouchercode`;
  exporting codes as CSV takes `loyalty.view_vouchercode`. *Voucher codes* take the
  `loyalty.*_vouchercode` permissions (their counters are read-only); *voucher uses* are
  read-only (`loyalty.view_voucherredemption`). Of the roles, only head office holds them.
  A voucher code typed or scanned counts its failures per caller
  (`voucher_attempt_per_caller`): over the limit every lookup answers *429*.

## Abuse limits

Counted on Redis by the `limits` library (atomic sliding windows); each answers *429
`rate_limited`* with `Retry-After` (an inline message in the POS). Every one is a
setting, `RATE_LIMIT_<NAME>` ("" turns it off). Per-address limits count the callers
that may be anyone's browser (anonymous, publishable keys, customers), by the client's
address (`TRUSTED_PROXY_COUNT` proxies trusted in `X-Forwarded-For`).

| limit | default |
| --- | --- |
{limits}

SMS go only to numbers of `SMS_ALLOWED_REGIONS` ({regions}). Failed log-ins to the admin
and the POS: {failures} in a row for one username from one address lock them out for
{cooloff} minutes (django-axes, counted in the Redis cache).

## Every operation

✓ allowed, — refused (401 without credentials, else 403). "Scope" says what the caller
then reaches; "limits" the rate limits counted before the view runs.

"""


def _routes() -> dict[str, str]:
    routes: dict[str, str] = {}

    def walk(resolver, prefix: str, namespace: str) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                if entry.namespace == "admin":
                    continue
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern) and entry.name:
                route = prefix + str(entry.pattern)
                routes[f"{namespace}{entry.name}"] = "/" + route.replace("^.*$", "…")

    walk(get_resolver(), "", "")
    return routes


def _allows(rule: Rule, principal: str) -> bool:
    if principal in ROLE_PERMISSIONS:
        if rule.staff is None:
            return False
        perms = ROLE_PERMISSIONS[principal]
        return perms is None or set(rule.staff) <= set(perms)
    return principal in rule.callers


def _limits(rule: Rule) -> str:
    return ", ".join(f"`{limit.name}_per_{per}`" for limit in rule.limits for per in limit.per)


def permissions_document() -> str:
    routes = _routes()
    lines = [INTRODUCTION.rstrip("\n")]
    for role, name in GROUP_NAMES.items():
        perms = ROLE_PERMISSIONS[role]
        listed = "every permission" if perms is None else ", ".join(f"`{p}`" for p in perms)
        lines.append(f"| {role.replace('_', ' ')} | {name} | {listed} |")
    expiry = ", ".join(
        f"{method} {minutes} min"
        for method, minutes in settings.ORDER_UNPAID_EXPIRY_MINUTES.items()
    )
    rules = RULES.format(
        storefront_seconds=settings.RESERVATION_MAX_SECONDS["storefront"],
        integration_seconds=settings.RESERVATION_MAX_SECONDS["integration"],
        storefront_quantity=settings.RESERVATION_STOREFRONT_MAX_QUANTITY,
        expiry=expiry,
        limits="\n".join(
            f"| `{name}` | {rate or 'off'} |" for name, rate in settings.RATE_LIMITS.items()
        ),
        regions=", ".join(settings.SMS_ALLOWED_REGIONS),
        failures=settings.AXES_FAILURE_LIMIT,
        cooloff=int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    )
    lines.append(rules.rstrip("\n"))
    lines.append("")
    header = ["operation", "path"] + [title for _, title in COLUMNS]
    lines.append("| " + " | ".join([*header, "scope", "limits", "staff need", "note"]) + " |")
    lines.append("|" + " --- |" * (len(header) + 4))
    for operation in sorted(TABLE, key=lambda op: (routes.get(op.split(" ")[0], ""), op)):
        rule = TABLE[operation]
        name, method, *action = operation.split(" ")
        path = routes.get(name, "?")
        what = f"{method} `{path}`" + (f" action `{action[0]}`" if action else "")
        marks = ["✓" if _allows(rule, principal) else "—" for principal, _ in COLUMNS]
        needs = ", ".join(f"`{p}`" for p in rule.staff or ()) if rule.staff else ""
        cells = [f"`{name}`", what, *marks, SCOPES[rule.scope], _limits(rule), needs, rule.note]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
