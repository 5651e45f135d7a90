"""The customer account API: sign in with a one-time code, then read and change one's
own profile, addresses and consents.

Sign-in calls (``auth/code/``, ``auth/token/``) come from a channel's front end with its
channel key; the account calls carry the customer's token
(``Authorization: Customer <token>``) and only ever see that customer.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.api.serializers import (
    AccountAddressInputSerializer,
    AccountAddressSerializer,
    AccountAddressUpdateSerializer,
    CodeAcceptedSerializer,
    CodeRequestSerializer,
    ConsentInputSerializer,
    ConsentOutputSerializer,
    ContactChangeConfirmSerializer,
    ContactChangeInputSerializer,
    CustomerOutputSerializer,
    CustomerUpdateSerializer,
    TokenOutputSerializer,
    TokenRequestSerializer,
)
from customers.auth import (
    access_token_revoke,
    contact_change_confirm,
    contact_change_request,
    login_code_exchange,
    login_code_send,
)
from customers.emails import email_normalised
from customers.exceptions import AddressNotFound
from customers.models import Address
from customers.phones import phone_e164
from customers.selectors import customer_consents
from customers.services.profile import (
    address_add,
    address_delete,
    address_set_default,
    address_update,
    consent_record,
    customer_update,
)
from unicommerce.api.errors import error_responses
from unicommerce.exceptions import InvalidInput

ERRORS = {
    401: "Missing or invalid credentials.",
    403: "Not allowed with these credentials.",
}


def errors(**described: str) -> dict:
    return error_responses(ERRORS, **described)


class ChannelView(APIView):
    """Called with a channel's key (unicommerce/access/table.py)."""


class CustomerView(APIView):
    """Called with a customer's token, about that customer only (the table)."""


def _identity(data: dict) -> dict:
    return {"email": data.get("email", "").strip(), "phone": data.get("phone", "").strip()}


# --- Sign-in --------------------------------------------------------------------------


class CodeView(ChannelView):
    @extend_schema(
        summary="Send a sign-in code to a customer (SMS for a phone, else e-mail)",
        description="Always 202 for a well-formed email or phone, whether or not a "
        "customer has it (no one is created). The code is valid 10 minutes, 5 tries.",
        request=CodeRequestSerializer,
        responses={
            202: CodeAcceptedSerializer,
            **errors(
                **{
                    "400": "Malformed email or phone (codes invalid_email, invalid_phone).",
                    "403": "Not a channel key.",
                }
            ),
        },
        tags=["customer account"],
    )
    def post(self, request):
        data = CodeRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        login_code_send(channel=request.user.channel, **_identity(data.validated_data))
        return Response(
            {"detail": _("If this customer exists, a code is on its way.")},
            status=status.HTTP_202_ACCEPTED,
        )


class TokenView(ChannelView):
    @extend_schema(
        summary="Trade a sign-in code for a customer token (30 days)",
        request=TokenRequestSerializer,
        responses={
            201: TokenOutputSerializer,
            **errors(
                **{
                    "400": "Wrong, used or expired code (login_code_invalid), or malformed input.",
                    "403": "Not a channel key.",
                }
            ),
        },
        tags=["customer account"],
    )
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, raw = login_code_exchange(
            channel=request.user.channel,
            code=data.validated_data["code"],
            **_identity(data.validated_data),
        )
        body = {
            "token": raw,
            "expires_at": token.expires_at,
            "customer": CustomerOutputSerializer(token.customer).data,
        }
        return Response(TokenOutputSerializer(body).data, status=status.HTTP_201_CREATED)


class LogoutView(CustomerView):
    @extend_schema(
        summary="Sign out: the token stops working",
        request=None,
        responses={204: None, **errors()},
        tags=["customer account"],
    )
    def post(self, request):
        access_token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- The account ----------------------------------------------------------------------


class MeView(CustomerView):
    @extend_schema(
        summary="The signed-in customer",
        responses={200: CustomerOutputSerializer, **errors()},
        tags=["customer account"],
    )
    def get(self, request):
        return Response(CustomerOutputSerializer(request.user.customer).data)

    @extend_schema(
        summary="Change one's names, or remove one's email or phone",
        description="A new email or phone is not set here: it must be proven first "
        "(POST /api/v1/me/contact-change/, then …/confirm/ with the code it receives).",
        request=CustomerUpdateSerializer,
        responses={
            200: CustomerOutputSerializer,
            **errors(
                **{
                    "400": "Malformed input, neither email nor phone left "
                    "(identity_required), or a new email or phone "
                    "(contact_change_needs_code).",
                }
            ),
        },
        tags=["customer account"],
    )
    def patch(self, request):
        data = CustomerUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = request.user.customer
        changes = dict(data.validated_data)
        for field in ("email", "phone"):
            if field in changes and not _same_or_removed(customer, field, changes[field]):
                raise ContactChangeNeedsCode(field)
        customer = customer_update(customer=customer, **changes)
        return Response(CustomerOutputSerializer(customer).data)


class ContactChangeNeedsCode(InvalidInput):
    code = "contact_change_needs_code"

    def __init__(self, field: str) -> None:
        super().__init__(
            _(
                "A new e-mail address or phone number must be confirmed with a code: use "
                "/api/v1/me/contact-change/."
            ),
            field=field,
        )


