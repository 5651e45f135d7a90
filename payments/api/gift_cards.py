"""Gift cards as a tender through the API: POST /api/v1/gift-cards/balance/ tells what is
left on a card given its code (a POST: the code is a bearer secret, never in a URL or a
log line). Paying with one is ``POST /api/v1/orders/{ref}/payments/`` with
``method=gift_card`` and the code as ``token``.

Every lookup by code counts against the caller's limits
(``gift_card_lookup_per_caller``, and the failed ones against
``gift_card_lookup_failed_per_caller``): a browser's caller (anonymous, publishable key,
customer) is its address, a secret key or staff their own id. Every failed lookup gets
the same 404 ``gift_card_invalid``.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty.models import GiftCard
from loyalty.services.gift_cards import gift_card_balance, gift_card_find
from unicommerce.access.limits import BY_ADDRESS
from unicommerce.access.principals import principal_of
from unicommerce.api.errors import error_responses
from unicommerce.ratelimit import caller_id, client_ip


def gift_card_caller(request) -> str:
    """Who a code lookup counts against: a browser's address, else the key or person."""
    if principal_of(request.user) in BY_ADDRESS:
        return f"ip:{client_ip(request)}"
    return caller_id(request.user)


class GiftCardBalanceInput(serializers.Serializer):
    code = serializers.CharField(
        max_length=100, help_text="The card's code, with or without dashes or spaces."
    )


class GiftCardBalanceOutput(serializers.ModelSerializer):
    balance = serializers.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        model = GiftCard
        fields = ["last4", "currency", "balance", "initial_amount", "purpose", "expires_at"]


class GiftCardBalanceView(APIView):
    @extend_schema(
        summary="What is left on a gift card, given its code",
        description="Rate-limited per caller; unknown, blocked, expired and malformed codes "
        "all answer the same 404 gift_card_invalid.",
        request=GiftCardBalanceInput,
        responses={
            200: GiftCardBalanceOutput,
            **error_responses(
                {
                    400: "No code (invalid).",
                    401: "Missing or invalid credentials.",
                    403: "Not allowed for this key or user.",
                    404: "gift_card_invalid: not a card that can be used (one answer for "
                    "every reason).",
                    429: "rate_limited: too many lookups (or failed lookups) from this caller.",
                }
            ),
        },
    )
    def post(self, request):
        serializer = GiftCardBalanceInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        card = gift_card_find(
            code=serializer.validated_data["code"], caller=gift_card_caller(request)
        )
        card.balance = gift_card_balance(card)
        return Response(GiftCardBalanceOutput(card).data)


urlpatterns = [
    path("gift-cards/balance/", GiftCardBalanceView.as_view(), name="api-gift-card-balance"),
]
