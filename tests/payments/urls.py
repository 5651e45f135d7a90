"""The payments URLs where the lead mounts them (/payments/), for the view tests."""

from django.urls import include, path

urlpatterns = [path("payments/", include("payments.api.webhook_urls"))]
