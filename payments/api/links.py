"""Payment links over the API (mounted under /api/v1/ by the lead): create one for an
order or a cart (sent by SMS at once), read its state (with the SMS's), resend, cancel.

Who (unicommerce/access/table.py): staff holding ``payments.add_paymentlink`` (reading
with ``payments.view_paymentlink``) for the orders of their stores, or a channel's secret
key for the orders and carts of its own channel; never a publishable key (each link is an
SMS to a number the caller gives: sends are rate-limited per caller, per link, per
number and per channel). The token is never in an answer: it goes to the customer by
SMS only (and an answer kept for an Idempotency-Key replay would otherwise store it in clear).
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from orders.exceptions import CartNotFound, OrderNotFound
from orders.models import Cart, Order
from orders.selectors import order_visible_to
from payments.models import PaymentLink
from payments.selectors import payment_link_current, payment_link_sms_status
from payments.services.links import payment_link_cancel, payment_link_create, payment_link_resend
from unicommerce.api.errors import error_responses
from unicommerce.api.idempotency import PARAMETER as IDEMPOTENCY_KEY
from unicommerce.api.idempotency import idempotent
from unicommerce.api.permissions import acting_user, channel_of
from unicommerce.exceptions import NotFound

REFERENCE = re.compile(r"^UC0*(\d{1,12})$", re.IGNORECASE)


class PaymentLinkNotFoundById(NotFound):
    code = "payment_link_not_found"

    def __init__(self, link_id: int) -> None:
        super().__init__(_("No payment link %(id)s.") % {"id": link_id}, link_id=link_id)


# --- who may call


def _order_visible(request, order: Order) -> bool:
    """A channel's key: orders placed or carted on its channel; staff: their stores'."""
    channel = channel_of(request)
    if channel is not None:
        return channel.pk in (order.channel_id, order.origin_channel_id)
    return order_visible_to(request.user, order)


def _link(request, link_id: int) -> PaymentLink:
    link = (
        PaymentLink.objects.select_related("order", "payment", "channel").filter(pk=link_id).first()
    )
    if link is None or not _order_visible(request, link.order):
        raise PaymentLinkNotFoundById(link_id)
    return link


# --- shapes


class PaymentLinkCreateInput(serializers.Serializer):
    order = serializers.CharField(
        required=False, help_text="The order's reference (UC00000042). Give it or `cart`."
    )
    cart = serializers.CharField(
        required=False,
        help_text="A cart's token: the cart is checked out (method payment_link, its stock "
        "held) and the link is for the new order.",
    )
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        required=False,
        help_text="At most what the order still owes (the default).",
    )
    phone = serializers.CharField(max_length=32, help_text="The customer's mobile number.")
    language = serializers.ChoiceField(choices=["fr", "en"], default="fr")
    expires_in_minutes = serializers.IntegerField(
        required=False, min_value=1, max_value=60 * 24 * 30
    )
    shipping_address = serializers.DictField(
        required=False, help_text="For a cart whose lines are shipped (see cart checkout)."
    )

    def validate(self, data: dict) -> dict:
        if ("order" in data) == ("cart" in data):
            raise serializers.ValidationError(_("Give either `order` or `cart`."))
        return data


class PaymentLinkResendInput(serializers.Serializer):
    phone = serializers.CharField(
        max_length=32, required=False, help_text="Another number to send it to."
    )


class LinkPaymentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    method = serializers.CharField()
    status = serializers.CharField()


class PaymentLinkOutput(serializers.Serializer):
    id = serializers.IntegerField()
    order = serializers.CharField(help_text="The order's reference.")
    order_payment_status = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=PaymentLink.Status.choices)
    sms_status = serializers.ChoiceField(
        choices=["queued", "sending", "sent", "failed"],
        allow_null=True,
        help_text="The last SMS: the link is `sent` once the worker has sent it.",
    )
    phone = serializers.CharField()
    language = serializers.CharField()
    sends = serializers.IntegerField()
    expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    opened_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    payment = LinkPaymentOutput(allow_null=True)


def link_payload(link: PaymentLink) -> dict:
    payment = link.payment if link.payment_id else None
    return PaymentLinkOutput(
        {
            "id": link.pk,
            "order": link.order.reference,
            "order_payment_status": link.order.payment_status,
            "amount": link.amount,
            "currency": link.currency,
            "status": link.status,
            "sms_status": payment_link_sms_status(link),
            "phone": link.phone,
            "language": link.language,
            "sends": link.sends,
            "expires_at": link.expires_at,
            "created_at": link.created_at,
            "sent_at": link.sent_at,
            "opened_at": link.opened_at,
            "paid_at": link.paid_at,
            "cancelled_at": link.cancelled_at,
            "payment": (
                {"id": payment.pk, "method": payment.method, "status": payment.status}
                if payment
                else None
            ),
        }
    ).data


ERRORS = {
    401: "Missing or invalid credentials.",
    403: "Not allowed for this key or user.",
}


def errors(**extra: str) -> dict:
    return error_responses(ERRORS, **extra)


# --- views


class _LinkView(APIView):
    """Who may call: unicommerce/access/table.py (a channel's secret key, staff with the
    payment link permissions; each send counts against the caller's limit)."""


class PaymentLinkCreateView(_LinkView):
    @extend_schema(
        summary="Create a payment link for an order or a cart, and send it by SMS",
        description="The SMS is sent by a worker (`sms_status`, then `status` sent). For a "
        "cart, the cart is checked out first so its stock is held while the customer pays. "
        "The token is only in the SMS. Send an Idempotency-Key: a retry is the same link.",
        request=PaymentLinkCreateInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: PaymentLinkOutput,
            **errors(
                **{
                    "400": "Malformed input, invalid phone (invalid_phone), amount of zero or "
                    "less (payment_amount_invalid), or a checkout refusal for a cart.",
                    "404": "No such order or cart for this caller (order_not_found, "
                    "cart_not_found).",
                    "409": "More than the order still owes (payment_exceeds_due), a "
                    "cancelled or paid order (order_not_payable), cart lines unavailable.",
                    "422": "The Idempotency-Key was already used for a different request.",
                }
            ),
        },
    )
    @idempotent
    def post(self, request):
        data = PaymentLinkCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        order = cart = None
        channel = channel_of(request)
        if "order" in values:
            match = REFERENCE.match(values["order"].strip())
            order = (
                Order.objects.select_related("channel").filter(pk=int(match.group(1))).first()
                if match
                else None
            )
            if order is None or not _order_visible(request, order):
                raise OrderNotFound(values["order"])
        else:
            cart = Cart.objects.select_related("channel").filter(token=values["cart"]).first()
            if cart is None or (channel is not None and cart.channel_id != channel.pk):
                raise CartNotFound()
        options = {}
        if values.get("shipping_address"):
            options["shipping_address"] = values["shipping_address"]
        minutes = values.get("expires_in_minutes")
        link, _token = payment_link_create(
            order=order,
            cart=cart,
            amount=values.get("amount"),
            phone=values["phone"],
            language=values["language"],
            expires_in=timedelta(minutes=minutes) if minutes else None,
            channel=channel,
            user=acting_user(request),
            checkout_options=options or None,
        )
        return Response(link_payload(link), status=status.HTTP_201_CREATED)


