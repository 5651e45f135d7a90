"""Stock operations, one module per sub-domain. The stock primitives are re-exported
here because every other app calls them."""

from inventory.services.stock import (
    channel_stock_refresh,
    stock_adjust,
    stock_incoming_change,
    stock_receive,
    stock_receive_many,
    stock_safety_set,
    stock_sell,
    stock_take,
)

__all__ = [
    "channel_stock_refresh",
    "stock_adjust",
    "stock_incoming_change",
    "stock_receive",
    "stock_receive_many",
    "stock_safety_set",
    "stock_sell",
    "stock_take",
]
