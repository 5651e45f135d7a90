"""The payments REST API: an order's payments and what is due, taking a payment (split
tender), capture, void, refunds (to the payment or another method), instalment offers
and plans.

Callers (unicommerce/access/table.py): a sales channel's key (orders placed on, or carted
on, its channel; a publishable key only takes remote payments), a customer's token (their
own orders), or staff of the order's stores (``payments.view_payment`` to read,
``payments.add_payment`` to take payments and set up plans, ``payments.change_payment``
to capture, void and refund). Cash, the card terminal and refunds in cash, on the
terminal or to store credit are for staff only (403 ``in_person_only``). Every POST needs an
``Idempotency-Key``: it becomes the payments ledger's own key, prefixed by the caller
(``channel:<id>:``, ``user:<id>:``, ``customer:<id>:``), so the same key answers the
same result without charging twice, and two callers' keys never collide. Views parse,
call one service of ``payments`` and render; refusals are the services' typed errors in
the API's one error shape.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty.services.gift_cards import gift_card_find
from orders.exceptions import OrderNotFound
from orders.models import Order
from orders.selectors import order_visible_to
from payments.api.gift_cards import gift_card_caller
from payments.api.serializers import (
    InstalmentPlanInput,
    InstalmentPlanOutput,
    OfferOutput,
    OffersQuery,
    OrderPaymentsOutput,
    PaymentCaptureInput,
    PaymentOutput,
    PaymentStartInput,
    RefundInput,
)
from payments.models import Instalment, InstalmentPlan, Payment, PaymentOperation
from payments.selectors import (
    order_outstanding_amount,
    order_payment_totals,
    order_refundable_amount,
)
from payments.services.capture import payment_capture
from payments.services.instalments import instalment_offers, instalment_plan_start
from payments.services.refund import payment_refund
from payments.services.refund_methods import refund_to_method
from payments.services.start import payment_start
from payments.services.void import payment_void
from unicommerce.access.principals import STAFF, principal_of
from unicommerce.api.errors import error_responses
from unicommerce.api.permissions import acting_user, channel_of
from unicommerce.channels.models import SalesChannel
from unicommerce.exceptions import InPersonOnly, InvalidInput, NotFound

REFERENCE = re.compile(r"^UC(\d{1,12})$", re.IGNORECASE)
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="Any unique string (a UUID), at most 200 characters. The same key again "
    "answers the same result and never charges twice; the same key with other "
    "parameters is refused (422 idempotency_key_reused).",
)


class IdempotencyKeyMissing(InvalidInput):
    code = "idempotency_key_missing"

    def __init__(self) -> None:
        super().__init__(
            "Send an Idempotency-Key header (a UUID) of at most 200 characters.",
            header=IDEMPOTENCY_HEADER,
        )


class PaymentNotFound(NotFound):
    code = "payment_not_found"

    def __init__(self, pk: int) -> None:
        super().__init__(f"No payment {pk}.", payment_id=pk)


class ChannelUnknown(InvalidInput):
    code = "channel_unknown"

    def __init__(self, code: str) -> None:
        super().__init__(f"No sales channel {code!r}.", channel=code)


ERRORS = {
    400: "Malformed input (invalid, with the fields in details), or a rule on the "
    "input (card_number_refused, idempotency_key_missing, payment_amount_invalid…).",
    401: "Missing or invalid credentials.",
    403: "Not allowed for this key or user, or an in-person method (cash, card "
    "terminal, a refund to store credit) from anyone but the store's staff "
    "(in_person_only).",
}


def errors(**extra: str) -> dict:
    return error_responses(ERRORS, **extra)


def post_errors(**extra: str) -> dict:
    return errors(
        **{
            "402": "Declined by the provider (payment_declined, instalment_declined): "
            "nothing was charged.",
            "404": "No such order or payment for this caller.",
            "409": "A payment rule said no (payment_exceeds_due, payment_state_invalid, "
            "refund_exceeds_captured, order_not_payable, payment_in_progress…).",
            "422": "The Idempotency-Key was already used for a different request.",
            "503": "The provider did not answer: retry with the same Idempotency-Key.",
            **extra,
        }
    )


def idempotency_key_of(request) -> str:
    """The caller's Idempotency-Key as a payments ledger key, prefixed by the caller."""
    raw = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not raw or len(raw) > 200:
        raise IdempotencyKeyMissing()
    user = request.user
    customer = getattr(user, "customer", None)
    if customer is not None:
        owner = f"customer:{customer.pk}"
    elif channel_of(request) is not None:
        owner = f"channel:{channel_of(request).pk}"
    else:
        owner = f"user:{user.pk}"
    return f"{owner}:{raw}"


def _visible(request, order: Order) -> bool:
    """A customer sees their own orders, a channel's key those placed or carted on its
    channel, staff those of their stores (head office: all)."""
    customer = getattr(request.user, "customer", None)
    if customer is not None:
        return order.customer_id == customer.pk
    channel = channel_of(request)
    if channel is not None:
        return channel.pk in (order.channel_id, order.origin_channel_id)
    return order_visible_to(request.user, order)


