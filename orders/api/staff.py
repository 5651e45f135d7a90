"""Staff API for fulfilment and returns: the orders to prepare at a location, the steps of
a shipment (pick, pack, ship with tracking, ready for pickup, collect with the code),
cancellation, edits before preparation, and returns on any channel.

Views parse, call one service of ``orders.services`` and render; refusals are the
services' typed errors, in the API's one error shape. Every POST accepts an
``Idempotency-Key``. Staff keys or sessions act as their user, who needs the permissions
the table names (unicommerce/access/table.py: ``orders.view_order`` to read,
``orders.change_order`` for fulfilment, ``orders.add_return`` for returns) and sees the
orders of their stores only (head office: all; ``orders.selectors``): another store's
order answers 404, a step at a location they do not work at 403.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Prefetch, Q
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory.exceptions import LocationNotYours
from inventory.models import Location
from inventory.selectors import staff_acts_at
from orders.models import Fulfilment, Order, OrderEvent, OrderLine, Return, ReturnLine, Shipment
from orders.selectors import orders_visible_to, returns_visible_to
from orders.services.cancellation import order_cancel
from orders.services.carts import MAX_LINE_QUANTITY
from orders.services.collect import shipment_collect, shipment_ready
from orders.services.edits import order_line_quantity_set, order_line_relocate, order_line_remove
from orders.services.fulfilment import shipment_pack, shipment_pick_start, shipment_ship
from orders.services.order_lines import SHIPMENT_OPEN
from orders.services.returns import return_create
from unicommerce.api.errors import error_responses
from unicommerce.api.idempotency import PARAMETER as IDEMPOTENCY_KEY
from unicommerce.api.idempotency import idempotent
from unicommerce.api.pagination import CursorPagination
from unicommerce.api.permissions import acting_user
from unicommerce.channels.models import SalesChannel
from unicommerce.converters import whole_number

OPEN_ORDER_STATUSES = [
    Order.Status.PLACED,
    Order.Status.PROCESSING,
    Order.Status.PARTIALLY_FULFILLED,
]


ERRORS = {
    400: "Malformed input: the details name each field.",
    401: "Missing or invalid credentials.",
    403: "Not allowed for this key or user.",
}


def errors(**extra: str) -> dict:
    return error_responses(ERRORS, **extra)


def action_errors(**extra: str) -> dict:
    return errors(
        **{
            "404": "No such order, shipment or line.",
            "422": "The Idempotency-Key was already used for a different request.",
            **extra,
        }
    )


# --- Output -----------------------------------------------------------------------------


class MoneySerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()


class StaffOrderLineSerializer(serializers.ModelSerializer):
    location = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = OrderLine
        fields = [
            "id",
            "sku",
            "name",
            "quantity",
            "unit_price_amount",
            "total_amount",
            "fulfilment",
            "location",
            "status",
        ]


class StaffShipmentSerializer(serializers.ModelSerializer):
    location = serializers.SlugRelatedField(slug_field="code", read_only=True)
    has_pickup_code = serializers.SerializerMethodField(
        help_text="The code itself is only the customer's: it proves who collects."
    )
    lines = StaffOrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Shipment
        fields = [
            "id",
            "kind",
            "location",
            "status",
            "carrier",
            "tracking_number",
            "has_pickup_code",
            "created_at",
            "picked_at",
            "packed_at",
            "shipped_at",
            "ready_at",
            "collected_at",
            "lines",
        ]

    def get_has_pickup_code(self, shipment: Shipment) -> bool:
        return bool(shipment.pickup_code)


class StaffOrderEventSerializer(serializers.ModelSerializer):
    channel = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = OrderEvent
        fields = ["kind", "from_status", "to_status", "message", "data", "channel", "actor", "at"]


class StaffOrderSerializer(serializers.ModelSerializer):
    reference = serializers.CharField()
    channel = serializers.SlugRelatedField(slug_field="code", read_only=True)
    origin_channel = serializers.SlugRelatedField(slug_field="code", read_only=True)
    customer = serializers.PrimaryKeyRelatedField(read_only=True)
    total = serializers.SerializerMethodField()
    shipments = StaffShipmentSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "reference",
            "status",
            "channel",
            "origin_channel",
            "customer",
            "email",
            "phone",
            "payment_method",
            "shipping_address",
            "total",
            "created_at",
            "shipments",
        ]

    def get_total(self, order: Order) -> dict:
        return {"amount": str(order.total_amount), "currency": order.currency}


class StaffOrderDetailSerializer(StaffOrderSerializer):
    events = StaffOrderEventSerializer(many=True, read_only=True)

    class Meta(StaffOrderSerializer.Meta):
        fields = [*StaffOrderSerializer.Meta.fields, "events"]


class StaffReturnLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="order_line.sku")
    restock_location = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = ReturnLine
        fields = ["id", "order_line", "sku", "quantity", "reason", "restock_location", "amount"]


class StaffReturnSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(source="__str__")
    order = serializers.CharField(source="order.reference")
    channel = serializers.SlugRelatedField(slug_field="code", read_only=True)
    lines = StaffReturnLineSerializer(many=True, read_only=True)

    class Meta:
        model = Return
        fields = [
            "id",
            "reference",
            "order",
            "channel",
            "is_cross_channel",
            "outcome",
            "amount",
            "currency",
            "settlement",
            "note",
            "created_at",
            "lines",
        ]


def orders_with_fulfilment():
    lines = OrderLine.objects.select_related("location").order_by("id")
    return Order.objects.select_related("channel", "origin_channel").prefetch_related(
        Prefetch(
            "shipments",
            Shipment.objects.select_related("location")
            .prefetch_related(Prefetch("lines", lines))
            .order_by("id"),
        )
    )


def order_detail(order_id: int) -> dict:
    order = (
        orders_with_fulfilment()
        .prefetch_related(Prefetch("events", OrderEvent.objects.select_related("channel", "actor")))
        .get(pk=order_id)
    )
    return StaffOrderDetailSerializer(order).data


# --- Input ------------------------------------------------------------------------------


class ActingChannelField(serializers.SlugRelatedField):
    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("slug_field", "code")
        kwargs.setdefault("queryset", SalesChannel.objects.filter(is_active=True))
        super().__init__(**kwargs)


class ActionInputSerializer(serializers.Serializer):
    channel = ActingChannelField(
        required=False,
        allow_null=True,
        help_text="Code of the channel the staff member acts on (a store), for the timeline.",
    )


class ShipInputSerializer(ActionInputSerializer):
    carrier = serializers.CharField(max_length=50)
    tracking_number = serializers.CharField(max_length=100)
    line_ids = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        allow_empty=False,
        help_text="Only these lines are in the parcel; the others move to a new shipment.",
    )


class CollectInputSerializer(ActionInputSerializer):
    code = serializers.CharField(max_length=20, help_text="The pickup code the customer shows.")


class CancelInputSerializer(ActionInputSerializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class QuantityInputSerializer(ActionInputSerializer):
    quantity = serializers.IntegerField(
        min_value=0, max_value=MAX_LINE_QUANTITY, help_text="0 removes the line."
    )


class RelocateInputSerializer(ActionInputSerializer):
    location = serializers.SlugRelatedField(
        slug_field="code", queryset=Location.objects.all(), help_text="Location code."
    )


class ReturnLineInputSerializer(serializers.Serializer):
    order_line = serializers.IntegerField()
    quantity = serializers.IntegerField(min_value=1)
    reason = serializers.ChoiceField(choices=ReturnLine.Reason.choices)
    restock_location = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Location.objects.all(),
        required=False,
        allow_null=True,
        help_text="The receiving location (default) or a quarantine location.",
    )


class ReturnInputSerializer(serializers.Serializer):
    order = serializers.PrimaryKeyRelatedField(queryset=Order.objects.all())
    channel = ActingChannelField(help_text="Code of the channel receiving the goods.")
    receiving_location = serializers.SlugRelatedField(
        slug_field="code", queryset=Location.objects.all(), help_text="Location code."
    )
    outcome = serializers.ChoiceField(choices=Return.Outcome.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    lines = ReturnLineInputSerializer(many=True)


# --- Views ------------------------------------------------------------------------------


@extend_schema(
    summary="Orders to fulfil",
    description="Open orders (placed, processing, partially fulfilled) unless `status` "
    "says otherwise; with `location` or `kind`, only orders with a shipment still to hand "
    "over there or of that kind.",
    parameters=[
        OpenApiParameter("status", str, description="Order statuses, comma-separated, or `all`."),
        OpenApiParameter("location", str, description="Location code of an open shipment."),
        OpenApiParameter("kind", str, enum=[Fulfilment.SHIP, Fulfilment.COLLECT]),
        OpenApiParameter("channel", str, description="Channel code the order was placed on."),
    ],
    responses={200: StaffOrderSerializer(many=True), **errors()},
)
class StaffOrderListView(generics.ListAPIView):
    serializer_class = StaffOrderSerializer

    def get_queryset(self):
        params = self.request.query_params
        orders = orders_with_fulfilment()
        wanted = params.get("status", "")
        if wanted != "all":
            chosen = [s for s in wanted.split(",") if s] or OPEN_ORDER_STATUSES
            unknown = sorted(set(chosen) - set(Order.Status.values))
            if unknown:
                raise serializers.ValidationError({"status": [f"Unknown: {', '.join(unknown)}"]})
            orders = orders.filter(status__in=chosen)
        if channel := params.get("channel"):
            orders = orders.filter(channel__code=channel)
        location, kind = params.get("location"), params.get("kind")
        if kind and kind not in (Fulfilment.SHIP, Fulfilment.COLLECT, Fulfilment.TAKEN_NOW):
            raise serializers.ValidationError({"kind": [f"Unknown: {kind}"]})
        if location or kind:
            shipment = Q(shipments__status__in=SHIPMENT_OPEN)
            if location:
                shipment &= Q(shipments__location__code=location)
            if kind:
                shipment &= Q(shipments__kind=kind)
            orders = orders.filter(pk__in=Order.objects.filter(shipment).values("pk"))
        return orders_visible_to(self.request.user, orders)


@extend_schema(
    summary="One order, with its shipments, lines and timeline",
    responses={200: StaffOrderDetailSerializer, **errors(**{"404": "No such order."})},
)
class StaffOrderDetailView(APIView):
    def get(self, request, pk: int):
        generics.get_object_or_404(_orders(request).only("pk"), pk=pk)
        return Response(order_detail(pk))


def _orders(request):
    """The orders this member of staff may see: those of their stores (head office:
    all); any other answers 404, as if it did not exist."""
    return orders_visible_to(request.user, Order.objects.all())


def _shipment(request, pk: int) -> Shipment:
    """A shipment of an order they see, prepared at a location they work at."""
    shipment = generics.get_object_or_404(
        Shipment.objects.select_related("location").filter(order__in=_orders(request)), pk=pk
    )
    if not staff_acts_at(request.user, shipment.location_id):
        raise LocationNotYours(shipment.location.code, "shipment")
    return shipment


def _line(request, pk: int) -> OrderLine:
    return generics.get_object_or_404(OrderLine.objects.filter(order__in=_orders(request)), pk=pk)


def action_schema(summary: str, request: type[serializers.Serializer], **refusals: str):
    """The schema of a staff action's POST: its input, the Idempotency-Key, the order as
    it now is, and ``refusals`` ({"409": "…"}) besides the usual ones."""
    return extend_schema(
        summary=summary,
        request=request,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: StaffOrderDetailSerializer, **action_errors(**refusals)},
    )


# A staff action on one order: check the input's shape (``input_serializer``), find what
# it acts on and call one service (``act``), answer the order as it now is. (A comment,
# not a docstring: the schema would show it as every action's description.)
class StaffActionView(APIView):
    input_serializer: type[serializers.Serializer] = ActionInputSerializer

    def act(self, request, pk: int, values: dict, who: dict) -> int:
        """Call the service with ``who`` (the acting user and channel); return the id of
        the order it changed."""
        raise NotImplementedError

    @idempotent
    def post(self, request, pk: int):
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        who = {"user": acting_user(request), "channel": values.get("channel")}
        return Response(order_detail(self.act(request, pk, values, who)))


class ShipmentStepView(StaffActionView):
    """Pick, pack or ready: a step with nothing to say but who and where."""

    service: Callable[..., Shipment]  # the step's service, a staticmethod

    def act(self, request, pk: int, values: dict, who: dict) -> int:
        shipment = _shipment(request, pk)
        self.service(shipment=shipment, **who)
        return shipment.order_id


@extend_schema_view(
    post=action_schema(
        "Start picking a shipment",
        ActionInputSerializer,
        **{"409": "The shipment is not pending."},
    )
)
class ShipmentPickView(ShipmentStepView):
    service = staticmethod(shipment_pick_start)


@extend_schema_view(
    post=action_schema(
        "Mark a shipment packed",
        ActionInputSerializer,
        **{"409": "The shipment is not being picked."},
    )
)
class ShipmentPackView(ShipmentStepView):
    service = staticmethod(shipment_pack)


@extend_schema_view(
    post=action_schema(
        "Click & collect: ready for pickup (draws the code, tells the customer)",
        ActionInputSerializer,
        **{"409": "Not a click & collect shipment still to prepare."},
    )
)
class ShipmentReadyView(ShipmentStepView):
    service = staticmethod(shipment_ready)


@extend_schema_view(
    post=action_schema(
        "Ship a parcel with its carrier and tracking number (or some of its lines)",
        ShipInputSerializer,
        **{
            "409": "Not a parcel still to ship (`shipment_transition_refused`), or "
            "its reserved units are gone (`reservation_not_active`)."
        },
    )
)
class ShipmentShipView(StaffActionView):
    input_serializer = ShipInputSerializer

    def act(self, request, pk: int, values: dict, who: dict) -> int:
        shipment = _shipment(request, pk)
        shipment_ship(
            shipment=shipment,
            carrier=values["carrier"],
            tracking_number=values["tracking_number"],
            line_ids=values.get("line_ids"),
            **who,
        )
        return shipment.order_id


@extend_schema_view(
    post=action_schema(
        "Click & collect: hand the goods over against the pickup code",
        CollectInputSerializer,
        **{
            "400": "Malformed input, or the wrong pickup code (`pickup_code_wrong`).",
            "409": "The shipment is not ready for pickup.",
        },
    )
)
class ShipmentCollectView(StaffActionView):
    input_serializer = CollectInputSerializer

    def act(self, request, pk: int, values: dict, who: dict) -> int:
        shipment = _shipment(request, pk)
        shipment_collect(shipment=shipment, code=values["code"], **who)
        return shipment.order_id


@extend_schema_view(
    post=action_schema(
        "Cancel every line not yet fulfilled (their reserved units go back)",
        CancelInputSerializer,
        **{"409": "Nothing left to cancel (`order_not_cancellable`)."},
    )
)
class OrderCancelView(StaffActionView):
    input_serializer = CancelInputSerializer

    def act(self, request, pk: int, values: dict, who: dict) -> int:
        order = generics.get_object_or_404(_orders(request), pk=pk)
        order_cancel(order=order, reason=values["reason"], **who)
        return order.pk


@extend_schema_view(
    post=action_schema(
        "Change a line's quantity before its preparation starts (0 removes it)",
        QuantityInputSerializer,
        **{
            "409": "Preparation has started (`order_line_not_editable`) or too few "
            "units are available (`insufficient_stock`)."
        },
    )
)
class OrderLineQuantityView(StaffActionView):
    input_serializer = QuantityInputSerializer

    def act(self, request, pk: int, values: dict, who: dict) -> int:
        line = _line(request, pk)
        if values["quantity"] == 0:
            order_line_remove(line=line, **who)
        else:
            order_line_quantity_set(line=line, quantity=values["quantity"], **who)
        return line.order_id


@extend_schema_view(
    post=action_schema(
        "Fulfil a line from another location (reserved there first)",
        RelocateInputSerializer,
        **{
            "400": "Malformed input, or a location that cannot fulfil this line "
            "(`relocation_invalid`).",
            "409": "Preparation has started (`order_line_not_editable`) or too few "
            "units are available there (`insufficient_stock`).",
        },
    )
)
class OrderLineRelocateView(StaffActionView):
    input_serializer = RelocateInputSerializer

    def act(self, request, pk: int, values: dict, who: dict) -> int:
        line = _line(request, pk)
        order_line_relocate(line=line, location=values["location"], **who)
        return line.order_id


class ReturnPagination(CursorPagination):
    ordering = "-id"


class ReturnListCreateView(generics.ListAPIView):
    serializer_class = StaffReturnSerializer
    pagination_class = ReturnPagination

    def returns(self):
        return Return.objects.select_related("order", "channel").prefetch_related(
            Prefetch(
                "lines",
                ReturnLine.objects.select_related("order_line", "restock_location").order_by("id"),
            )
        )

    def get_queryset(self):
        returns = returns_visible_to(self.request.user, self.returns())
        params = self.request.query_params
        if order := params.get("order"):
            order_id = whole_number(order, minimum=1)
            if order_id is None:
                raise serializers.ValidationError({"order": ["An order id."]})
            returns = returns.filter(order_id=order_id)
        if channel := params.get("channel"):
            returns = returns.filter(channel__code=channel)
        if (cross := params.get("cross_channel")) is not None:
            returns = returns.filter(is_cross_channel=cross.lower() in ("1", "true", "yes"))
        return returns

    @extend_schema(
        summary="Returns, newest first",
        parameters=[
            OpenApiParameter("order", int, description="Only this order's returns."),
            OpenApiParameter("channel", str, description="Returned on this channel (code)."),
            OpenApiParameter("cross_channel", bool),
        ],
        responses={200: StaffReturnSerializer(many=True), **errors()},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Record a return (any channel, any channel's order); restocks at once",
        request=ReturnInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: StaffReturnSerializer,
            **action_errors(
                **{
                    "400": "Malformed input: an empty return, a line twice, a line of "
                    "another order, a restock place that is neither the receiving location "
                    "nor quarantine.",
                    "409": "More than bought and not yet returned "
                    "(`return_quantity_exceeded`, details per line), or a line not "
                    "fulfilled (`return_line_not_fulfilled`).",
                }
            ),
        },
    )
    @idempotent
    def post(self, request):
        data = ReturnInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        receiving = values["receiving_location"]
        if not staff_acts_at(request.user, receiving.pk):
            raise LocationNotYours(receiving.code, "return")
        ret = return_create(
            order=values["order"],
            channel=values["channel"],
            receiving_location=values["receiving_location"],
            outcome=values["outcome"],
            note=values["note"],
            user=acting_user(request),
            lines=[
                {
                    "order_line": line["order_line"],
                    "quantity": line["quantity"],
                    "reason": line["reason"],
                    "restock_location": line.get("restock_location"),
                }
                for line in values["lines"]
            ],
        )
        return Response(
            StaffReturnSerializer(self.returns().get(pk=ret.pk)).data,
            status=status.HTTP_201_CREATED,
        )