class PaymentLinkDetailView(_LinkView):
    @extend_schema(
        summary="A payment link: its status, its SMS's, and its payment",
        responses={
            200: PaymentLinkOutput,
            **errors(**{"404": "No such link for this caller (payment_link_not_found)."}),
        },
    )
    def get(self, request, link_id: int):
        link = payment_link_current(_link(request, link_id))
        return Response(link_payload(link))


class PaymentLinkResendView(_LinkView):
    @extend_schema(
        summary="Send the link again by SMS (a new token: the old link stops working)",
        request=PaymentLinkResendInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            200: PaymentLinkOutput,
            **errors(
                **{
                    "400": "Invalid phone (invalid_phone).",
                    "404": "No such link for this caller (payment_link_not_found).",
                    "409": "Already paid or being paid (payment_link_used).",
                    "410": "Expired or cancelled (payment_link_expired, payment_link_cancelled).",
                    "422": "The Idempotency-Key was already used for a different request.",
                }
            ),
        },
    )
    @idempotent
    def post(self, request, link_id: int):
        data = PaymentLinkResendInput(data=request.data)
        data.is_valid(raise_exception=True)
        link, _token = payment_link_resend(
            link=_link(request, link_id),
            phone=data.validated_data.get("phone"),
            user=acting_user(request),
        )
        return Response(link_payload(link))


class PaymentLinkCancelView(_LinkView):
    @extend_schema(
        summary="Cancel the link (its token stops working; cancelling twice is harmless)",
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            200: PaymentLinkOutput,
            **errors(
                **{
                    "404": "No such link for this caller (payment_link_not_found).",
                    "409": "Already paid or being paid (payment_link_used).",
                    "422": "The Idempotency-Key was already used for a different request.",
                }
            ),
        },
    )
    @idempotent
    def post(self, request, link_id: int):
        link = payment_link_cancel(link=_link(request, link_id), user=acting_user(request))
        return Response(link_payload(link))
