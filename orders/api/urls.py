from django.urls import include, path

from orders.api import carts, orders
from unicommerce import converters  # noqa: F401 (registers the <id:…> converter)

urlpatterns = [
    path("carts/", carts.CartCreateView.as_view(), name="api-cart-create"),
    path("carts/<str:token>/", carts.CartDetailView.as_view(), name="api-cart"),
    path("carts/<str:token>/lines/", carts.CartLinesView.as_view(), name="api-cart-lines"),
    path(
        "carts/<str:token>/lines/<id:line_id>/",
        carts.CartLineDetailView.as_view(),
        name="api-cart-line",
    ),
    path("carts/<str:token>/vouchers/", carts.CartVouchersView.as_view(), name="api-cart-vouchers"),
    path(
        "carts/<str:token>/vouchers/<str:code>/",
        carts.CartVoucherDetailView.as_view(),
        name="api-cart-voucher",
    ),
    path("carts/<str:token>/identify/", carts.CartIdentifyView.as_view(), name="api-cart-identify"),
    path("carts/<str:token>/checkout/", carts.CartCheckoutView.as_view(), name="api-cart-checkout"),
    path("orders/<str:reference>/", orders.OrderDetailView.as_view(), name="api-order"),
    path("me/orders/", orders.MyOrdersView.as_view(), name="api-my-orders"),
    path("", include("orders.api.staff_urls")),
]
