"""Staff stock operations and reservations over the API. Every POST accepts an
``Idempotency-Key``: a retried call does the work once and answers the same."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory.api.serializers import (
    AdjustmentInputSerializer,
    LevelOutputSerializer,
    MovementOutputSerializer,
    ReceiptInputSerializer,
    ReservationInputSerializer,
    ReservationOutputSerializer,
    StockChangesPageSerializer,
)
from inventory.exceptions import LocationNotYours
from inventory.models import Reservation, StockLevel
from inventory.selectors import levels_with_availability, staff_acts_at
from inventory.services.reservations import (
    reservation_convert,
    reservation_release,
    stock_reserve,
)
from inventory.services.stock import stock_adjust, stock_receive
from inventory.sync import channel_stock_changes
from unicommerce.access.principals import principal_of
from unicommerce.api.errors import error_responses
from unicommerce.api.idempotency import PARAMETER as IDEMPOTENCY_KEY
from unicommerce.api.idempotency import idempotent
from unicommerce.api.permissions import acting_user, channel_of
from unicommerce.channels.models import SalesChannel
from unicommerce.converters import whole_number
from unicommerce.exceptions import InvalidInput

ERRORS = {
    400: "Malformed input: the details name each field.",
    401: "Missing or invalid credentials.",
    403: "Not allowed for this key or user.",
    422: "The Idempotency-Key was already used for a different request.",
}


def errors(**extra: str) -> dict:
    return error_responses(ERRORS, **extra)


def _staff_at(request, location, what: str) -> None:
    """Staff change stock only where they work (head office: anywhere)."""
    if not staff_acts_at(request.user, location.pk):
        raise LocationNotYours(location.code, what)


class ReceiptView(APIView):
    @extend_schema(
        summary="Receive units into a location (on hand goes up, one ledger row)",
        request=ReceiptInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: MovementOutputSerializer, **errors()},
    )
    @idempotent
    def post(self, request):
        data = ReceiptInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _staff_at(request, data.validated_data["location"], "receipt")
        movement = stock_receive(
            variant_id=data.validated_data["sku"].pk,
            location_id=data.validated_data["location"].pk,
            quantity=data.validated_data["quantity"],
            note=data.validated_data["note"],
            user=request.user,
        )
        return Response(MovementOutputSerializer(movement).data, status=status.HTTP_201_CREATED)


class AdjustmentView(APIView):
    @extend_schema(
        summary="Correct on hand by a signed quantity (damage, found, miscount, return)",
        request=AdjustmentInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: MovementOutputSerializer,
            **errors(**{"409": "Taking out more than is unreserved at the location."}),
        },
    )
    @idempotent
    def post(self, request):
        data = AdjustmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _staff_at(request, data.validated_data["location"], "adjustment")
        movement = stock_adjust(
            variant_id=data.validated_data["sku"].pk,
            location_id=data.validated_data["location"].pk,
            quantity=data.validated_data["quantity"],
            reason=data.validated_data["reason"],
            note=data.validated_data["note"],
            user=request.user,
        )
        return Response(MovementOutputSerializer(movement).data, status=status.HTTP_201_CREATED)


@extend_schema(
    summary="Stock levels (on hand, reserved, safety, available, incoming)",
    parameters=[
        OpenApiParameter("sku", str, description="Only this variant."),
        OpenApiParameter("location", str, description="Only this location code."),
    ],
    responses={200: LevelOutputSerializer(many=True), **errors()},
)
class LevelListView(generics.ListAPIView):
    serializer_class = LevelOutputSerializer

    def get_queryset(self):
        levels = StockLevel.objects.select_related("variant", "location")
        if sku := self.request.query_params.get("sku"):
            levels = levels.filter(variant__sku__iexact=sku)
        if code := self.request.query_params.get("location"):
            levels = levels.filter(location__code=code)
        return levels_with_availability(levels)


class ReservationOutOfBounds(InvalidInput):
    code = "reservation_out_of_bounds"


def _reservation_bounds(request, expires_in: int | None, quantity: int) -> None:
    """A channel's key holds stock for a bounded time (a storefront key, shipped in every
    browser, also for a bounded quantity), so nobody can hoard a channel's stock with it.
    Staff may hold until released (a customer's order set aside in the back room)."""
    principal = principal_of(request.user)
    if principal not in ("storefront", "integration"):
        return
    longest = settings.RESERVATION_MAX_SECONDS[principal]
    if expires_in is None or expires_in > longest:
        raise ReservationOutOfBounds(
            _("A reservation by this key must end within %(seconds)d seconds: send expires_in.")
            % {"seconds": longest},
            field="expires_in",
            max=longest,
        )
    most = settings.RESERVATION_STOREFRONT_MAX_QUANTITY
    if principal == "storefront" and quantity > most:
        raise ReservationOutOfBounds(
            _("A storefront key reserves at most %(n)d units at a time.") % {"n": most},
            field="quantity",
            max=most,
        )


def _reservations_for(request):
    reservations = Reservation.objects.select_related("variant", "location", "channel")
    channel = channel_of(request)
    return reservations.filter(channel=channel) if channel is not None else reservations


class ReservationCreateView(APIView):
    @extend_schema(
        summary="Hold units at a location for a cart or an order",
        description="A channel key may reserve at the locations that feed its channel; "
        "the units it reserves respect the location's safety stock. A channel key must "
        "send `expires_in` (a publishable key: at most 30 minutes and 10 units by "
        "default, a secret key: at most 14 days; 400 reservation_out_of_bounds).",
        request=ReservationInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: ReservationOutputSerializer,
            **errors(**{"409": "Fewer units are available than asked for."}),
        },
    )
    @idempotent
    def post(self, request):
        data = ReservationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        location = data.validated_data["location"]
        channel = channel_of(request)
        if channel is not None and not location.channels.filter(pk=channel.pk).exists():
            raise exceptions.PermissionDenied(
                f"The location “{location.code}” does not feed the channel “{channel.code}”."
            )
        expires_in = data.validated_data["expires_in"]
        _reservation_bounds(request, expires_in, data.validated_data["quantity"])
        if channel is None:
            _staff_at(request, location, "reservation")
        reservation = stock_reserve(
            variant_id=data.validated_data["sku"].pk,
            location_id=location.pk,
            quantity=data.validated_data["quantity"],
            expires_at=timezone.now() + timedelta(seconds=expires_in) if expires_in else None,
            channel=channel,
            reference=data.validated_data["reference"],
            user=acting_user(request),
        )
        reservation = _reservations_for(request).get(pk=reservation.pk)
        return Response(
            ReservationOutputSerializer(reservation).data, status=status.HTTP_201_CREATED
        )


