"""Providers' webhooks, mounted at /payments/ by unicommerce/urls.py."""

from django.urls import path

from payments.api.webhooks import provider_webhook

app_name = "payments"

urlpatterns = [
    path("webhooks/<slug:gateway>/", provider_webhook, name="provider-webhook"),
]
