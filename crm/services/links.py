"""Which function looks after each model that points at a customer, when customers are
merged (``crm.services.merging``) and when one is erased (``crm.services.erasure``).

Every model with a foreign key to ``customers.Customer`` must be listed here: a test
(tests/crm/test_customer_links.py) walks all the project's models and fails on one that
is not, so a new app cannot leave rows on a merged-away customer, or personal data on an
erased one, unnoticed. Rows with a plain customer id and no key (messaging's messages,
the API's kept answers) are erased by their app's function too, but no test can find
them: keep them in mind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from customers.services.gdpr import customers_customer_erase
from customers.services.merging import customers_customer_reassign
from loyalty.services.gift_cards import gift_cards_customer_erase, gift_cards_customer_reassign
from loyalty.services.points import points_customer_erase, points_customer_reassign
from loyalty.services.store_credit import loyalty_customer_erase, loyalty_customer_reassign
from loyalty.services.vouchers import vouchers_customer_erase, vouchers_customer_reassign
from orders.services.customers import orders_customer_erase, orders_customer_reassign


@dataclass(frozen=True)
class CustomerLink:
    """``reassign`` moves (or compensates) the model's rows on a merge; ``erase`` blanks
    what they keep of the person."""

    reassign: Callable[..., object]
    erase: Callable[..., object]


_CUSTOMERS = CustomerLink(customers_customer_reassign, customers_customer_erase)
_ORDERS = CustomerLink(orders_customer_reassign, orders_customer_erase)
_LOYALTY = CustomerLink(loyalty_customer_reassign, loyalty_customer_erase)
_VOUCHERS = CustomerLink(vouchers_customer_reassign, vouchers_customer_erase)
_GIFT_CARDS = CustomerLink(gift_cards_customer_reassign, gift_cards_customer_erase)

CUSTOMER_LINKS: dict[str, CustomerLink] = {
    "customers.Customer": _CUSTOMERS,  # merged_into
    "customers.Address": _CUSTOMERS,
    "customers.Consent": _CUSTOMERS,
    "customers.CustomerNote": _CUSTOMERS,
    "customers.LoginCode": _CUSTOMERS,
    "customers.AccessToken": _CUSTOMERS,
    "orders.Cart": _ORDERS,
    "orders.Order": _ORDERS,
    "loyalty.StoreCreditEntry": _LOYALTY,  # a ledger: compensating entries, rows stay
    "loyalty.VoucherRedemption": _VOUCHERS,  # uses follow the survivor, counted per person
    # Points (issue 14): a ledger too, compensating "merge" rows per programme.
    "loyalty.PointsEntry": CustomerLink(points_customer_reassign, points_customer_erase),
    "loyalty.GiftCard": _GIFT_CARDS,  # the buyer follows; the recipient is blanked
}
