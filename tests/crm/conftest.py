"""crm's tests build the same customers, orders, carts and returns as customers' tests
(they moved from there with the code they test): the same fixtures, from one place."""

from tests.customers.conftest import (  # noqa: F401 - fixtures, found by pytest by name
    make_cart,
    make_customer,
    make_order,
    make_return,
)
