"""Staff API for fulfilment and returns, under ``/api/v1/staff/``."""

from django.urls import path

from orders.api import staff
from unicommerce import converters  # noqa: F401 (registers the <id:…> converter)

urlpatterns = [
    path("staff/orders/", staff.StaffOrderListView.as_view(), name="staff-order-list"),
    path("staff/orders/<id:pk>/", staff.StaffOrderDetailView.as_view(), name="staff-order"),
    path(
        "staff/orders/<id:pk>/cancel/",
        staff.OrderCancelView.as_view(),
        name="staff-order-cancel",
    ),
    path(
        "staff/shipments/<id:pk>/pick/",
        staff.ShipmentPickView.as_view(),
        name="staff-shipment-pick",
    ),
    path(
        "staff/shipments/<id:pk>/pack/",
        staff.ShipmentPackView.as_view(),
        name="staff-shipment-pack",
    ),
    path(
        "staff/shipments/<id:pk>/ship/",
        staff.ShipmentShipView.as_view(),
        name="staff-shipment-ship",
    ),
    path(
        "staff/shipments/<id:pk>/ready/",
        staff.ShipmentReadyView.as_view(),
        name="staff-shipment-ready",
    ),
    path(
        "staff/shipments/<id:pk>/collect/",
        staff.ShipmentCollectView.as_view(),
        name="staff-shipment-collect",
    ),
    path(
        "staff/order-lines/<id:pk>/quantity/",
        staff.OrderLineQuantityView.as_view(),
        name="staff-order-line-quantity",
    ),
    path(
        "staff/order-lines/<id:pk>/relocate/",
        staff.OrderLineRelocateView.as_view(),
        name="staff-order-line-relocate",
    ),
    path("staff/returns/", staff.ReturnListCreateView.as_view(), name="staff-returns"),
]
