"""Demo logins, printed by `make run`. Local demo data only: never loaded in production."""

from typing import NamedTuple


class DemoAccount(NamedTuple):
    username: str
    password: str
    role: str
    first_name: str
    last_name: str
    store: str | None


DEMO_ACCOUNTS = [
    DemoAccount(
        "manager", "manager-demo", "manager: admin + every register", "Claire", "Martin", None
    ),
    DemoAccount("seller-paris", "seller-demo", "seller, Paris store", "Hugo", "Bernard", "paris"),
    DemoAccount("seller-lyon", "seller-demo", "seller, Lyon store", "Léa", "Petit", "lyon"),
    DemoAccount(
        "warehouse", "warehouse-demo", "warehouse: stock in the admin", "Karim", "Moreau", None
    ),
]

# A fixed key for the demo web channel, so front-end developers can call the API at once.
DEMO_WEB_API_KEY = "uck_demo-web-channel-key-not-for-production"
