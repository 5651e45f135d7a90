from django.urls import include, path

from inventory.api import views

urlpatterns = [
    path("products/", views.ProductListView.as_view(), name="product-list"),
    path("transfers/", include("inventory.api.transfers")),
]
