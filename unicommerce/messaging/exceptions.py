"""Why a message was refused (nothing was written)."""

from unicommerce.exceptions import InvalidInput


class MessageInvalid(InvalidInput):
    """Something other than the recipient is wrong: the channel, an empty body, etc."""

    code = "message_invalid"


class MessageRecipientInvalid(InvalidInput):
    """The ``to`` is not an E.164 phone number (SMS) or a valid e-mail address."""

    code = "message_recipient_invalid"


class SmsDestinationNotAllowed(MessageRecipientInvalid):
    """The number is well formed but belongs to a country SMS may not go to
    (``SMS_ALLOWED_REGIONS``): a premium-rate or far-away number is how SMS pumping
    turns our sign-in and payment-link forms into someone else's revenue."""

    code = "sms_destination_not_allowed"
