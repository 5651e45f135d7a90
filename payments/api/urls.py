"""The payments REST API, mounted under ``/api/v1/`` (``include("payments.api.urls")``)."""

from django.urls import include, path

from payments.api import views
from unicommerce import converters  # noqa: F401 (registers the <id:…> converter)

urlpatterns = [
    path(
        "orders/<str:reference>/payments/",
        views.OrderPaymentsView.as_view(),
        name="api-order-payments",
    ),
    path(
        "orders/<str:reference>/instalment-plans/",
        views.InstalmentPlanCreateView.as_view(),
        name="api-order-instalment-plans",
    ),
    path(
        "payments/<id:pk>/capture/", views.PaymentCaptureView.as_view(), name="api-payment-capture"
    ),
    path("payments/<id:pk>/void/", views.PaymentVoidView.as_view(), name="api-payment-void"),
    path(
        "payments/<id:pk>/refunds/", views.PaymentRefundView.as_view(), name="api-payment-refunds"
    ),
    path("", include("payments.api.returns")),  # POST returns/<id>/settle/
    path("", include("payments.api.links_urls")),  # payment-links/…
    path("", include("payments.api.gift_cards")),  # gift-cards/balance/
    path("instalments/offers/", views.InstalmentOffersView.as_view(), name="api-instalment-offers"),
]
