"""SMS cost money and land on a stranger's phone: they go only to allowed countries, and
each number and each sending channel has a ceiling (``sms_per_number``,
``sms_per_channel``). Over it, ``message_send`` raises ``RateLimited`` and writes
nothing, so a loop pumping SMS through any form stops at the limit."""

from __future__ import annotations

import pytest

from unicommerce.messaging import backends
from unicommerce.messaging.exceptions import MessageRecipientInvalid, SmsDestinationNotAllowed
from unicommerce.messaging.models import Message
from unicommerce.messaging.services import message_send
from unicommerce.messaging.tasks import message_send_task
from unicommerce.ratelimit import RateLimited

pytestmark = pytest.mark.django_db


def _sms(to: str = "+33612345678", **overrides) -> Message:
    fields = {"channel": "sms", "to": to, "body": "Your code: 123456", "kind": "test.code"}
    return message_send(**{**fields, **overrides})


def test_pumping_sms_to_one_number_stops_at_the_daily_limit(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sms_per_number": "8/day"}
    queued, stopped = [], None
    for _ in range(50):  # an attacker's loop, stopped by the first refusal
        try:
            queued.append(_sms(sender="web"))
        except RateLimited as error:
            stopped = error
            break

    assert len(queued) == 8
    assert stopped is not None
    assert stopped.code == "rate_limited"
    assert stopped.details["limit"] == "sms_per_number"
    assert stopped.retry_after > 0
    assert Message.objects.count() == 8
    for message in Message.objects.all():
        message_send_task(message.pk)
    assert len(backends.outbox) == 8
    assert {sent.to for sent in backends.outbox} == {"+33612345678"}


def test_another_number_is_still_served_once_one_number_is_at_its_limit(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sms_per_number": "2/day"}
    _sms()
    _sms()
    with pytest.raises(RateLimited):
        _sms()

    other = _sms(to="+33698765432")

    assert Message.objects.filter(to="+33612345678").count() == 2
    assert other.to == "+33698765432"


def test_one_channel_cannot_send_more_than_its_hourly_sms_whatever_the_numbers(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sms_per_channel": "3/hour"}
    for n in range(3):
        _sms(to=f"+3361234567{n}", sender="web")

    with pytest.raises(RateLimited) as stopped:
        _sms(to="+33612345679", sender="web")

    assert stopped.value.details["limit"] == "sms_per_channel"
    assert Message.objects.count() == 3
    assert _sms(to="+33612345679", sender="store-paris").to == "+33612345679"
    assert _sms(to="+33612345678").to == "+33612345678"  # the system counts apart


def test_a_refused_sms_counts_nothing_against_the_number(settings):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "sms_per_number": "2/day",
        "sms_per_channel": "1/hour",
    }
    _sms(sender="web")
    with pytest.raises(RateLimited):
        _sms(sender="web")  # the channel is used up: the number's count must not move

    assert _sms(sender="store").to == "+33612345678"
    with pytest.raises(RateLimited) as stopped:
        _sms(sender="other")
    assert stopped.value.details["limit"] == "sms_per_number"
    assert Message.objects.count() == 2


def test_a_replayed_dedup_key_returns_the_first_sms_without_counting(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sms_per_number": "1/day"}
    first = _sms(dedup_key="event:1")

    again = _sms(dedup_key="event:1")

    assert again.pk == first.pk
    assert Message.objects.count() == 1


def test_an_email_is_not_counted_as_an_sms(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sms_per_channel": "1/hour"}
    for _ in range(3):
        message_send(
            channel="email", to="anna@shop.fr", subject="Hi", body="Hello", kind="t", sender="web"
        )

    assert _sms(sender="web").channel == "sms"


@pytest.mark.parametrize("to", ["+447700900123", "+32470123456", "+15005550006", "+269321234"])
def test_a_number_outside_the_allowed_countries_is_refused(to):
    with pytest.raises(SmsDestinationNotAllowed) as refused:
        _sms(to=to)

    assert isinstance(refused.value, MessageRecipientInvalid)  # callers fall back to e-mail
    assert refused.value.code == "sms_destination_not_allowed"
    assert refused.value.http_status == 400
    assert refused.value.details["to"] == to
    assert Message.objects.count() == 0


@pytest.mark.parametrize(
    ("to", "region"),
    [("+262692123456", "RE"), ("+590690123456", "GP"), ("+596696123456", "MQ")],
)
def test_a_number_of_a_french_overseas_region_is_accepted(to, region):
    import phonenumbers

    assert phonenumbers.region_code_for_number(phonenumbers.parse(to)) == region

    message = _sms(to=to)

    assert Message.objects.get().pk == message.pk
    assert message_send_task(message.pk) == "sent"
    assert [sent.to for sent in backends.outbox] == [to]


def test_the_allowed_countries_are_a_setting(settings):
    settings.SMS_ALLOWED_REGIONS = ["BE"]

    assert _sms(to="+32470123456").to == "+32470123456"
    with pytest.raises(SmsDestinationNotAllowed):
        _sms(to="+33612345678")
