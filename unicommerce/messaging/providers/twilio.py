"""SMS through Twilio Programmable Messaging, with its documented HTTP API.

Sending is ``POST {SMS_TWILIO_API_BASE}/2010-04-01/Accounts/{AccountSid}/Messages.json``,
form-encoded ``To``, ``Body``, ``From`` (or ``MessagingServiceSid``) and, optionally,
``StatusCallback``, with HTTP basic auth (account SID, auth token). Twilio answers the
message as JSON (``sid``, ``status``, …) or an error ``{"code", "message", "status"}``:

- 429 (rate limited), 408, or Twilio unreachable (the connection never opened):
  ``TemporaryFailure``, tried again later;
- a 5xx, a timeout once the request left, an answer cut off: ``OutcomeUnknown``, the
  message may exist at Twilio;
- any other 4xx (21211 invalid "To" number, 21610 unsubscribed recipient, 20003 bad
  credentials, …): ``PermanentFailure``.

Twilio has no idempotency key, so a message whose earlier attempt has no recorded
outcome is looked for before it is sent again (``find_sent``): ``GET …/Messages.json``
with ``To`` and ``DateSent>`` = the day our row was created, a copy being an outbound
message to the same number with exactly the same body, created at or after our row
(less ``CLOCK_SKEW``), whose sid no other message of ours recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from unicommerce.messaging.backends import (
    BaseBackend,
    OutcomeUnknown,
    PermanentFailure,
    TemporaryFailure,
)
from unicommerce.messaging.models import Message

DEFAULT_API_BASE = "https://api.twilio.com"
DEFAULT_TIMEOUT_SECONDS = 10.0
# Twilio's clock against ours: a copy made a little "before" our row is still a copy.
CLOCK_SKEW = timedelta(seconds=30)
PAGE_SIZE = 100
MAX_PAGES = 10


def _setting(name: str, default: Any = "") -> Any:
    return getattr(settings, name, default) or default


class TwilioBackend(BaseBackend):
    """``SMS_BACKEND = "unicommerce.messaging.providers.twilio.TwilioBackend"``."""

    def __init__(self) -> None:
        self.account_sid = str(_setting("SMS_TWILIO_ACCOUNT_SID"))
        self.auth_token = str(_setting("SMS_TWILIO_AUTH_TOKEN"))
        self.sender = str(_setting("SMS_TWILIO_FROM"))
        self.messaging_service_sid = str(_setting("SMS_TWILIO_MESSAGING_SERVICE_SID"))
        self.status_callback = str(_setting("SMS_TWILIO_STATUS_CALLBACK"))
        self.api_base = str(_setting("SMS_TWILIO_API_BASE", DEFAULT_API_BASE)).rstrip("/")
        self.timeout = float(_setting("SMS_TWILIO_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))
        if not (self.account_sid and self.auth_token):
            raise ImproperlyConfigured(
                "SMS_TWILIO_ACCOUNT_SID and SMS_TWILIO_AUTH_TOKEN are needed"
            )
        if not (self.sender or self.messaging_service_sid):
            raise ImproperlyConfigured(
                "SMS_TWILIO_FROM or SMS_TWILIO_MESSAGING_SERVICE_SID is needed"
            )

    @property
    def messages_url(self) -> str:
        return f"{self.api_base}/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    # --- the backend interface

    def send(self, message: Message) -> str:
        form = {"To": message.to, "Body": message.body}
        if self.messaging_service_sid:
            form["MessagingServiceSid"] = self.messaging_service_sid
        else:
            form["From"] = self.sender
        if self.status_callback:
            form["StatusCallback"] = self.status_callback
        document = self._call("POST", self.messages_url, data=form)
        sid = document.get("sid")
        if not sid:
            raise OutcomeUnknown("Twilio answered without a message sid")
        return str(sid)

    def find_sent(self, message: Message) -> str | None:
        since = message.created_at - CLOCK_SKEW
        url = self.messages_url
        params: dict[str, Any] | None = {
            "To": message.to,
            "DateSent>": since.astimezone(UTC).date().isoformat(),
            "PageSize": PAGE_SIZE,
        }
        copies: list[tuple[datetime, str]] = []
        for _page in range(MAX_PAGES):
            document = self._call("GET", url, params=params)
            for item in document.get("messages") or []:
                created = _is_copy(item, message, since)
                if created is not None:
                    copies.append((created, str(item["sid"])))
            next_page = document.get("next_page_uri")
            if not next_page:
                break
            url, params = self.api_base + str(next_page), None
        else:
            raise TemporaryFailure(f"more than {MAX_PAGES} pages of messages to {message.to}")
        sids = [sid for _created, sid in sorted(copies)]
        taken = set(
            Message.objects.filter(channel=Message.Channel.SMS, provider_id__in=sids)
            .exclude(pk=message.pk)
            .values_list("provider_id", flat=True)
        )
        return next((sid for sid in sids if sid not in taken), None)

    # --- HTTP

    def _call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        sending = method == "POST"
        try:
            response = httpx.request(
                method,
                url,
                auth=(self.account_sid, self.auth_token),
                headers={"Accept": "application/json"},
                timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0)),
                **kwargs,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            # The connection never opened: the request never reached Twilio.
            raise TemporaryFailure(f"Twilio unreachable: {type(error).__name__}") from error
        except httpx.HTTPError as error:
            unknown = OutcomeUnknown if sending else TemporaryFailure
            raise unknown(f"no answer from Twilio: {type(error).__name__}: {error}") from error
        try:
            document = response.json()
        except ValueError:
            document = None
        if not isinstance(document, dict):
            document = {}
        status = response.status_code
        if status < 300:
            if not document and sending:
                raise OutcomeUnknown(f"Twilio answered {status} with no JSON message")
            return document
        detail = _error_detail(status, document, response.reason_phrase)
        if status in (408, 429):
            raise TemporaryFailure(detail)
        if status >= 500:
            raise (OutcomeUnknown if sending else TemporaryFailure)(detail)
        raise PermanentFailure(detail)


def _error_detail(status: int, document: dict[str, Any], reason: str) -> str:
    code = document.get("code")
    text = str(document.get("message") or reason or "")
    return (
        f"Twilio error {code} (HTTP {status}): {text}" if code else f"Twilio HTTP {status}: {text}"
    )


def _is_copy(item: dict[str, Any], message: Message, since: datetime) -> datetime | None:
    """When Twilio created ``item``, if it is a copy of ``message``; otherwise None."""
    if not item.get("sid") or not str(item.get("direction", "")).startswith("outbound"):
        return None
    if item.get("to") != message.to or item.get("body") != message.body:
        return None
    try:
        created = parsedate_to_datetime(str(item.get("date_created") or ""))
    except (TypeError, ValueError):
        return None
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    # Twilio's dates have whole seconds.
    return created if created >= since.replace(microsecond=0) else None
