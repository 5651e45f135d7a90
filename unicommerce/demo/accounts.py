"""Demo logins and keys, printed by `make run`. Local demo data only: never loaded in
production."""

from typing import NamedTuple


class DemoAccount(NamedTuple):
    username: str
    password: str
    role: str  # unicommerce.access.roles
    description: str
    first_name: str
    last_name: str
    stores: tuple[str, ...]  # the locations they work at


DEMO_ACCOUNTS = [
    DemoAccount(
        "manager",
        "manager-demo",
        "head_office",
        "head office: admin, every store, every register",
        "Claire",
        "Martin",
        (),
    ),
    DemoAccount(
        "manager-paris",
        "manager-demo",
        "store_manager",
        "store manager, Paris store: admin and tills of Paris",
        "Inès",
        "Roux",
        ("paris",),
    ),
    DemoAccount(
        "seller-paris",
        "seller-demo",
        "seller",
        "seller, Paris store",
        "Hugo",
        "Bernard",
        ("paris",),
    ),
    DemoAccount(
        "seller-lyon", "seller-demo", "seller", "seller, Lyon store", "Léa", "Petit", ("lyon",)
    ),
    DemoAccount(
        "warehouse",
        "warehouse-demo",
        "warehouse",
        "warehouse: stock and shipments of Orléans in the admin",
        "Karim",
        "Moreau",
        ("warehouse",),
    ),
]

# Fixed keys for the demo web channel, so front-end developers can call the API at once:
# the publishable one as a browser would (catalogue, carts, checkout, sign-in), the
# secret one as the channel's own back end would (reservations, stock feed, webhooks).
DEMO_WEB_PUBLISHABLE_KEY = "uck_pk_demo-web-storefront-key-not-for-production"
DEMO_WEB_SECRET_KEY = "uck_sk_demo-web-integration-key-not-for-production"  # noqa: S105 - demo only
