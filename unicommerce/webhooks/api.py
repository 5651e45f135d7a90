"""Webhook endpoints over the API (mounted at /api/v1/webhooks/, see docs/webhooks.md).

Who: a channel's key manages its own channel's endpoints (another channel's endpoint is
a 404, as if it did not exist); a staff key or session manages any channel's, with the
Django permissions of the ``webhooks`` app (view / add / change / delete endpoint, view /
change delivery) and names the channel by its ``code``.

The signing secret: in the answer of a create and of a rotation, and in ``GET`` of one
endpoint for whoever may change it (the owning channel's key, staff with
``webhooks.change_webhookendpoint``); never in lists. Every POST accepts an
``Idempotency-Key``: a retried rotation returns the first new secret, not a third one.
"""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from unicommerce.api.errors import refusals
from unicommerce.api.idempotency import PARAMETER as IDEMPOTENCY_KEY
from unicommerce.api.idempotency import idempotent
from unicommerce.api.pagination import CursorPagination
from unicommerce.api.permissions import channel_of
from unicommerce.channels.models import SalesChannel
from unicommerce.webhooks import services
from unicommerce.webhooks.models import WebhookDelivery, WebhookEndpoint

# --------------------------------------------------------------------------- serializers


class EndpointOutputSerializer(serializers.ModelSerializer):
    channel = serializers.CharField(source="channel.code", help_text="The channel's code.")

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "channel",
            "url",
            "description",
            "event_types",
            "is_active",
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
            "last_success_at",
            "last_failure_at",
            "created_at",
        ]


class EndpointWithSecretSerializer(EndpointOutputSerializer):
    secret = serializers.CharField(
        allow_null=True,
        help_text="Signs every delivery (HMAC-SHA256). Null for a caller who may only read "
        "the endpoint.",
    )

    class Meta(EndpointOutputSerializer.Meta):
        fields = [*EndpointOutputSerializer.Meta.fields, "secret"]


class ChannelCodeField(serializers.SlugRelatedField):
    default_error_messages = {
        "does_not_exist": "No sales channel has the code “{value}”.",
        "invalid": "Send a channel code.",
    }

    def __init__(self, **kwargs):
        super().__init__(slug_field="code", queryset=SalesChannel.objects.all(), **kwargs)


class EndpointCreateInputSerializer(serializers.Serializer):
    # URL and event types are only shaped here; their rules are the services' (their
    # refusals come back as `webhook_url_invalid` and `unknown_event_type`).
    channel = ChannelCodeField(
        required=False,
        help_text="Staff: the channel's code (required). A channel key: its own, or leave out.",
    )
    url = serializers.CharField(max_length=500, help_text="http:// or https://")
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=50), help_text="See GET /webhooks/event-types/."
    )
    description = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )


class EndpointUpdateInputSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=500, required=False)
    event_types = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


class DisableInputSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default="", help_text="Kept with it."
    )


class DeliveryOutputSerializer(serializers.ModelSerializer):
    endpoint = serializers.IntegerField(source="endpoint_id")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event_id",
            "event_type",
            "key",
            "version",
            "status",
            "attempts",
            "coalesced",
            "payload",
            "first_change_at",
            "created_at",
            "updated_at",
            "next_attempt_at",
            "delivered_at",
            "last_status_code",
            "last_error",
        ]


class EventTypeSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()


# --------------------------------------------------------------------------- helpers


def _errors(
    *,
    invalid: str | None = None,
    not_found: str | None = None,
    conflict: str | None = None,
    forbidden: str = "A staff member without the webhooks permission this needs.",
    retried: bool = False,
) -> dict:
    """The error responses of an endpoint, all in the one error shape."""
    return refusals(
        forbidden=forbidden,
        invalid=invalid,
        not_found=not_found,
        conflict=conflict,
        retried=retried,
    )


NO_ENDPOINT = "No such endpoint for this caller (another channel's is not shown)."
NO_DELIVERY = "No such delivery for this caller (another channel's is not shown)."


# Who may call each view: unicommerce/access/table.py (a channel's secret key, for its
# own channel's endpoints; staff with the webhooks permissions).
def _endpoints(request):
    endpoints = WebhookEndpoint.objects.select_related("channel")
    channel = channel_of(request)
    return endpoints.filter(channel=channel) if channel is not None else endpoints


