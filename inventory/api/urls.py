from django.urls import include, path

from inventory.api import stock, views
from unicommerce import converters  # noqa: F401 (registers the <id:…> converter)

urlpatterns = [
    path("products/", views.ProductListView.as_view(), name="product-list"),
    path("products/<id:pk>/", views.ProductDetailView.as_view(), name="product-detail"),
    path("variants/<str:sku>/stores/", views.VariantStoresView.as_view(), name="variant-stores"),
    path("stock/receipts/", stock.ReceiptView.as_view(), name="stock-receipt"),
    path("stock/adjustments/", stock.AdjustmentView.as_view(), name="stock-adjustment"),
    path("stock/levels/", stock.LevelListView.as_view(), name="stock-levels"),
    path("stock/changes/", stock.StockChangesView.as_view(), name="stock-changes"),
    path("reservations/", stock.ReservationCreateView.as_view(), name="reservation-create"),
    path("reservations/<id:pk>/", stock.ReservationDetailView.as_view(), name="reservation"),
    path(
        "reservations/<id:pk>/release/",
        stock.ReservationReleaseView.as_view(),
        name="reservation-release",
    ),
    path(
        "reservations/<id:pk>/convert/",
        stock.ReservationConvertView.as_view(),
        name="reservation-convert",
    ),
    path("transfers/", include("inventory.api.transfers")),
]
