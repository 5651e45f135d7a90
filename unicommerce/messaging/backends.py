"""Where messages leave Unicommerce: one backend per channel, chosen by a dotted path in
settings (``SMS_BACKEND``, ``CUSTOMER_EMAIL_BACKEND``).

A backend's ``send(message)`` hands one message over and returns the provider's id for
it. It raises ``TemporaryFailure`` when trying again later may work (a timeout, a 5xx,
a rate limit) and ``PermanentFailure`` when it never will (a number the provider
refuses). It must pass ``message.idempotency_key`` to a provider that supports one:
a message may be handed over again after a worker died mid-send.

A provider with no idempotency key (Twilio) can still be asked what it sent: such a
backend raises ``OutcomeUnknown`` when a request may have reached the provider (a read
timeout, a 5xx) and implements ``find_sent(message)``, which ``message_deliver`` calls
before sending again a message whose earlier attempt has no recorded outcome.
"""

from __future__ import annotations

import json
import smtplib
import sys
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from unicommerce.messaging.models import Message


class DeliveryFailure(Exception):
    """The backend could not hand the message over."""


class TemporaryFailure(DeliveryFailure):
    """Worth another try later (with back-off)."""


class PermanentFailure(DeliveryFailure):
    """Never worth another try: the message ends ``failed``."""


class OutcomeUnknown(TemporaryFailure):
    """The provider may have accepted the message (the request left, the answer did not
    come back, or came back a 5xx): worth another try, but only once ``find_sent`` has
    found no copy of it."""


class BaseBackend:
    def send(self, message: Message) -> str:
        """Hand ``message`` over; return the provider's id for it."""
        raise NotImplementedError

    def find_sent(self, message: Message) -> str | None:
        """The provider's id of a copy of ``message`` an earlier attempt handed over, or
        None when there is none (or the provider cannot tell, and sending again is safe
        because it honours ``message.idempotency_key``). Asked before a message whose
        earlier attempt has no recorded outcome is sent again; raise ``DeliveryFailure``
        when the provider cannot be asked right now."""
        return None


def _document(message: Message) -> dict[str, Any]:
    return {
        "id": message.pk,
        "idempotency_key": message.idempotency_key,
        "channel": message.channel,
        "to": message.to,
        "subject": message.subject,
        "body": message.body,
        "kind": message.kind,
        "reference": message.reference,
        "customer_id": message.customer_id,
        "at": timezone.now().isoformat(),
    }


class ConsoleBackend(BaseBackend):
    """Writes each message to standard output (development)."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stdout

    def send(self, message: Message) -> str:
        header = f"--- {message.channel} to {message.to} ({message.kind})"
        if message.subject:
            header += f": {message.subject}"
        self.stream.write(f"{header}\n{message.body}\n---\n")
        self.stream.flush()
        return f"console-{message.pk}"


class FileBackend(BaseBackend):
    """Appends each message as one JSON line to ``<SMS_FILE_PATH>/<channel>.jsonl`` (a
    development machine or a staging server: what would have been sent, readable)."""

    _lock = threading.Lock()

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory or settings.SMS_FILE_PATH)

    def send(self, message: Message) -> str:
        line = json.dumps(_document(message), ensure_ascii=False, sort_keys=True) + "\n"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # One write of one line, in append mode: lines of several processes never mix.
            with self._lock, (self.directory / f"{message.channel}.jsonl").open("a") as out:
                out.write(line)
        except OSError as error:
            raise TemporaryFailure(f"cannot write to {self.directory}: {error}") from error
        return f"file-{message.pk}"


@dataclass(frozen=True)
class SentMessage:
    """What the locmem backend recorded."""

    provider_id: str
    idempotency_key: str
    message_id: int
    channel: str
    to: str
    subject: str
    body: str
    kind: str
    reference: str
    sent_at: datetime


# The locmem backend's record of what was sent, for tests (like django.core.mail.outbox),
# and the failures a test wants it to answer next, in order.
outbox: list[SentMessage] = []
planned_failures: list[Exception] = []
_outbox_lock = threading.Lock()


class LocmemBackend(BaseBackend):
    """Keeps what it sends in ``outbox`` (tests). Like a provider honouring idempotency
    keys, it answers a key it already saw with the first provider id, sending nothing.
    Append an exception to ``planned_failures`` to have the next call raise it."""

    def send(self, message: Message) -> str:
        with _outbox_lock:
            if planned_failures:
                raise planned_failures.pop(0)
            for sent in outbox:
                if sent.idempotency_key == message.idempotency_key:
                    return sent.provider_id
            provider_id = f"locmem-{len(outbox) + 1}"
            outbox.append(
                SentMessage(
                    provider_id=provider_id,
                    idempotency_key=message.idempotency_key,
                    message_id=message.pk,
                    channel=message.channel,
                    to=message.to,
                    subject=message.subject,
                    body=message.body,
                    kind=message.kind,
                    reference=message.reference,
                    sent_at=timezone.now(),
                )
            )
            return provider_id


def locmem_reset() -> None:
    with _outbox_lock:
        outbox.clear()
        planned_failures.clear()


class DjangoMailBackend(BaseBackend):
    """E-mail through Django's own mail (the ``MAILERS`` of the settings, mailer
    ``CUSTOMER_EMAIL_MAILER``), from ``CUSTOMER_EMAIL_FROM``.

    The Message-ID header is made from the idempotency key, so a message handed over
    twice carries the same id and a receiving server may drop the copy."""

    def send(self, message: Message) -> str:
        from_email = settings.CUSTOMER_EMAIL_FROM
        domain = from_email.rpartition("@")[2].strip(" >") or "localhost"
        message_id = f"<{message.idempotency_key}@{domain}>"
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=from_email,
            to=[message.to],
            headers={"Message-ID": message_id},
        )
        try:
            email.send(using=settings.CUSTOMER_EMAIL_MAILER)
        except smtplib.SMTPRecipientsRefused as error:
            raise PermanentFailure(f"recipient refused: {error.recipients}") from error
        except smtplib.SMTPResponseException as error:
            failure = PermanentFailure if 500 <= error.smtp_code < 600 else TemporaryFailure
            raise failure(f"SMTP {error.smtp_code}: {error.smtp_error!r}") from error
        except (smtplib.SMTPException, OSError) as error:
            raise TemporaryFailure(f"{type(error).__name__}: {error}") from error
        return message_id


def backend_for(channel: str) -> BaseBackend:
    """The configured backend of a channel ("sms" or "email"), a new instance."""
    path = settings.SMS_BACKEND if channel == "sms" else settings.CUSTOMER_EMAIL_BACKEND
    return import_string(path)()
