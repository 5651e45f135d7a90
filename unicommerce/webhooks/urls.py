"""/api/v1/webhooks/ (see unicommerce.webhooks.api)."""

from django.urls import path

from unicommerce import converters  # noqa: F401 (registers the <id:…> converter)
from unicommerce.webhooks import api

urlpatterns = [
    path("endpoints/", api.EndpointListView.as_view(), name="webhook-endpoint-list"),
    path("endpoints/<id:pk>/", api.EndpointDetailView.as_view(), name="webhook-endpoint"),
    path(
        "endpoints/<id:pk>/rotate-secret/",
        api.EndpointRotateSecretView.as_view(),
        name="webhook-endpoint-rotate-secret",
    ),
    path(
        "endpoints/<id:pk>/enable/",
        api.EndpointEnableView.as_view(),
        name="webhook-endpoint-enable",
    ),
    path(
        "endpoints/<id:pk>/disable/",
        api.EndpointDisableView.as_view(),
        name="webhook-endpoint-disable",
    ),
    path(
        "endpoints/<id:pk>/deliveries/",
        api.EndpointDeliveryListView.as_view(),
        name="webhook-endpoint-deliveries",
    ),
    path(
        "deliveries/<id:pk>/redeliver/",
        api.DeliveryRedeliverView.as_view(),
        name="webhook-delivery-redeliver",
    ),
    path("event-types/", api.EventTypeListView.as_view(), name="webhook-event-types"),
]
