"""Input and output shapes of the customer account API (the OpenAPI schema is built from
these). Shapes only: normalising phones and emails, uniqueness and the rest are the
services' job, so the API, the admin and the POS answer the same."""

from django.utils.translation import gettext as _
from rest_framework import serializers

from customers.models import Consent


class IdentityInputSerializer(serializers.Serializer):
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    phone = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=32,
        help_text="Any usual format (06 12 34 56 78, +33 6 12 34 56 78); stored in E.164.",
    )

    def validate(self, attrs):
        if not attrs.get("email", "").strip() and not attrs.get("phone", "").strip():
            raise serializers.ValidationError(_("Give an email address or a phone number."))
        return attrs


class CodeRequestSerializer(IdentityInputSerializer):
    """The code goes by SMS when a phone is given, else by e-mail."""


class CodeAcceptedSerializer(serializers.Serializer):
    detail = serializers.CharField()


class TokenRequestSerializer(IdentityInputSerializer):
    code = serializers.CharField(max_length=12, help_text="The 6-digit code received.")


class CustomerOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    first_name = serializers.CharField(allow_blank=True)
    last_name = serializers.CharField(allow_blank=True)
    email = serializers.EmailField(allow_null=True)
    phone = serializers.CharField(allow_null=True, help_text="E.164.")
    created_at = serializers.DateTimeField()


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField(
        help_text="Send as `Authorization: Customer <token>`. Shown once; only its hash is kept."
    )
    expires_at = serializers.DateTimeField()
    customer = CustomerOutputSerializer()


class CustomerUpdateSerializer(serializers.Serializer):
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    email = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=254,
        help_text="Empty: remove.",
    )
    phone = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=32, help_text="Empty: remove."
    )


class ContactChangeInputSerializer(serializers.Serializer):
    email = serializers.CharField(required=False, allow_blank=True, default="", max_length=254)
    phone = serializers.CharField(required=False, allow_blank=True, default="", max_length=32)


class ContactChangeConfirmSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=12)


class AccountAddressSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField(allow_blank=True)
    first_name = serializers.CharField(allow_blank=True)
    last_name = serializers.CharField(allow_blank=True)
    line1 = serializers.CharField()
    line2 = serializers.CharField(allow_blank=True)
    postal_code = serializers.CharField()
    city = serializers.CharField()
    country = serializers.CharField(help_text="ISO 3166-1 alpha-2.")
    phone = serializers.CharField(allow_blank=True, help_text="E.164, or empty.")
    is_default = serializers.BooleanField()


class AccountAddressInputSerializer(serializers.Serializer):
    label = serializers.CharField(required=False, allow_blank=True, max_length=50)
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    line1 = serializers.CharField(max_length=255)
    line2 = serializers.CharField(required=False, allow_blank=True, max_length=255)
    postal_code = serializers.CharField(max_length=16)
    city = serializers.CharField(max_length=100)
    country = serializers.CharField(required=False, max_length=2, default="FR")
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32)
    is_default = serializers.BooleanField(required=False, default=False)


class AccountAddressUpdateSerializer(AccountAddressInputSerializer):
    """Every field optional; ``is_default: true`` makes it the default address."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
            field.default = serializers.empty


class ConsentOutputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Consent.Kind.choices)
    granted = serializers.BooleanField(allow_null=True, help_text="null: never asked.")
    source = serializers.CharField(allow_blank=True)
    channel = serializers.CharField(allow_null=True, help_text="Channel code.")
    at = serializers.DateTimeField(allow_null=True)


class ConsentInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Consent.Kind.choices)
    granted = serializers.BooleanField()
    source = serializers.CharField(
        required=False, max_length=100, default="account", help_text="Where it was given."
    )
