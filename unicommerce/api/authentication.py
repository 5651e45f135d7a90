from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from unicommerce.channels.services import api_key_authenticate


class ChannelUser:
    """The identity of a channel's front end calling the API with its key."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    is_active = True

    def __init__(self, api_key) -> None:
        self.api_key = api_key
        self.channel = api_key.channel
        # "storefront" (a publishable key) or "integration" (a secret key): the caller
        # kind the permission table (unicommerce.access) knows it by.
        self.principal = "storefront" if api_key.kind == "publishable" else "integration"
        self.pk = None
        self.username = f"channel:{api_key.channel.code}"

    def has_perm(self, perm: str, obj=None) -> bool:
        return False

    def __str__(self) -> str:
        return self.username


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <API key>``: a channel's key acts as the channel, a staff
    key acts as its user (with that user's permissions)."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the key as `Authorization: Bearer <key>`.")
        api_key = api_key_authenticate(raw_key=header[1].decode(errors="replace"))
        if api_key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        if api_key.user_id:
            return api_key.user, api_key
        return ChannelUser(api_key), api_key

    def authenticate_header(self, request) -> str:
        return self.keyword


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "unicommerce.api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A sales channel's publishable key (`uck_pk_…`, storefront: "
            "catalogue, carts, checkout, customer sign-in), its secret key (`uck_sk_…`, "
            "integration: reservations, stock feed, webhooks, orders), or a staff member's "
            "API key (acts as that person). docs/permissions.md lists who may call what.",
        }