def _same_or_removed(customer, field: str, value: str | None) -> bool:
    """Removing one's email or phone needs no proof (one of them stays); keeping it as
    it is neither. Anything else is a new contact."""
    text = (value or "").strip()
    if not text:
        return True
    try:
        normalised = phone_e164(text) if field == "phone" else email_normalised(text)
    except InvalidInput:
        return False  # malformed: the change-contact flow will say so
    return normalised == getattr(customer, field)


class ContactChangeView(CustomerView):
    @extend_schema(
        summary="Send a code to a new email or phone, to make it the account's",
        description="Nothing changes yet: the code sent to the new contact must come back "
        "to …/confirm/ within 10 minutes (5 tries). A new request replaces the pending one.",
        request=ContactChangeInputSerializer,
        responses={
            202: CodeAcceptedSerializer,
            **errors(
                **{
                    "400": "Malformed, unchanged, both or neither (invalid_email, "
                    "invalid_phone, contact_unchanged, contact_change_one), or an SMS "
                    "destination not served (sms_destination_not_allowed).",
                    "429": "Too many changes asked for (rate_limited, Retry-After).",
                }
            ),
        },
        tags=["customer account"],
    )
    def post(self, request):
        data = ContactChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        contact_change_request(
            customer=request.user.customer,
            channel=request.user.channel,
            **_identity(data.validated_data),
        )
        return Response(
            {"detail": _("A code is on its way to the new contact.")},
            status=status.HTTP_202_ACCEPTED,
        )


class ContactChangeConfirmView(CustomerView):
    @extend_schema(
        summary="Confirm a new email or phone with the code it received",
        request=ContactChangeConfirmSerializer,
        responses={
            200: CustomerOutputSerializer,
            **errors(
                **{
                    "400": "Wrong, used or expired code (login_code_invalid).",
                    "409": "Another customer has this contact (identity_taken).",
                }
            ),
        },
        tags=["customer account"],
    )
    def post(self, request):
        data = ContactChangeConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = contact_change_confirm(
            customer=request.user.customer, code=data.validated_data["code"]
        )
        return Response(CustomerOutputSerializer(customer).data)


class AddressListView(CustomerView):
    @extend_schema(
        summary="One's addresses (the default first)",
        responses={200: AccountAddressSerializer(many=True), **errors()},
        tags=["customer account"],
    )
    def get(self, request):
        addresses = Address.objects.filter(customer=request.user.customer)
        return Response(AccountAddressSerializer(addresses, many=True).data)

    @extend_schema(
        summary="Add an address (the first one becomes the default)",
        request=AccountAddressInputSerializer,
        responses={
            201: AccountAddressSerializer,
            **errors(**{"400": "Missing or malformed fields (invalid, invalid_phone)."}),
        },
        tags=["customer account"],
    )
    def post(self, request):
        data = AccountAddressInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        address = address_add(customer=request.user.customer, **data.validated_data)
        return Response(AccountAddressSerializer(address).data, status=status.HTTP_201_CREATED)


class AddressDetailView(CustomerView):
    def _address(self, request, pk: int) -> Address:
        try:
            return Address.objects.select_related("customer").get(
                pk=pk, customer=request.user.customer
            )
        except Address.DoesNotExist:
            raise AddressNotFound(pk) from None

    @extend_schema(
        summary="Change an address; `is_default: true` makes it the default",
        request=AccountAddressUpdateSerializer,
        responses={
            200: AccountAddressSerializer,
            **errors(
                **{
                    "400": "Malformed fields (invalid, invalid_address, invalid_phone).",
                    "404": "No such address for this customer.",
                }
            ),
        },
        tags=["customer account"],
    )
    def patch(self, request, pk: int):
        address = self._address(request, pk)
        data = AccountAddressUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        make_default = changes.pop("is_default", False)
        address = address_update(address=address, **changes)
        if make_default:
            address = address_set_default(address=address)
        return Response(AccountAddressSerializer(address).data)

    @extend_schema(
        summary="Delete an address (the next one becomes the default)",
        responses={204: None, **errors(**{"404": "No such address for this customer."})},
        tags=["customer account"],
    )
    def delete(self, request, pk: int):
        address_delete(address=self._address(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _consents_body(customer) -> list[dict]:
    return [
        {
            "kind": kind,
            "granted": consent.granted if consent else None,
            "source": consent.source if consent else "",
            "channel": consent.channel.code if consent and consent.channel else None,
            "at": consent.at if consent else None,
        }
        for kind, consent in customer_consents(customer).items()
    ]


class ConsentView(CustomerView):
    @extend_schema(
        summary="What one agreed to be contacted about, now (one entry per kind)",
        responses={200: ConsentOutputSerializer(many=True), **errors()},
        tags=["customer account"],
    )
    def get(self, request):
        return Response(
            ConsentOutputSerializer(_consents_body(request.user.customer), many=True).data
        )

    @extend_schema(
        summary="Give or withdraw a consent (kept in the history with the date)",
        request=ConsentInputSerializer,
        responses={
            201: ConsentOutputSerializer(many=True),
            **errors(**{"400": "Unknown kind or missing field."}),
        },
        tags=["customer account"],
    )
    def post(self, request):
        data = ConsentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        consent_record(
            customer=request.user.customer,
            kind=data.validated_data["kind"],
            granted=data.validated_data["granted"],
            source=data.validated_data["source"],
            channel=request.user.channel,
        )
        return Response(
            ConsentOutputSerializer(_consents_body(request.user.customer), many=True).data,
            status=status.HTTP_201_CREATED,
        )
