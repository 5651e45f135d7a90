"""The unified cart over the API: one server-side cart per token, readable and writable
by the channel that created it, by any channel once a customer owns it (the store opens
the customer's web cart), and by the customer's own token. Every answer is the cart as
priced and stocked right now."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from orders.api.discounts import VoucherInputSerializer
from orders.api.serializers import (
    CartCreateInputSerializer,
    CartOutputSerializer,
    CheckoutInputSerializer,
    IdentifyInputSerializer,
    LineInputSerializer,
    LinePatchInputSerializer,
    OrderOutputSerializer,
    cart_payload,
    order_payload,
)
from orders.exceptions import CartVoucherNotFound
from orders.models import OrderEvent
from orders.payment_methods import payment_methods_by_code
from orders.selectors import cart_get, cart_view
from orders.services.cart_discounts import cart_voucher_apply, cart_voucher_remove
from orders.services.cart_identity import cart_identify
from orders.services.carts import (
    cart_create,
    cart_line_add,
    cart_line_fulfilment_set,
    cart_line_set_quantity,
)
from orders.services.checkout import order_checkout
from orders.services.checkout_plan import LineChoice
from unicommerce.access.principals import CUSTOMER, STAFF, STOREFRONT, principal_of
from unicommerce.api.errors import error_responses
from unicommerce.api.idempotency import PARAMETER as IDEMPOTENCY_KEY
from unicommerce.api.idempotency import idempotent
from unicommerce.api.permissions import acting_user, channel_of
from unicommerce.channels.models import SalesChannel
from unicommerce.exceptions import Forbidden
from unicommerce.ratelimit import caller_id, client_ip

ERRORS = {
    400: "Malformed input: the details name each field.",
    401: "Missing or invalid credentials.",
    403: "Not allowed for this key, or the cart belongs to someone else (cart_foreign).",
    404: "No cart has this token (cart_not_found), or no such line.",
    410: "The cart has expired (cart_expired).",
}


def errors(**extra: str) -> dict:
    return error_responses(ERRORS, **extra)


def line_answers(success: int = status.HTTP_200_OK) -> dict:
    """A change of a cart's lines answers the cart as it now is, or one of the usual
    refusals, or 409 for a cart already checked out."""
    return {
        success: CartOutputSerializer,
        **errors(**{"409": "The cart is checked out (cart_closed)."}),
    }


def _customer(request):
    return getattr(request.user, "customer", None)


def _cart(request, token: str):
    """The cart as this caller may see it (the services raise the typed errors)."""
    return cart_get(token=token, channel=channel_of(request), customer=_customer(request))


def _till_channel(till):
    """Staff checking out at a store's till (``till_location``) sell on that store's
    channel, as its registers do."""
    if till is None:
        return None
    return SalesChannel.objects.filter(kind=SalesChannel.Kind.STORE, locations=till).first()


def _acting_channel(request, cart):
    return channel_of(request) or cart.channel


def _answer(request, cart, code: int = status.HTTP_200_OK) -> Response:
    view = cart_view(cart=cart, channel=_acting_channel(request, cart))
    return Response(cart_payload(view), status=code)


class PaymentMethodNotSelfService(Forbidden):
    code = "payment_method_not_allowed"

    def __init__(self, code: str) -> None:
        super().__init__(
            f"The payment method {code!r} is not offered to a customer's own front end "
            "(it is for staff and the channel's back end).",
            payment_method=code,
        )


def _self_service_check(request, code: str) -> None:
    """A publishable key or a customer token checks out with the methods a customer may
    choose themselves (pay later, pay in store); in-person ones are refused by checkout
    (``InPersonOnly``) and a payment link — an SMS to any number — is not theirs."""
    if principal_of(request.user) not in (STOREFRONT, CUSTOMER):
        return
    method = payment_methods_by_code().get(code)
    if method is not None and not method.self_service and not method.in_person:
        raise PaymentMethodNotSelfService(code)


class _CartView(APIView):
    """Who may call each cart operation: unicommerce/access/table.py (channel keys of
    both kinds, customer tokens, staff with ``orders.change_cart``); a cart is reached
    by its token, and an owned cart only by its owner's channel or token
    (``cart_get``)."""


class CartCreateView(_CartView):
    @extend_schema(
        summary="Start a cart",
        description="A channel key opens an anonymous cart on its channel; a customer "
        "token opens one owned by the customer. Keep the token: it is the cart.",
        request=CartCreateInputSerializer,
        responses={201: CartOutputSerializer, **errors()},
    )
    def post(self, request):
        data = CartCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        channel = channel_of(request) or data.validated_data.get("channel")
        if channel is None:
            raise exceptions.ValidationError({"channel": ["Staff must name the channel."]})
        cart = cart_create(channel=channel, customer=_customer(request))
        return _answer(request, cart, status.HTTP_201_CREATED)


class CartDetailView(_CartView):
    @extend_schema(
        summary="A cart, priced and stocked now",
        description="Prices and availability are recomputed on every read, for the "
        "calling channel: per line, what the channel can sell and what the chosen store "
        "or location has.",
        responses={200: CartOutputSerializer, **errors()},
    )
    def get(self, request, token: str):
        return _answer(request, _cart(request, token))


class CartLinesView(_CartView):
    @extend_schema(
        summary="Add a line (or grow the existing line of the same variant)",
        request=LineInputSerializer,
        responses=line_answers(status.HTTP_201_CREATED),
    )
    def post(self, request, token: str):
        cart = _cart(request, token)
        data = LineInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        cart_line_add(
            cart=cart,
            variant=values["variant"],
            quantity=values["quantity"],
            fulfilment=values["fulfilment"],
            location=values.get("location"),
            channel=_acting_channel(request, cart),
        )
        return _answer(request, cart, status.HTTP_201_CREATED)


class CartLineDetailView(_CartView):
    @extend_schema(
        summary="Change a line's quantity (0 removes it) or how it is fulfilled",
        request=LinePatchInputSerializer,
        responses=line_answers(),
    )
    def patch(self, request, token: str, line_id: int):
        cart = _cart(request, token)
        data = LinePatchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values, channel = data.validated_data, _acting_channel(request, cart)
        if "fulfilment" in values:
            cart_line_fulfilment_set(
                cart=cart,
                line_id=line_id,
                fulfilment=values["fulfilment"],
                location=values.get("location"),
                channel=channel,
            )
        if "quantity" in values:
            cart_line_set_quantity(
                cart=cart, line_id=line_id, quantity=values["quantity"], channel=channel
            )
        return _answer(request, cart)

    @extend_schema(
        summary="Remove a line",
        request=None,
        responses=line_answers(),
    )
    def delete(self, request, token: str, line_id: int):
        cart = _cart(request, token)
        cart_line_set_quantity(
            cart=cart, line_id=line_id, quantity=0, channel=_acting_channel(request, cart)
        )
        return _answer(request, cart)


class CartIdentifyView(_CartView):
    @extend_schema(
        summary="Say who the customer is (email and/or phone)",
        description="With a channel key: the cart is attached to the customer with this "
        "phone (else email), or to a new one, so that a store finds it; an existing "
        "customer's details are never changed and nothing says whether they existed. "
        "With the customer's own token (the signed-in customer, whatever the body says): "
        "if they already have an open cart, this one merges into it (quantities add up) "
        "and the answer is that cart: use the token it returns (the old one leads to it "
        "too).",
        request=IdentifyInputSerializer,
        responses={
            200: CartOutputSerializer,
            **errors(
                **{
                    "400": "Invalid email or phone, or neither given.",
                    "403": "The cart already belongs to another customer (cart_foreign).",
                    "409": "The cart is checked out; for a signed-in customer or staff, "
                    "the email and phone belong to two customers (identity_conflict).",
                    "429": "Too many identifications from this address or key "
                    "(rate_limited, Retry-After).",
                }
            ),
        },
    )
    def post(self, request, token: str):
        cart = _cart(request, token)
        data = IdentifyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = _customer(request)
        values = data.validated_data
        if customer is not None:  # a signed-in customer can only be themselves
            values = {**values, "email": customer.email or "", "phone": customer.phone or ""}
        # Only the customer's own token (or staff) proves who they are: a key's details
        # attach the cart, never more (orders.services.carts.cart_identify).
        verified = customer is not None or principal_of(request.user) == STAFF
        cart = cart_identify(
            cart=cart, channel=_acting_channel(request, cart), verified=verified, **values
        )
        return _answer(request, cart)


class CartCheckoutView(_CartView):
    @extend_schema(
        summary="Check the cart out: reserve, price, create the order, hand over to payment",
        description="Each line is taken now (store till), collected at a store, or shipped "
        "from the location orchestration picks. Every line is checked first: if some "
        "cannot be had, the answer (409 lines_unavailable) lists each with the quantity "
        "requested and available, and nothing changed. Send an Idempotency-Key: a retry "
        "returns the same order.",
        request=CheckoutInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: OrderOutputSerializer,
            **errors(
                **{
                    "400": "Malformed input, unknown payment method, invalid fulfilment "
                    "choice, or a shipped line without a complete shipping address.",
                    "403": "A till, taken-now lines or an in-person method (cash) from "
                    "anyone but that store's staff (in_person_only); a payment link from a "
                    "publishable key or a customer token (payment_method_not_allowed).",
                    "409": "Lines unavailable (details.lines), cart already checked out, or empty.",
                    "422": "The Idempotency-Key was already used for a different request.",
                }
            ),
        },
    )
    @idempotent
    def post(self, request, token: str):
        cart = _cart(request, token)
        data = CheckoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        choices = {
            choice["line_id"]: LineChoice(choice["fulfilment"], choice.get("location"))
            for choice in values.get("lines") or []
        }
        _self_service_check(request, values["payment_method"])
        address = values.get("shipping_address")
        if address:
            address = {k: v for k, v in address.items() if v is not None}
        till = values.get("till_location")
        order = order_checkout(
            cart=cart,
            channel=_till_channel(till) or _acting_channel(request, cart),
            payment_method=values["payment_method"],
            till_location=values.get("till_location"),
            contact_email=values["contact_email"],
            contact_phone=values["contact_phone"],
            shipping_address=address or None,
            line_choices=choices or None,
            user=acting_user(request),
        )
        # Lines and shipments come back from checkout already known; the timeline is read.
        order._prefetched_objects_cache["events"] = OrderEvent.objects.select_related(
            "channel"
        ).filter(order=order)
        return Response(order_payload(order), status=status.HTTP_201_CREATED)


def _caller(request) -> str:
    """Who a code lookup counts against: a storefront key ships in every browser, so
    its callers are told apart by address; others by their key, customer or user."""
    if principal_of(request.user) == STOREFRONT:
        return f"ip:{client_ip(request)}"
    return caller_id(request.user)


VOUCHER_ERRORS = {
    "400": "No usable code is written like this (voucher_unknown: the same answer for "
    "every code that cannot be used).",
    "409": "The cart is checked out, or the code does not apply here and now; the code "
    "names why: voucher_expired, voucher_not_started, voucher_exhausted, "
    "voucher_customer_limit, voucher_needs_customer, voucher_other_channel, "
    "voucher_other_store, voucher_segment, voucher_below_minimum, "
    "voucher_nothing_eligible, voucher_not_stackable, voucher_same_campaign.",
    "429": "Too many unknown codes from this caller (rate_limited, Retry-After).",
}


class CartVouchersView(_CartView):
    @extend_schema(
        summary="Enter a voucher code on the cart",
        description="The code is checked where and for whom the cart is (channel, "
        "customer, dates, limits) and priced: one that would give nothing is refused "
        "with its reason and not kept. Its uses are counted when the order is placed.",
        request=VoucherInputSerializer,
        responses={200: CartOutputSerializer, **errors(**VOUCHER_ERRORS)},
    )
    def post(self, request, token: str):
        cart = _cart(request, token)
        data = VoucherInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cart_voucher_apply(
            cart=cart,
            code=data.validated_data["code"],
            caller=_caller(request),
            channel=_acting_channel(request, cart),
        )
        return _answer(request, cart)


class CartVoucherDetailView(_CartView):
    @extend_schema(
        summary="Remove a voucher code from the cart",
        request=None,
        responses=line_answers(),
    )
    def delete(self, request, token: str, code: str):
        cart = _cart(request, token)
        if not cart_voucher_remove(cart=cart, code=code, channel=_acting_channel(request, cart)):
            raise CartVoucherNotFound(code)
        return _answer(request, cart)