def _endpoint(request, pk: int) -> WebhookEndpoint:
    return generics.get_object_or_404(_endpoints(request), pk=pk)


def _may_see_secret(request) -> bool:
    return channel_of(request) is not None or request.user.has_perm(
        "webhooks.change_webhookendpoint"
    )


def _with_secret(request, endpoint: WebhookEndpoint, status_code: int = 200) -> Response:
    data = EndpointWithSecretSerializer(endpoint).data
    if not _may_see_secret(request):
        data["secret"] = None
    return Response(data, status_code)


class EndpointFilter(django_filters.FilterSet):
    channel = django_filters.CharFilter(
        field_name="channel__code", help_text="Only this channel's (staff)."
    )
    is_active = django_filters.BooleanFilter(help_text="Only enabled, or only disabled.")

    class Meta:
        model = WebhookEndpoint
        fields = ["channel", "is_active"]


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=WebhookDelivery.Status.choices)
    event_type = django_filters.CharFilter()
    key = django_filters.CharFilter(help_text='e.g. "variant:42".')

    class Meta:
        model = WebhookDelivery
        fields = ["status", "event_type", "key"]


class NewestFirst(CursorPagination):
    ordering = "-id"


# --------------------------------------------------------------------------- views


@extend_schema_view(
    get=extend_schema(
        summary="List webhook endpoints (without their secrets)",
        responses={
            200: EndpointOutputSerializer(many=True),
            **_errors(invalid="Malformed filter or cursor."),
        },
    ),
    post=extend_schema(
        summary="Subscribe a URL to event types; the answer carries its signing secret",
        request=EndpointCreateInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: EndpointWithSecretSerializer,
            **_errors(
                invalid="Not an http(s) URL or not a public address (`webhook_url_invalid`), "
                "an unknown or no event type (`unknown_event_type`), no or an unknown "
                "channel code (`invalid`), the channel has its maximum of endpoints "
                "already (`webhook_endpoint_limit`, `details.limit`): nothing was created.",
                forbidden="A staff member without the permission to add endpoints, or a "
                "channel key naming another channel.",
                retried=True,
            ),
        },
    ),
)
class EndpointListView(generics.ListAPIView):
    """A channel key lists and creates its own channel's endpoints; staff name the channel
    by its `channel` code. Keep the `secret` of the answer: it verifies the deliveries."""

    required = {"GET": "view", "POST": "add"}
    serializer_class = EndpointOutputSerializer
    filterset_class = EndpointFilter

    def get_queryset(self):
        return _endpoints(self.request)

    @idempotent
    def post(self, request):
        data = EndpointCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        own = channel_of(request)
        chosen = data.validated_data.get("channel")
        if own is not None and chosen not in (None, own):
            raise exceptions.PermissionDenied(
                "A channel key manages its own channel's webhook endpoints only."
            )
        channel = own or chosen
        if channel is None:
            raise exceptions.ValidationError({"channel": ["Name the channel (its code)."]})
        endpoint = services.endpoint_create(
            channel=channel,
            url=data.validated_data["url"],
            event_types=data.validated_data["event_types"],
            description=data.validated_data["description"],
            user=None if own is not None else request.user,
        )
        return _with_secret(request, endpoint, status.HTTP_201_CREATED)


