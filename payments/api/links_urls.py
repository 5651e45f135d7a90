"""Payment links over the API, mounted under /api/v1/ with the rest of payments' API
(``payments.api.urls``)."""

from django.urls import path

from payments.api import links as api_links
from unicommerce import converters  # noqa: F401 (registers the <id:…> converter)

urlpatterns = [
    path("payment-links/", api_links.PaymentLinkCreateView.as_view(), name="api-payment-links"),
    path(
        "payment-links/<id:link_id>/",
        api_links.PaymentLinkDetailView.as_view(),
        name="api-payment-link",
    ),
    path(
        "payment-links/<id:link_id>/resend/",
        api_links.PaymentLinkResendView.as_view(),
        name="api-payment-link-resend",
    ),
    path(
        "payment-links/<id:link_id>/cancel/",
        api_links.PaymentLinkCancelView.as_view(),
        name="api-payment-link-cancel",
    ),
]
