"""Staff API for transfers between locations (mounted at /api/v1/transfers/).

Staff keys (and staff sessions) with the ``inventory.change_transfer`` permission only,
for the transfers leaving or reaching their locations (head office: all); a channel key
is refused with 403 (docs/permissions.md). Locations are named by ``code``, variants by ``sku``.
Every POST accepts an ``Idempotency-Key``: a retried call does the work once.
"""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Variant
from inventory.exceptions import LocationNotYours
from inventory.models import Location, Transfer, TransferLine
from inventory.selectors import staff_acts_at, staff_location_ids
from inventory.services.transfers import (
    transfer_cancel,
    transfer_close,
    transfer_create,
    transfer_receive,
    transfer_ship,
)
from unicommerce import converters  # noqa: F401 (registers the <id:…> converter)
from unicommerce.api.errors import refusals
from unicommerce.api.idempotency import PARAMETER as IDEMPOTENCY_KEY
from unicommerce.api.idempotency import idempotent
from unicommerce.api.pagination import CursorPagination

# --------------------------------------------------------------------------- serializers


class TransferLineOutputSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="variant.sku")
    outstanding = serializers.SerializerMethodField(
        help_text="Shipped, not yet received, not written off."
    )

    class Meta:
        model = TransferLine
        fields = ["sku", "quantity", "quantity_received", "discrepancy", "outstanding"]

    def get_outstanding(self, line: TransferLine) -> int:
        return line.quantity - line.quantity_received - line.discrepancy


class TransferOutputSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(source="__str__", help_text='e.g. "TR000012".')
    from_location = serializers.CharField(source="from_location.code")
    to_location = serializers.CharField(source="to_location.code")
    lines = TransferLineOutputSerializer(many=True)

    class Meta:
        model = Transfer
        fields = [
            "id",
            "reference",
            "status",
            "from_location",
            "to_location",
            "note",
            "lines",
            "created_at",
            "shipped_at",
            "received_at",
        ]


class LocationCodeField(serializers.SlugRelatedField):
    default_error_messages = {
        "does_not_exist": "No location has the code “{value}”.",
        "invalid": "Send a location code.",
    }

    def __init__(self, **kwargs):
        super().__init__(slug_field="code", queryset=Location.objects.all(), **kwargs)


class SkuField(serializers.SlugRelatedField):
    default_error_messages = {
        "does_not_exist": "No variant has the SKU “{value}”.",
        "invalid": "Send a SKU.",
    }

    def __init__(self, **kwargs):
        super().__init__(slug_field="sku", queryset=Variant.objects.all(), **kwargs)


class TransferLineInputSerializer(serializers.Serializer):
    sku = SkuField()
    # Bounded as a stock receipt's (inventory/api/serializers.py): goods that move.
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)


class TransferCreateInputSerializer(serializers.Serializer):
    from_location = LocationCodeField()
    to_location = LocationCodeField()
    lines = TransferLineInputSerializer(many=True, allow_empty=False)
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class TransferReceiveInputSerializer(serializers.Serializer):
    lines = TransferLineInputSerializer(
        many=True, allow_empty=False, help_text="Units received now, per SKU."
    )


class TransferCloseInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


def _quantities(lines: list[dict]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for line in lines:
        merged[line["sku"].pk] = merged.get(line["sku"].pk, 0) + line["quantity"]
    return merged


# --------------------------------------------------------------------------- views


def _errors(
    *,
    invalid: str | None = None,
    conflict: str | None = None,
    not_found: bool = True,
    retried: bool = False,
) -> dict:
    """The error responses of an endpoint, all in the one error shape."""
    return refusals(
        forbidden="Not a staff member with the permission to change transfers "
        "(channel keys are always refused).",
        invalid=invalid,
        not_found="No such transfer." if not_found else None,
        conflict=conflict,
        retried=retried,
    )


class TransferFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Transfer.Status.choices)
    from_location = django_filters.CharFilter(
        field_name="from_location__code", help_text="Origin location code."
    )
    to_location = django_filters.CharFilter(
        field_name="to_location__code", help_text="Destination location code."
    )

    class Meta:
        model = Transfer
        fields = ["status", "from_location", "to_location"]


class NewestFirst(CursorPagination):
    ordering = "-id"


def _transfers():
    return Transfer.objects.select_related("from_location", "to_location").prefetch_related(
        "lines__variant"
    )


def _output(transfer: Transfer, status_code: int = status.HTTP_200_OK) -> Response:
    return Response(TransferOutputSerializer(_transfers().get(pk=transfer.pk)).data, status_code)


class StaffTransferView:
    # Staff see the transfers leaving or reaching their locations (head office: all);
    # they create them from or to one of theirs, ship and cancel from theirs, receive
    # and close at theirs (the permission table, unicommerce/access/table.py).

    def visible(self):
        ids = staff_location_ids(self.request.user)
        transfers = _transfers()
        if ids is None:
            return transfers
        return transfers.filter(Q(from_location_id__in=ids) | Q(to_location_id__in=ids))


def _acts_at(request, location, what: str) -> None:
    if not staff_acts_at(request.user, location.pk):
        raise LocationNotYours(location.code, what)


