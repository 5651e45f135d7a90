"""``Authorization: Customer <token>``: a signed-in customer on a channel's front end.

Views serving a customer's own account list this class in ``authentication_classes``
(it is not a default: a customer token opens only those views). ``request.user`` is a
``CustomerUser``: ``.customer`` and ``.channel`` (the channel the token was issued on),
authenticated, with no Django permission. ``request.auth`` is the ``AccessToken`` row.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from customers.auth import access_token_authenticate


class CustomerUser:
    """The identity of a signed-in customer (not a Django user: no permissions)."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    is_active = True
    principal = "customer"  # for the permission table (unicommerce.access)

    def __init__(self, token) -> None:
        self.token = token
        self.customer = token.customer
        self.channel = token.channel
        self.pk = None
        self.id = None
        self.username = f"customer:{token.customer_id}"

    def has_perm(self, perm: str, obj=None) -> bool:
        return False

    def has_perms(self, perms, obj=None) -> bool:
        return False

    def has_module_perms(self, app_label: str) -> bool:
        return False

    def __str__(self) -> str:
        return self.username


class CustomerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Customer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the token as `Authorization: Customer <token>`."
            )
        token = access_token_authenticate(raw_token=header[1].decode(errors="replace"))
        if token is None:
            raise exceptions.AuthenticationFailed("Unknown, expired or revoked customer token.")
        return CustomerUser(token), token

    def authenticate_header(self, request) -> str:
        return self.keyword


class CustomerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "customers.api.authentication.CustomerTokenAuthentication"
    name = "customerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "A signed-in customer: `Authorization: Customer <token>`, the token from "
                "POST /api/v1/auth/token/ (valid 30 days on the channel that issued it)."
            ),
        }


def customer_of(request):
    """The signed-in customer of a request, or None (a channel key, staff)."""
    user = getattr(request, "user", None)
    return getattr(user, "customer", None) if isinstance(user, CustomerUser) else None
