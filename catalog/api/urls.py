from django.urls import path

from catalog.api import views
from unicommerce import converters  # noqa: F401 (registers the <id:…> converter)

urlpatterns = [
    path(
        "products/<id:pk>/images/",
        views.ProductImageCreateView.as_view(),
        name="product-images",
    ),
]
