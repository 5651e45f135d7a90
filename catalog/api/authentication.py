from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from catalog.services import channel_api_key_authenticate


class ChannelUser:
    """The identity of a channel's front end calling the API with its key."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    def __init__(self, api_key) -> None:
        self.api_key = api_key
        self.channel = api_key.channel
        self.pk = None
        self.username = f"channel:{api_key.channel.code}"

    def has_perm(self, perm: str, obj=None) -> bool:
        return False

    def __str__(self) -> str:
        return self.username


class ChannelTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <channel API key>``."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the key as `Authorization: Bearer <key>`.")
        api_key = channel_api_key_authenticate(raw_key=header[1].decode(errors="replace"))
        if api_key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        return ChannelUser(api_key), api_key

    def authenticate_header(self, request) -> str:
        return self.keyword


class ChannelTokenScheme(OpenApiAuthenticationExtension):
    target_class = "catalog.api.authentication.ChannelTokenAuthentication"
    name = "channelKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A sales channel's API key."}
