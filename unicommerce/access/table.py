"""THE permission table: every operation of the REST API, the POS and the public pages,
who may call it, in which scope, and which abuse limits it counts against.

An operation is ``"<url name> <METHOD>"`` (``"api-cart-checkout POST"``), and for the
POS's named actions ``"<url name> POST <action>"`` (``"pos:sell POST complete"``). A
request for an operation missing here is refused (403), whoever asks: adding a view means
adding its line, and ``tests/access/test_matrix.py`` fails for a URL pattern without one.

Reading a rule:
- ``callers``: the principals allowed besides staff (``principals.py``);
- ``staff``: ``None`` when staff may not call it, else the Django permissions they need
  (all of them; ``()`` = any member of staff);
- ``scope``: what the caller sees and acts on, enforced by the view through the scoped
  selectors (``orders.selectors``, ``inventory.selectors.staff_location_ids``) and the
  services — ``channel``: a channel key, its own channel's objects; ``own``: a customer,
  their own; ``store``: staff, the locations they are staff of (head office: all);
  ``token``: whoever holds the object's unguessable token;
- ``limits``: rate limits counted before the view runs (``settings.RATE_LIMITS``
  ``<name>_per_ip`` by client address, for callers that may be a browser;
  ``<name>_per_key`` by API key), each answering 429 with Retry-After when used up.
  Limits on what a service does (SMS per number, code attempts per contact) are counted
  by the service, whatever face calls it.
- In-person rules (cash, card terminal, a till's stock, store-credit refunds) depend on
  the request's content, so the services enforce them: ``InPersonOnly`` (403).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from unicommerce.access.perms import staff_has_perms
from unicommerce.access.principals import (
    ANONYMOUS,
    CUSTOMER,
    INTEGRATION,
    STAFF,
    STOREFRONT,
    principal_of,
)


@dataclass(frozen=True)
class Limit:
    """Rate limit ``<name>_per_ip`` and/or ``<name>_per_key`` (settings.RATE_LIMITS)."""

    name: str
    per: tuple[str, ...] = ("ip", "key")


@dataclass(frozen=True)
class Rule:
    callers: frozenset[str] = field(default_factory=frozenset)
    staff: tuple[str, ...] | None = None
    scope: str = ""
    limits: tuple[Limit, ...] = ()
    note: str = ""

    def principals(self) -> frozenset[str]:
        return self.callers | ({STAFF} if self.staff is not None else frozenset())

    def allows(self, user) -> bool:
        principal = principal_of(user)
        if principal == STAFF:
            return self.staff is not None and staff_has_perms(user, self.staff)
        return principal in self.callers


def rule(*callers: str, staff: tuple[str, ...] | str | None = None, **kwargs) -> Rule:
    if isinstance(staff, str):
        staff = (staff,)
    return Rule(callers=frozenset(callers), staff=staff, **kwargs)


EVERYONE = (ANONYMOUS, STOREFRONT, INTEGRATION, CUSTOMER)
KEYS = (STOREFRONT, INTEGRATION)
ANY_STAFF: tuple[str, ...] = ()

# The POS: staff at a register of their store (``pos.sell``). Its actions all need it;
# some need more.
SELL = "pos.sell"


def _pos(*perms: str, **kwargs) -> Rule:
    return rule(staff=(SELL, *perms), scope=kwargs.pop("scope", "store"), **kwargs)


SELL_ACTIONS = (
    "scan",
    "add",
    "quantity",
    "change",
    "complete",
    "pay_card",
    "pay_split",
    "pay_link",
    "new",
    "find",
    "open",
    "identify",
    "release",
    "fulfilment",
    "address",
    "edit_address",
    "unbooked",
    "discount",
    "voucher_remove",
    "gift_card_forget",
    "discount_remove",
    "pay_tenders",
    "card_code",
    "card_codes_clear",
    "park",
    "recall",
    "void",
)
PAYMENT_ACTIONS = (
    "cash",
    "change",
    "card",
    "points",
    "gift_card",
    "store_credit",
    "link",
    "resend",
    "cancel",
)

TABLE: dict[str, Rule] = {
    # --- public pages ---------------------------------------------------------------
    "healthz GET": rule(*EVERYONE, staff=ANY_STAFF, note="details for staff only"),
    "home GET": rule(*EVERYONE, staff=ANY_STAFF),
    "favicon GET": rule(*EVERYONE, staff=ANY_STAFF),
    "set_language POST": rule(*EVERYONE, staff=ANY_STAFF),
    "media GET": rule(*EVERYONE, staff=ANY_STAFF, note="product images; when SERVE_MEDIA is on"),
    "pay:page GET": rule(*EVERYONE, staff=ANY_STAFF, scope="token"),
    "pay:page POST": rule(*EVERYONE, staff=ANY_STAFF, scope="token"),
    "pay:status GET": rule(*EVERYONE, staff=ANY_STAFF, scope="token"),
    "payments:provider-webhook POST": rule(
        *EVERYONE, staff=ANY_STAFF, note="signed by the provider"
    ),
    "payments:provider-webhook GET": rule(*EVERYONE, staff=ANY_STAFF, note="405: POST only"),
    "api-not-found GET": rule(*EVERYONE, staff=ANY_STAFF),
    "api-not-found POST": rule(*EVERYONE, staff=ANY_STAFF),
    "api-not-found PUT": rule(*EVERYONE, staff=ANY_STAFF),
    "api-not-found PATCH": rule(*EVERYONE, staff=ANY_STAFF),
    "api-not-found DELETE": rule(*EVERYONE, staff=ANY_STAFF),
    "schema GET": rule(*EVERYONE, staff=ANY_STAFF),
    "swagger-ui GET": rule(*EVERYONE, staff=ANY_STAFF),
    # --- catalogue and stock --------------------------------------------------------
    "product-list GET": rule(*KEYS, staff="catalog.view_product", scope="channel"),
    "product-detail GET": rule(*KEYS, staff="catalog.view_product", scope="channel"),
    "product-images POST": rule(staff="catalog.add_productimage", note="multipart upload"),
    "variant-stores GET": rule(*KEYS, staff="catalog.view_product", scope="channel"),
    "stock-receipt POST": rule(staff="inventory.add_stockmovement", scope="store"),
    "stock-adjustment POST": rule(staff="inventory.add_stockmovement", scope="store"),
    "stock-levels GET": rule(staff="inventory.view_stocklevel"),
    "stock-changes GET": rule(INTEGRATION, staff="inventory.view_channelstock", scope="channel"),
    "reservation-create POST": rule(
        *KEYS,
        staff="inventory.add_reservation",
        scope="channel",
        note="storefront keys: bounded expiry and quantity",
    ),
    "reservation GET": rule(*KEYS, staff="inventory.view_reservation", scope="channel"),
    "reservation-release POST": rule(*KEYS, staff="inventory.change_reservation", scope="channel"),
    "reservation-convert POST": rule(
        INTEGRATION,
        staff="inventory.change_reservation",
        scope="channel",
        note="selling the units: never from a browser",
    ),
    "transfer-list GET": rule(staff="inventory.change_transfer", scope="store"),
    "transfer-list POST": rule(staff="inventory.change_transfer", scope="store"),
    "transfer-detail GET": rule(staff="inventory.change_transfer", scope="store"),
    **{
        f"transfer-{step} POST": rule(staff="inventory.change_transfer", scope="store")
        for step in ("ship", "receive", "close", "cancel")
    },
    # --- customers' accounts --------------------------------------------------------
    "customer-auth-code POST": rule(
        *KEYS,
        limits=(Limit("login_code_request", per=("ip",)),),
        note="also per contact and overall, by the service",
    ),
    "customer-auth-token POST": rule(
        *KEYS,
        limits=(Limit("login_code_attempt", per=("ip",)),),
        note="also per code, per contact and overall, by the service",
    ),
    "customer-auth-logout POST": rule(CUSTOMER, scope="own"),
    "customer-me GET": rule(CUSTOMER, scope="own"),
    "api-my-balances GET": rule(CUSTOMER, scope="own", note="points, store credit, gift cards"),
    "customer-me PATCH": rule(CUSTOMER, scope="own", note="not e-mail or phone: see below"),
    "customer-contact-change POST": rule(
        CUSTOMER, scope="own", note="a code to the new contact; per customer limit"
    ),
    "customer-contact-confirm POST": rule(CUSTOMER, scope="own"),
    "customer-addresses GET": rule(CUSTOMER, scope="own"),
    "customer-addresses POST": rule(CUSTOMER, scope="own"),
    "customer-address PATCH": rule(CUSTOMER, scope="own"),
    "customer-address DELETE": rule(CUSTOMER, scope="own"),
    "customer-consents GET": rule(CUSTOMER, scope="own"),
    "customer-consents POST": rule(CUSTOMER, scope="own"),
    # --- carts and checkout ---------------------------------------------------------
    "api-cart-create POST": rule(
        *KEYS, CUSTOMER, staff="orders.change_cart", limits=(Limit("cart_create"),)
    ),
    "api-cart GET": rule(*KEYS, CUSTOMER, staff="orders.change_cart", scope="token"),
    "api-cart-lines POST": rule(*KEYS, CUSTOMER, staff="orders.change_cart", scope="token"),
    "api-cart-line PATCH": rule(*KEYS, CUSTOMER, staff="orders.change_cart", scope="token"),
    "api-cart-line DELETE": rule(*KEYS, CUSTOMER, staff="orders.change_cart", scope="token"),
    "api-cart-vouchers POST": rule(
        *KEYS,
        CUSTOMER,
        staff="orders.change_cart",
        scope="token",
        note="failed codes count per caller (storefront: per address): voucher_attempt_per_caller",
    ),
    "api-cart-voucher DELETE": rule(*KEYS, CUSTOMER, staff="orders.change_cart", scope="token"),
    "api-cart-identify POST": rule(
        *KEYS,
        CUSTOMER,
        staff="orders.change_cart",
        scope="token",
        limits=(Limit("cart_identify"),),
        note="unverified details never change or reveal an existing customer",
    ),
    "api-cart-checkout POST": rule(
        *KEYS,
        CUSTOMER,
        staff="orders.change_cart",
        scope="token",
        note="till, taken-now lines and in-person methods: staff at that store only",
    ),
    # --- orders ---------------------------------------------------------------------
    "api-order GET": rule(INTEGRATION, CUSTOMER, staff="orders.view_order", scope="store"),
    "api-my-orders GET": rule(CUSTOMER, scope="own"),
    "staff-order-list GET": rule(staff="orders.view_order", scope="store"),
    "staff-order GET": rule(staff="orders.view_order", scope="store"),
    "staff-order-cancel POST": rule(staff="orders.change_order", scope="store"),
    **{
        f"staff-shipment-{step} POST": rule(staff="orders.change_order", scope="store")
        for step in ("pick", "pack", "ship", "ready", "collect")
    },
    "staff-order-line-quantity POST": rule(staff="orders.change_order", scope="store"),
    "staff-order-line-relocate POST": rule(staff="orders.change_order", scope="store"),
    "staff-returns GET": rule(staff="orders.view_return", scope="store"),
    "staff-returns POST": rule(
        staff="orders.add_return", scope="store", note="received at one of their stores"
    ),
    # --- payments -------------------------------------------------------------------
    "api-order-payments GET": rule(
        INTEGRATION, CUSTOMER, staff="payments.view_payment", scope="store"
    ),
    "api-order-payments POST": rule(
        *KEYS,
        CUSTOMER,
        staff="payments.add_payment",
        scope="store",
        note="cash and card terminal: staff of the order's store only",
    ),
    "api-order-instalment-plans POST": rule(
        *KEYS, CUSTOMER, staff="payments.add_payment", scope="store"
    ),
    "api-payment-capture POST": rule(INTEGRATION, staff="payments.change_payment", scope="store"),
    "api-payment-void POST": rule(INTEGRATION, staff="payments.change_payment", scope="store"),
    "api-payment-refunds POST": rule(
        INTEGRATION,
        staff="payments.change_payment",
        scope="store",
        note="to another method (cash, terminal, store credit): staff only",
    ),
    "api-return-settle POST": rule(staff="payments.add_payment", scope="store"),
    "api-instalment-offers GET": rule(*KEYS, CUSTOMER, staff="payments.view_payment"),
    "api-gift-card-balance POST": rule(
        *KEYS,
        CUSTOMER,
        staff="payments.view_payment",
        note="the code's holder; lookups limited per caller by the service "
        "(gift_card_lookup_per_caller, gift_card_lookup_failed_per_caller)",
    ),
    "api-payment-links POST": rule(
        INTEGRATION,
        staff="payments.add_paymentlink",
        scope="store",
        limits=(Limit("payment_link_send", per=("caller",)),),
        note="sends an SMS; per number and per channel limits in the service",
    ),
    "api-payment-link GET": rule(INTEGRATION, staff="payments.view_paymentlink", scope="store"),
    "api-payment-link-resend POST": rule(
        INTEGRATION,
        staff="payments.add_paymentlink",
        scope="store",
        limits=(Limit("payment_link_send", per=("caller",)),),
        note="also per link, by the service",
    ),
    "api-payment-link-cancel POST": rule(
        INTEGRATION, staff="payments.add_paymentlink", scope="store"
    ),
    # --- the channel's webhooks ------------------------------------------------------
    "webhook-endpoint-list GET": rule(
        INTEGRATION, staff="webhooks.view_webhookendpoint", scope="channel"
    ),
    "webhook-endpoint-list POST": rule(
        INTEGRATION, staff="webhooks.change_webhookendpoint", scope="channel"
    ),
    "webhook-endpoint GET": rule(
        INTEGRATION, staff="webhooks.view_webhookendpoint", scope="channel"
    ),
    "webhook-endpoint PATCH": rule(
        INTEGRATION, staff="webhooks.change_webhookendpoint", scope="channel"
    ),
    "webhook-endpoint DELETE": rule(
        INTEGRATION, staff="webhooks.delete_webhookendpoint", scope="channel"
    ),
    **{
        f"webhook-endpoint-{action} POST": rule(
            INTEGRATION, staff="webhooks.change_webhookendpoint", scope="channel"
        )
        for action in ("rotate-secret", "enable", "disable")
    },
    "webhook-endpoint-deliveries GET": rule(
        INTEGRATION, staff="webhooks.view_webhookdelivery", scope="channel"
    ),
    "webhook-delivery-redeliver POST": rule(
        INTEGRATION, staff="webhooks.change_webhookdelivery", scope="channel"
    ),
    "webhook-event-types GET": rule(INTEGRATION, staff=ANY_STAFF),
    # --- the POS (sessions of staff at a register) ------------------------------------
    "pos:login GET": rule(*EVERYONE, staff=ANY_STAFF, note="failed log-ins locked out"),
    "pos:login POST": rule(*EVERYONE, staff=ANY_STAFF, note="failed log-ins locked out"),
    "pos:logout POST": rule(*EVERYONE, staff=ANY_STAFF),
    "pos:home GET": _pos(),
    "pos:home POST": _pos(note="one of the registers of their stores"),
    "pos:sell GET": _pos(),
    **{f"pos:sell POST {action}": _pos() for action in SELL_ACTIONS if action != "pay_link"},
    "pos:sell POST pay_link": _pos(limits=(Limit("payment_link_send", per=("caller",)),)),
    "pos:sell POST unbooked": _pos(
        note="sold though not in the books, per the store's policy; a manager's password "
        "typed on the till is locked out like log-ins and limited per seller "
        "(manager_approval_per_caller)"
    ),
    "pos:sell POST discount": _pos(
        note="above the seller's cap, a manager's password typed on the till "
        "(orders.approve_discount; locked out like log-ins, manager_approval_per_caller)"
    ),
    "pos:returns GET": _pos("orders.add_return"),
    "pos:returns POST": _pos("orders.add_return", note="received at this register's store"),
    "pos:returns POST settle": _pos(
        "orders.add_return", "payments.add_payment", note="returns received at this store"
    ),
    "pos:unpaid GET": _pos(note="orders of this register's store not paid in full"),
    "pos:register GET": _pos(note="this register's session"),
    "pos:register POST open": _pos(note="this register"),
    "pos:register POST move": _pos(
        note="this register's open session; above POS_CASH_MOVE_APPROVAL_ABOVE a manager of "
        "the store with pos.approve_cash types their password (manager_approval_per_caller)"
    ),
    "pos:register POST close_start": _pos(note="this register's open session"),
    "pos:register POST close": _pos(
        note="this register's session; above the tolerance a manager with pos.approve_cash "
        "approves (manager_approval_per_caller)"
    ),
    "pos:receipt GET": _pos(note="orders of this register's store"),
    "pos:receipt POST print": _pos(note="orders of this register's store; each print logged"),
    "pos:receipt POST send": _pos(
        note="orders of this register's store; an SMS counts against sms_per_number and "
        "sms_per_channel"
    ),
    "pos:receipt POST pdf": _pos(note="orders of this register's store; logged as a print"),
    "pos:receipt POST cancel": _pos(
        "orders.add_return",
        "payments.add_payment",
        note="paid sales of this register's store, in an open session; a manager of the "
        "store with pos.approve_cash types their password (manager_approval_per_caller); "
        "a credit note, refunded to the original tenders",
    ),
    "pos:invoice GET": _pos(note="sales of this register's store"),
    "pos:invoice POST": _pos(
        note="paid sales of this register's store: issue (one per sale), print or PDF "
        "(each logged as a print)"
    ),
    "pos:counter GET": _pos(
        "orders.change_order", note="click & collect and ship-from-store of this store"
    ),
    **{
        f"pos:counter POST {step}": _pos(
            "orders.change_order",
            note="shipments of this register's store"
            + (
                "; wrong pickup codes counted per shipment (pickup_code_attempt_per_shipment)"
                if step == "collect"
                else ""
            ),
        )
        for step in ("pick", "ready", "collect", "ship")
    },
    "pos:payment GET": _pos(note="orders of this register's store"),
    **{
        f"pos:payment POST {action}": _pos(note="orders of this register's store")
        for action in PAYMENT_ACTIONS
        if action not in ("link", "resend")
    },
    "pos:payment POST link": _pos(limits=(Limit("payment_link_send", per=("caller",)),)),
    "pos:payment POST resend": _pos(limits=(Limit("payment_link_send", per=("caller",)),)),
}


def operation_of(url_name: str, method: str, action: str = "") -> str:
    method = {"HEAD": "GET"}.get(method, method)
    return f"{url_name} {method}" + (f" {action}" if action else "")


def rule_for(operation: str) -> Rule | None:
    return TABLE.get(operation)