@extend_schema(
    summary="One reservation",
    responses={
        200: ReservationOutputSerializer,
        **errors(**{"404": "No such reservation for this caller."}),
    },
)
class ReservationDetailView(generics.RetrieveAPIView):
    serializer_class = ReservationOutputSerializer

    def get_queryset(self):
        return _reservations_for(self.request)


class ReservationReleaseView(APIView):
    @extend_schema(
        summary="Give the reserved units back",
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            200: ReservationOutputSerializer,
            **errors(**{"404": "No such reservation.", "409": "No longer active."}),
        },
    )
    @idempotent
    def post(self, request, pk: int):
        reservation = generics.get_object_or_404(_reservations_for(request), pk=pk)
        if channel_of(request) is None:
            _staff_at(request, reservation.location, "reservation")
        reservation = reservation_release(reservation=reservation, user=acting_user(request))
        return Response(ReservationOutputSerializer(reservation).data)


class ReservationConvertView(APIView):
    @extend_schema(
        summary="Sell the reserved units (they leave the stock, with no gap)",
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            200: ReservationOutputSerializer,
            **errors(**{"404": "No such reservation.", "409": "Expired or no longer active."}),
        },
    )
    @idempotent
    def post(self, request, pk: int):
        reservation = generics.get_object_or_404(_reservations_for(request), pk=pk)
        if channel_of(request) is None:
            _staff_at(request, reservation.location, "reservation")
        reservation_convert(reservation=reservation, user=acting_user(request))
        reservation.refresh_from_db()
        return Response(ReservationOutputSerializer(reservation).data)


@extend_schema(
    summary="Sellable quantities changed since a cursor (the pull alternative to webhooks)",
    description=(
        "Without `cursor`: every figure of the channel. Then send back the `cursor` of the "
        "last answer to get only what changed after it; an unchanged channel answers an "
        "empty list and the same cursor. Each variant appears once, at its latest change, "
        "with the same `version` the `stock.changed` webhooks carry."
    ),
    parameters=[
        OpenApiParameter(
            "channel", str, description="Channel code (staff only; a channel key reads its own)."
        ),
        OpenApiParameter("cursor", str, description="From the previous answer."),
        OpenApiParameter("limit", int, description="At most this many changes (1–1000, 500)."),
    ],
    responses={200: StockChangesPageSerializer, **errors(**{"404": "Unknown channel."})},
)
class StockChangesView(APIView):
    def get(self, request):
        channel = channel_of(request)
        params = request.query_params
        if channel is None:
            code = params.get("channel")
            if not code:
                raise exceptions.ValidationError({"channel": ["Name the channel (its code)."]})
            channel = SalesChannel.objects.filter(code=code).first()
            if channel is None:
                raise exceptions.NotFound(f"No sales channel with the code {code!r}.")
        limit = whole_number(params.get("limit", "500"), minimum=1, maximum=1000)
        if limit is None:
            raise exceptions.ValidationError({"limit": ["A whole number from 1 to 1000."]})
        page = channel_stock_changes(
            channel_id=channel.pk, cursor=params.get("cursor", ""), limit=limit
        )
        return Response(
            StockChangesPageSerializer(
                {
                    "channel": channel.code,
                    "results": page.changes,
                    "cursor": page.cursor,
                    "has_more": page.has_more,
                }
            ).data
        )
