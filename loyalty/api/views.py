"""A signed-in customer's balances over the API: points, store credit and the gift cards
they bought (a gift card is a bearer card: its balance is also readable by code, with the
code, at ``POST /api/v1/gift-cards/balance/``)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty.selectors import customer_balances
from unicommerce.api.errors import error_responses

ERRORS = {401: "Missing or invalid customer token.", 403: "Not a customer's token."}


class PointsOutputSerializer(serializers.Serializer):
    active = serializers.BooleanField(help_text="A points programme runs in this currency.")
    balance = serializers.IntegerField()
    value = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="What the points pay for now."
    )
    next_expiry = serializers.DateTimeField(allow_null=True)
    min_redeem_points = serializers.IntegerField(allow_null=True)


class GiftCardOutputSerializer(serializers.Serializer):
    last4 = serializers.CharField(help_text="The code's last four characters.")
    balance = serializers.DecimalField(max_digits=12, decimal_places=2)
    expires_at = serializers.DateTimeField(allow_null=True)
    is_active = serializers.BooleanField()


class BalancesOutputSerializer(serializers.Serializer):
    currency = serializers.CharField()
    points = PointsOutputSerializer()
    store_credit = serializers.DecimalField(max_digits=12, decimal_places=2)
    gift_cards = GiftCardOutputSerializer(many=True, help_text="The cards they bought.")


class MyBalancesView(APIView):
    """A customer token, about that customer only (unicommerce/access/table.py)."""

    @extend_schema(
        summary="The signed-in customer's points, store credit and gift cards",
        responses={200: BalancesOutputSerializer, **error_responses(ERRORS)},
        tags=["customer account"],
    )
    def get(self, request):
        balances = customer_balances(request.user.customer, currency=settings.DEFAULT_CURRENCY)
        return Response(BalancesOutputSerializer(balances).data)
