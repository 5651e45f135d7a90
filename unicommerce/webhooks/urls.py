"""/api/v1/webhooks/ (see unicommerce.webhooks.api)."""

from django.urls import path

from unicommerce.webhooks import api

urlpatterns = [
    path("endpoints/", api.EndpointListView.as_view(), name="webhook-endpoint-list"),
    path("endpoints/<int:pk>/", api.EndpointDetailView.as_view(), name="webhook-endpoint"),
    path(
        "endpoints/<int:pk>/rotate-secret/",
        api.EndpointRotateSecretView.as_view(),
        name="webhook-endpoint-rotate-secret",
    ),
    path(
        "endpoints/<int:pk>/enable/",
        api.EndpointEnableView.as_view(),
        name="webhook-endpoint-enable",
    ),
    path(
        "endpoints/<int:pk>/disable/",
        api.EndpointDisableView.as_view(),
        name="webhook-endpoint-disable",
    ),
    path(
        "endpoints/<int:pk>/deliveries/",
        api.EndpointDeliveryListView.as_view(),
        name="webhook-endpoint-deliveries",
    ),
    path(
        "deliveries/<int:pk>/redeliver/",
        api.DeliveryRedeliverView.as_view(),
        name="webhook-delivery-redeliver",
    ),
    path("event-types/", api.EventTypeListView.as_view(), name="webhook-event-types"),
]