class EndpointDetailView(APIView):
    """The `secret` is shown to the owning channel's key and to staff who may change
    endpoints; to staff who may only read them it is null."""

    @extend_schema(
        summary="One webhook endpoint, with its secret for who may change it",
        responses={200: EndpointWithSecretSerializer, **_errors(not_found=NO_ENDPOINT)},
    )
    def get(self, request, pk: int):
        return _with_secret(request, _endpoint(request, pk))

    @extend_schema(
        summary="Change the URL, the event types or the description",
        request=EndpointUpdateInputSerializer,
        responses={
            200: EndpointWithSecretSerializer,
            **_errors(
                invalid="Not an http(s) URL or not a public address (`webhook_url_invalid`), "
                "an unknown or no event type (`unknown_event_type`): nothing changed.",
                not_found=NO_ENDPOINT,
            ),
        },
    )
    def patch(self, request, pk: int):
        endpoint = _endpoint(request, pk)
        data = EndpointUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(endpoint=endpoint, **data.validated_data)
        return _with_secret(request, endpoint)

    @extend_schema(
        summary="Delete an endpoint and its delivery log",
        description="What waited to be sent to it is dropped. To pause, disable it instead.",
        responses={204: None, **_errors(not_found=NO_ENDPOINT)},
    )
    def delete(self, request, pk: int):
        endpoint = _endpoint(request, pk)
        services.endpoint_delete(endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointActionView(APIView):
    required = {"POST": "change"}


@extend_schema(
    summary="Give the endpoint a new signing secret (the old one stops at once)",
    request=None,
    parameters=[IDEMPOTENCY_KEY],
    responses={
        200: EndpointWithSecretSerializer,
        **_errors(not_found=NO_ENDPOINT, retried=True),
    },
)
class EndpointRotateSecretView(EndpointActionView):
    @idempotent
    def post(self, request, pk: int):
        endpoint = services.endpoint_rotate_secret(endpoint=_endpoint(request, pk))
        return _with_secret(request, endpoint)


@extend_schema(
    summary="Enable the endpoint: what waited meanwhile is sent at once (latest only)",
    request=None,
    parameters=[IDEMPOTENCY_KEY],
    responses={
        200: EndpointWithSecretSerializer,
        **_errors(not_found=NO_ENDPOINT, retried=True),
    },
)
class EndpointEnableView(EndpointActionView):
    @idempotent
    def post(self, request, pk: int):
        endpoint = services.endpoint_enable(endpoint=_endpoint(request, pk))
        return _with_secret(request, endpoint)


@extend_schema(
    summary="Disable the endpoint: nothing is sent; changes wait, one per item, latest only",
    request=DisableInputSerializer,
    parameters=[IDEMPOTENCY_KEY],
    responses={
        200: EndpointWithSecretSerializer,
        **_errors(
            invalid="A reason longer than 300 characters.", not_found=NO_ENDPOINT, retried=True
        ),
    },
)
class EndpointDisableView(EndpointActionView):
    @idempotent
    def post(self, request, pk: int):
        endpoint = _endpoint(request, pk)
        data = DisableInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reason = data.validated_data["reason"] or f"Disabled through the API by {request.user}."
        endpoint = services.endpoint_disable(endpoint=endpoint, reason=reason)
        return _with_secret(request, endpoint)


@extend_schema(
    summary="The delivery log of an endpoint, newest first",
    responses={
        200: DeliveryOutputSerializer(many=True),
        **_errors(invalid="Unknown status, or a malformed cursor.", not_found=NO_ENDPOINT),
    },
)
class EndpointDeliveryListView(generics.ListAPIView):
    serializer_class = DeliveryOutputSerializer
    filterset_class = DeliveryFilter
    pagination_class = NewestFirst

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return WebhookDelivery.objects.none()
        return _endpoint(self.request, self.kwargs["pk"]).deliveries.all()


@extend_schema(
    summary="Send a delivered, dead or superseded delivery again, with the same event id",
    request=None,
    parameters=[IDEMPOTENCY_KEY],
    responses={
        200: DeliveryOutputSerializer,
        **_errors(
            not_found=NO_DELIVERY,
            conflict="Still waiting or being sent, or a newer update of the same item "
            "waits already (`invalid_transition`).",
            retried=True,
        ),
    },
)
class DeliveryRedeliverView(APIView):
    required = {"POST": "change"}

    @idempotent
    def post(self, request, pk: int):
        deliveries = WebhookDelivery.objects.all()
        channel = channel_of(request)
        if channel is not None:
            deliveries = deliveries.filter(endpoint__channel=channel)
        delivery = generics.get_object_or_404(deliveries, pk=pk)
        delivery = services.delivery_redeliver(delivery=delivery)
        return Response(DeliveryOutputSerializer(delivery).data)


@extend_schema(
    summary="The event types an endpoint may subscribe to",
    responses={200: EventTypeSerializer(many=True), **_errors()},
)
class EventTypeListView(APIView):
    def get(self, request):
        types = [
            {"name": name, "description": about}
            for name, about in sorted(services.EVENT_TYPES.items())
        ]
        return Response(EventTypeSerializer(types, many=True).data)