# Tenders a person hands over at a till, and refunds that only a store gives (cash from
# its drawer, the terminal, the customer's store credit or points): staff of the order's
# store only. A customer may still spend their own store credit or points online.
IN_PERSON_METHODS = frozenset(
    {
        Payment.Method.CASH,
        Payment.Method.CARD_TERMINAL,
        Payment.Method.STORE_CREDIT,
        Payment.Method.POINTS,
    }
)
CUSTOMER_LEDGERS = frozenset({Payment.Method.STORE_CREDIT, Payment.Method.POINTS})


def _in_person_check(request, method: str, *, refund: bool = False) -> None:
    if method not in IN_PERSON_METHODS or principal_of(request.user) == STAFF:
        return  # staff reach only orders of their stores (``_order``/``_payment``)
    if method in CUSTOMER_LEDGERS and not refund:
        return  # a customer may spend their own store credit or points online
    raise InPersonOnly(
        f"{Payment.Method(method).label.capitalize()} is handled at the store, by its staff: "
        "a channel's key or a customer cannot record it.",
        reason="payment_method",
    )


def _order(request, reference: str) -> Order:
    match = REFERENCE.match(reference.strip())
    order = Order.objects.filter(pk=int(match.group(1))).first() if match else None
    if order is None or not _visible(request, order):
        raise OrderNotFound(reference)
    return order


def _payment(request, pk: int) -> Payment:
    payment = Payment.objects.select_related("order").filter(pk=pk).first()
    if payment is None or not _visible(request, payment.order):
        raise PaymentNotFound(pk)
    return payment


def _payments_queryset():
    return Payment.objects.select_related("channel", "plan").prefetch_related(
        Prefetch("operations", queryset=PaymentOperation.objects.order_by("created_at", "id")),
        Prefetch("plan__parts", queryset=Instalment.objects.order_by("number")),
    )


def _payment_body(payment: Payment) -> dict:
    return PaymentOutput(_payments_queryset().get(pk=payment.pk)).data


def order_payments_payload(order: Order) -> dict:
    """An order's payments, their operations and what is due (also for other faces)."""
    captured, refunded, in_flight = order_payment_totals(order)
    payments = _payments_queryset().filter(order=order).order_by("created_at", "id")
    return OrderPaymentsOutput(
        {
            "order": order.reference,
            "currency": order.currency,
            "total_amount": order.total_amount,
            "payment_status": order.payment_status,
            "paid_amount": captured - refunded,
            "amount_due": max(order.total_amount - (captured - refunded) - in_flight, Decimal(0)),
            "refundable_amount": max(order_refundable_amount(order), Decimal(0)),
            "payments": payments,
        }
    ).data


class OrderPaymentsView(APIView):
    @extend_schema(
        summary="An order's payments with their operations, its derived payment status "
        "and the amount still due",
        responses={
            200: OrderPaymentsOutput,
            **errors(**{"404": "No such order (order_not_found)."}),
        },
    )
    def get(self, request, reference: str):
        return Response(order_payments_payload(_order(request, reference)))

    @extend_schema(
        summary="Take a payment towards the order (split tender: one call per tender)",
        description="Captured at once, or only authorised with capture=false; "
        "remote methods go through the configured gateway with the token; a gift card's "
        "code is the token (checked first under the caller's lookup limits: 404 "
        "gift_card_invalid, 429 rate_limited). Refused: more than the amount due, another "
        "currency, a card number, a gift card paying for a gift card.",
        parameters=[IDEMPOTENCY_KEY],
        request=PaymentStartInput,
        responses={
            201: PaymentOutput,
            **post_errors(
                **{
                    "404": "No such order for this caller, or a gift card code that cannot "
                    "be used (gift_card_invalid, the same answer for every reason).",
                    "429": "Too many gift card code lookups from this caller (rate_limited).",
                }
            ),
        },
    )
    def post(self, request, reference: str):
        order = _order(request, reference)
        data = input_valid(PaymentStartInput, request.data)
        _in_person_check(request, data["method"])
        if data["method"] == Payment.Method.GIFT_CARD:  # rate-limited, one uniform 404
            gift_card_find(code=data["token"], caller=gift_card_caller(request))
        key = idempotency_key_of(request)
        payment = payment_start(
            order=order,
            method=data["method"],
            amount=data["amount"],
            currency=data.get("currency"),
            token=data["token"],
            capture=data["capture"],
            idempotency_key=key,
            user=acting_user(request),
            channel=channel_of(request) or order.channel,
        )
        return Response(_payment_body(payment), status=status.HTTP_201_CREATED)


