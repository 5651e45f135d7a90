from django.urls import include, path

urlpatterns = [
    path("", include("orders.api.staff_urls")),
]
