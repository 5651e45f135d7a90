"""Shapes of the payments API: inputs are checked for shape only (the rules are the
services'), outputs are explicit. No card number is accepted: a token made of 12 to 19
digits is refused before anything else happens."""

from __future__ import annotations

import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from payments.exceptions import CardNumberRefused
from payments.models import Instalment, InstalmentPlan, Payment, PaymentOperation

AMOUNT = {"max_digits": 12, "decimal_places": 2, "min_value": 0}
CARD_LIKE = re.compile(r"[\d\s-]{12,40}")


def token_field_check(value: str) -> str:
    """A provider token, never a card number: anything made of 12-19 digits (spaces and
    dashes aside) is refused, Luhn-valid or not, and never echoed back."""
    digits = re.sub(r"[\s-]", "", value or "")
    if CARD_LIKE.fullmatch(value or "") and 12 <= len(digits) <= 19 and digits.isdigit():
        raise CardNumberRefused()
    return value


class TokenField(serializers.CharField):
    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", 255)
        kwargs.setdefault(
            "help_text",
            "The payment provider's token for the customer's payment method (the simulated "
            "gateway: sim_ok, sim_decline, sim_delayed…). Never a card number.",
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        return token_field_check(super().to_internal_value(data))


# --- inputs


class PaymentStartInput(serializers.Serializer):
    method = serializers.ChoiceField(
        choices=[m for m in Payment.Method.values if m != Payment.Method.INSTALMENT],
        help_text="Instalment plans are set up with POST …/instalment-plans/.",
    )
    amount = serializers.DecimalField(**AMOUNT)
    currency = serializers.CharField(max_length=3, required=False)
    token = TokenField(required=False, allow_blank=True, default="")
    capture = serializers.BooleanField(
        default=True, help_text="False: only authorise now, capture later."
    )


class PaymentCaptureInput(serializers.Serializer):
    amount = serializers.DecimalField(
        **AMOUNT, required=False, help_text="Less than authorised releases the rest."
    )


class RefundInput(serializers.Serializer):
    amount = serializers.DecimalField(**AMOUNT)
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    method = serializers.CharField(
        max_length=20,
        required=False,
        allow_blank=True,
        default="",
        help_text="Empty: back to this payment. Otherwise another method for the order "
        "(cash, card_terminal; store_credit once the loyalty app provides it).",
    )


class InstalmentPlanInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=InstalmentPlan.Kind.values)
    token = TokenField()
    phone = serializers.CharField(
        max_length=32, required=False, allow_blank=True, default="", help_text="For reminders."
    )
    amount = serializers.DecimalField(
        **AMOUNT, required=False, help_text="Default: what the order still owes."
    )


class OffersQuery(serializers.Serializer):
    amount = serializers.DecimalField(**AMOUNT)
    currency = serializers.CharField(max_length=3, required=False, default="EUR")
    channel = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")


# --- outputs


class OperationOutput(serializers.ModelSerializer):
    class Meta:
        model = PaymentOperation
        fields = [
            "id",
            "kind",
            "status",
            "amount",
            "currency",
            "provider_reference",
            "resolves",
            "error_code",
            "error_message",
            "reason",
            "created_at",
        ]


class InstalmentOutput(serializers.ModelSerializer):
    class Meta:
        model = Instalment
        fields = [
            "number",
            "due_date",
            "amount",
            "status",
            "attempts",
            "next_attempt_at",
            "last_error",
            "paid_at",
        ]


class InstalmentPlanOutput(serializers.ModelSerializer):
    payment = serializers.PrimaryKeyRelatedField(read_only=True)
    parts = InstalmentOutput(many=True, read_only=True)

    class Meta:
        model = InstalmentPlan
        fields = ["id", "payment", "kind", "status", "amount", "currency", "phone", "parts"]


class PaymentOutput(serializers.ModelSerializer):
    channel = serializers.SlugRelatedField(slug_field="code", read_only=True)
    operations = OperationOutput(many=True, read_only=True)
    plan = serializers.SerializerMethodField()

    class Meta:
        model = Payment
        fields = [
            "id",
            "method",
            "status",
            "amount",
            "currency",
            "captured_amount",
            "refunded_amount",
            "tendered_amount",
            "change_amount",
            "gateway",
            "provider_reference",
            "card_brand",
            "card_last4",
            "channel",
            "created_at",
            "operations",
            "plan",
        ]

    @extend_schema_field(InstalmentPlanOutput(allow_null=True))
    def get_plan(self, payment: Payment) -> dict | None:
        plan = getattr(payment, "plan", None) if payment.method == "instalment" else None
        return InstalmentPlanOutput(plan).data if plan is not None else None


class OrderPaymentsOutput(serializers.Serializer):
    order = serializers.CharField(help_text="The order's reference.")
    currency = serializers.CharField()
    total_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    payment_status = serializers.CharField(help_text="Derived from the operations ledger.")
    paid_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="Captured less refunded."
    )
    amount_due = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        help_text="What is still owed: the total less what is paid or being paid (an "
        "instalment plan's later parts count as being paid).",
    )
    refundable_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    payments = PaymentOutput(many=True)


class OfferPartOutput(serializers.Serializer):
    due_date = serializers.DateField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)


class OfferOutput(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    due_now = serializers.DecimalField(max_digits=12, decimal_places=2)
    parts = OfferPartOutput(many=True)