def input_valid(serializer_class, data) -> dict:
    """The input checked by ``serializer_class`` (a 400 ``invalid`` otherwise)."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class PaymentCaptureView(APIView):
    @extend_schema(
        summary="Capture an authorised payment, in full or for less",
        parameters=[IDEMPOTENCY_KEY],
        request=PaymentCaptureInput,
        responses={200: PaymentOutput, **post_errors()},
    )
    def post(self, request, pk: int):
        payment = _payment(request, pk)
        data = input_valid(PaymentCaptureInput, request.data)
        payment = payment_capture(
            payment=payment,
            amount=data.get("amount"),
            idempotency_key=idempotency_key_of(request),
            user=acting_user(request),
        )
        return Response(_payment_body(payment))


class PaymentVoidView(APIView):
    @extend_schema(
        summary="Release an authorisation that will not be captured",
        parameters=[IDEMPOTENCY_KEY],
        request=None,
        responses={200: PaymentOutput, **post_errors()},
    )
    def post(self, request, pk: int):
        payment = _payment(request, pk)
        payment = payment_void(
            payment=payment, idempotency_key=idempotency_key_of(request), user=acting_user(request)
        )
        return Response(_payment_body(payment))


class PaymentRefundView(APIView):
    @extend_schema(
        summary="Refund (part of) a payment, to the payment itself or by another method",
        description="Without method (or with the payment's own), the money goes back to the "
        "payment through its gateway. With another method (cash, card_terminal at the till; "
        "store_credit once loyalty provides it) the order is refunded that way. Never more "
        "than the order has paid and not had back.",
        parameters=[IDEMPOTENCY_KEY],
        request=RefundInput,
        responses={
            201: PaymentOutput,
            **post_errors(
                **{
                    "409": "refund_exceeds_captured, refund_exceeds_paid, "
                    "payment_state_invalid, store_credit_unavailable…"
                }
            ),
        },
    )
    def post(self, request, pk: int):
        payment = _payment(request, pk)
        data = input_valid(RefundInput, request.data)
        key = idempotency_key_of(request)
        method = data["method"]
        if method and method != payment.method:
            _in_person_check(request, method, refund=True)
            operation = refund_to_method(
                order=payment.order,
                amount=data["amount"],
                method=method,
                user=acting_user(request),
                idempotency_key=key,
                reason=data["reason"],
            )
        else:
            operation = payment_refund(
                payment=payment,
                amount=data["amount"],
                idempotency_key=key,
                reason=data["reason"],
                user=acting_user(request),
            )
        return Response(
            _payment_body(Payment(pk=operation.payment_id)), status=status.HTTP_201_CREATED
        )


class InstalmentOffersView(APIView):
    @extend_schema(
        summary="The instalment plans offered for an amount on a channel",
        parameters=[
            OpenApiParameter("amount", str, required=True, description="e.g. 129.90"),
            OpenApiParameter("currency", str, required=False, description="Default EUR."),
            OpenApiParameter(
                "channel",
                str,
                required=False,
                description="A channel's code (staff); a channel key always asks for its own.",
            ),
        ],
        responses={200: OfferOutput(many=True), **errors()},
    )
    def get(self, request):
        query = input_valid(OffersQuery, request.query_params)
        channel = channel_of(request)
        if channel is None and query["channel"]:
            channel = SalesChannel.objects.filter(code=query["channel"]).first()
            if channel is None:
                raise ChannelUnknown(query["channel"])
        offers = instalment_offers(
            amount=query["amount"], currency=query["currency"], channel=channel
        )
        return Response(
            OfferOutput(
                [
                    {
                        "kind": o.kind,
                        "label": o.label,
                        "amount": o.amount,
                        "currency": o.currency,
                        "due_now": o.due_now,
                        "parts": [{"due_date": d, "amount": a} for d, a in o.parts],
                    }
                    for o in offers
                ],
                many=True,
            ).data
        )


class InstalmentPlanCreateView(APIView):
    @extend_schema(
        summary="Pay the order in instalments: the plan, and its first part charged now",
        description="Deferred plans (d15, d30) charge nothing now. A declined first part "
        "sets up no plan (402 instalment_declined); a plan not offered for this amount or "
        "channel is refused with the reason (400 instalment_plan_not_eligible).",
        parameters=[IDEMPOTENCY_KEY],
        request=InstalmentPlanInput,
        responses={201: InstalmentPlanOutput, **post_errors()},
    )
    def post(self, request, reference: str):
        order = _order(request, reference)
        data = input_valid(InstalmentPlanInput, request.data)
        key = idempotency_key_of(request)
        amount = data.get("amount")
        if amount is None:
            existing = Payment.objects.filter(idempotency_key=key).first()
            amount = existing.amount if existing else order_outstanding_amount(order)
        plan = instalment_plan_start(
            order=order,
            kind=data["kind"],
            amount=amount,
            token=data["token"],
            idempotency_key=key,
            channel=channel_of(request) or order.channel,
            phone=data["phone"],
            user=acting_user(request),
        )
        plan = InstalmentPlan.objects.prefetch_related(
            Prefetch("parts", queryset=Instalment.objects.order_by("number"))
        ).get(pk=plan.pk)
        return Response(InstalmentPlanOutput(plan).data, status=status.HTTP_201_CREATED)
