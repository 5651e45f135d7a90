"""Staff API for fulfilment and returns, under ``/api/v1/staff/``."""

from django.urls import path

from orders.api import staff

urlpatterns = [
    path("staff/orders/", staff.StaffOrderListView.as_view(), name="staff-order-list"),
    path("staff/orders/<int:pk>/", staff.StaffOrderDetailView.as_view(), name="staff-order"),
    path(
        "staff/orders/<int:pk>/cancel/",
        staff.OrderCancelView.as_view(),
        name="staff-order-cancel",
    ),
    path(
        "staff/shipments/<int:pk>/pick/",
        staff.ShipmentPickView.as_view(),
        name="staff-shipment-pick",
    ),
    path(
        "staff/shipments/<int:pk>/pack/",
        staff.ShipmentPackView.as_view(),
        name="staff-shipment-pack",
    ),
    path(
        "staff/shipments/<int:pk>/ship/",
        staff.ShipmentShipView.as_view(),
        name="staff-shipment-ship",
    ),
    path(
        "staff/shipments/<int:pk>/ready/",
        staff.ShipmentReadyView.as_view(),
        name="staff-shipment-ready",
    ),
    path(
        "staff/shipments/<int:pk>/collect/",
        staff.ShipmentCollectView.as_view(),
        name="staff-shipment-collect",
    ),
    path(
        "staff/order-lines/<int:pk>/quantity/",
        staff.OrderLineQuantityView.as_view(),
        name="staff-order-line-quantity",
    ),
    path(
        "staff/order-lines/<int:pk>/relocate/",
        staff.OrderLineRelocateView.as_view(),
        name="staff-order-line-relocate",
    ),
    path("staff/returns/", staff.ReturnListCreateView.as_view(), name="staff-returns"),
]
