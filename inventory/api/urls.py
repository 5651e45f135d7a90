from django.urls import path

from inventory.api import views

urlpatterns = [
    path("products/", views.ProductListView.as_view(), name="product-list"),
]