@extend_schema_view(
    get=extend_schema(
        summary="List transfers, newest first",
        responses={
            200: TransferOutputSerializer(many=True),
            **_errors(invalid="Unknown status or malformed cursor.", not_found=False),
        },
    ),
    post=extend_schema(
        summary="Create a draft transfer",
        request=TransferCreateInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: TransferOutputSerializer,
            **_errors(
                invalid="Unknown location code or SKU (named in details), the same location "
                "twice, an inactive location, no lines, or a quantity below 1.",
                not_found=False,
                retried=True,
            ),
        },
    ),
)
class TransferListCreateView(StaffTransferView, generics.ListAPIView):
    """Transfers between locations. A new transfer is a draft: nothing moves until it is
    shipped. A SKU listed twice becomes one line with the sum."""

    serializer_class = TransferOutputSerializer
    filterset_class = TransferFilter
    pagination_class = NewestFirst

    def get_queryset(self):
        return self.visible()

    @idempotent
    def post(self, request):
        data = TransferCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        origin, destination = (
            data.validated_data["from_location"],
            data.validated_data["to_location"],
        )
        if not (
            staff_acts_at(request.user, origin.pk) or staff_acts_at(request.user, destination.pk)
        ):
            raise LocationNotYours(origin.code, "transfer")
        transfer = transfer_create(
            from_location=data.validated_data["from_location"],
            to_location=data.validated_data["to_location"],
            lines=list(_quantities(data.validated_data["lines"]).items()),
            note=data.validated_data["note"],
            user=request.user,
        )
        return _output(transfer, status.HTTP_201_CREATED)


@extend_schema(
    summary="Read one transfer",
    responses={200: TransferOutputSerializer, **_errors()},
)
class TransferDetailView(StaffTransferView, generics.RetrieveAPIView):
    serializer_class = TransferOutputSerializer

    def get_queryset(self):
        return self.visible()


class TransferActionView(StaffTransferView, APIView):
    def transfer(self, pk: int, *, at: str) -> Transfer:
        """The transfer, if the caller sees it and acts at its origin (``at="from"``)
        or destination (``at="to"``)."""
        transfer = get_object_or_404(self.visible(), pk=pk)
        location = transfer.from_location if at == "from" else transfer.to_location
        _acts_at(self.request, location, "transfer")
        return transfer


@extend_schema(
    summary="Ship a draft transfer",
    parameters=[IDEMPOTENCY_KEY],
    request=None,
    responses={
        200: TransferOutputSerializer,
        **_errors(
            retried=True,
            invalid="The transfer has no lines, or a location is inactive.",
            conflict="Not a draft (`invalid_transition`), or not enough unreserved stock at "
            "the origin (`insufficient_stock`, naming the SKU): nothing moved.",
        ),
    },
)
class TransferShipView(TransferActionView):
    """The units leave the origin (never units promised to reservations), wait in the
    in-transit location, and the destination's incoming grows. All lines or none."""

    @idempotent
    def post(self, request, pk: int):
        return _output(transfer_ship(transfer=self.transfer(pk, at="from"), user=request.user))


@extend_schema(
    summary="Receive some or all of the outstanding units",
    parameters=[IDEMPOTENCY_KEY],
    request=TransferReceiveInputSerializer,
    responses={
        200: TransferOutputSerializer,
        **_errors(
            retried=True,
            invalid="Unknown SKU, a SKU not on the transfer, a quantity below 1, or more "
            "than is still outstanding for a line (`receipt_exceeds_outstanding`): nothing "
            "changed.",
            conflict="The transfer is not shipped or partially received.",
        ),
    },
)
class TransferReceiveView(TransferActionView):
    """Units leave transit and enter the destination. Several partial receipts are
    allowed; the transfer is received when nothing is outstanding."""

    @idempotent
    def post(self, request, pk: int):
        transfer = self.transfer(pk, at="to")
        data = TransferReceiveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        transfer = transfer_receive(
            transfer=transfer,
            quantities=_quantities(data.validated_data["lines"]),
            user=request.user,
        )
        return _output(transfer)


@extend_schema(
    summary="Close a transfer with a discrepancy",
    parameters=[IDEMPOTENCY_KEY],
    request=TransferCloseInputSerializer,
    responses={
        200: TransferOutputSerializer,
        **_errors(
            retried=True,
            invalid="Malformed note.",
            conflict="The transfer is not shipped or partially received.",
        ),
    },
)
class TransferCloseView(TransferActionView):
    """Stop waiting for the missing units: each line records its discrepancy and the
    units are written off from transit."""

    @idempotent
    def post(self, request, pk: int):
        transfer = self.transfer(pk, at="to")
        data = TransferCloseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return _output(
            transfer_close(transfer=transfer, user=request.user, note=data.validated_data["note"])
        )


@extend_schema(
    summary="Cancel a draft transfer",
    parameters=[IDEMPOTENCY_KEY],
    request=None,
    responses={
        200: TransferOutputSerializer,
        **_errors(retried=True, conflict="The transfer is not a draft."),
    },
)
class TransferCancelView(TransferActionView):
    @idempotent
    def post(self, request, pk: int):
        return _output(transfer_cancel(transfer=self.transfer(pk, at="from"), user=request.user))


urlpatterns = [
    path("", TransferListCreateView.as_view(), name="transfer-list"),
    path("<id:pk>/", TransferDetailView.as_view(), name="transfer-detail"),
    path("<id:pk>/ship/", TransferShipView.as_view(), name="transfer-ship"),
    path("<id:pk>/receive/", TransferReceiveView.as_view(), name="transfer-receive"),
    path("<id:pk>/close/", TransferCloseView.as_view(), name="transfer-close"),
    path("<id:pk>/cancel/", TransferCancelView.as_view(), name="transfer-cancel"),
]
