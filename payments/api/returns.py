"""Settling a return through the API: POST /api/v1/returns/{id}/settle/.

Staff with ``payments.add_payment`` (no channel keys: paying a return out is a back
office or till decision). ``Idempotency-Key`` required (prefixed by the caller like every
payments key). The view parses, calls ``payments.services.returns.return_settle`` and renders the
return with what moved.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from orders.models import OrderEvent, Return
from orders.selectors import returns_visible_to
from payments.api.views import IDEMPOTENCY_KEY, idempotency_key_of, input_valid, post_errors
from payments.services.returns import SETTLED_EVENT, return_settle
from unicommerce import converters  # noqa: F401 (registers the <id:…> converter)
from unicommerce.api.permissions import acting_user
from unicommerce.exceptions import NotFound


class ReturnNotFound(NotFound):
    code = "return_not_found"

    def __init__(self, pk: int) -> None:
        super().__init__(f"No return {pk}.", return_id=pk)


class ReturnSettleInput(serializers.Serializer):
    method = serializers.CharField(
        max_length=20,
        required=False,
        allow_blank=True,
        default="",
        help_text="Refund outcome only: empty to refund the order's original payments "
        "(newest first), or cash / card_terminal to pay it out at the till.",
    )


class ReturnSettleOutput(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    order = serializers.CharField()
    outcome = serializers.CharField()
    settlement = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    method = serializers.CharField(allow_blank=True)
    operations = serializers.ListField(child=serializers.IntegerField())
    payments = serializers.ListField(child=serializers.IntegerField())


def _body(ret: Return) -> dict:
    event = (
        OrderEvent.objects.filter(order_id=ret.order_id, kind=SETTLED_EVENT, data__return=ret.pk)
        .order_by("-id")
        .first()
    )
    data = event.data if event is not None else {}
    return ReturnSettleOutput(
        {
            "id": ret.pk,
            "reference": str(ret),
            "order": ret.order.reference,
            "outcome": ret.outcome,
            "settlement": ret.settlement,
            "amount": ret.amount,
            "currency": ret.currency,
            "method": data.get("method", ""),
            "operations": data.get("operations", []),
            "payments": data.get("payments", []),
        }
    ).data


class ReturnSettleView(APIView):
    @extend_schema(
        summary="Pay a return out as its outcome says, and mark it settled",
        description="refund: back to the order's original payments (newest first, partial "
        "as needed) or, with method, in cash or on a card terminal at the till; "
        "store_credit: the order's customer is credited; exchange: nothing moves. "
        "A settled return is refused (409 return_already_settled) unless it is the same "
        "Idempotency-Key again, which answers the same result.",
        parameters=[IDEMPOTENCY_KEY],
        request=ReturnSettleInput,
        responses={
            200: ReturnSettleOutput,
            **post_errors(
                **{
                    "404": "No such return (return_not_found).",
                    "409": "return_already_settled, refund_exceeds_paid, "
                    "store_credit_needs_customer, payment_in_progress…",
                }
            ),
        },
    )
    def post(self, request, pk: int):
        # Staff settle the returns their stores received, or of orders of their stores.
        returns = returns_visible_to(request.user, Return.objects.select_related("order"))
        ret = returns.filter(pk=pk).first()
        if ret is None:
            raise ReturnNotFound(pk)
        data = input_valid(ReturnSettleInput, request.data)
        ret = return_settle(
            ret=ret,
            user=acting_user(request),
            method=data["method"] or None,
            idempotency_key=idempotency_key_of(request),
        )
        return Response(_body(Return.objects.select_related("order").get(pk=ret.pk)))


urlpatterns = [
    path("returns/<id:pk>/settle/", ReturnSettleView.as_view(), name="api-return-settle"),
]
