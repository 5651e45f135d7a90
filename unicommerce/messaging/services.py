"""Queueing messages to customers, and sending them from a worker.

Queueing (``message_send``, in the caller's transaction): check the recipient, insert
the row (a repeated ``dedup_key`` returns the row already there), and after commit
enqueue the Celery task ``messaging.send``. A rolled-back order sends nothing; a commit
whose enqueue is lost (broker down) is caught by the sweep.

Sending (``message_deliver``, the task): claim the row in a short transaction of its own
(``queued`` → ``sending``, ``SKIP LOCKED``: two workers never send the same message),
call the backend with no transaction or lock open, then record the outcome in another
short transaction. A temporary failure goes back to ``queued`` with an exponential
back-off until ``MESSAGING_MAX_ATTEMPTS``; a permanent one ends ``failed``.

Exactly once, as far as an outside service allows: a worker that dies after the backend
accepted a message leaves it ``sending``; the sweep hands the claim back after
``MESSAGING_CLAIM_TIMEOUT_SECONDS`` with ``last_error`` = ``CLAIM_HANDED_BACK``. Such a
message, or one whose last attempt raised ``OutcomeUnknown``, has an earlier attempt
with no recorded outcome: before sending it again the worker asks the backend
(``find_sent``) whether the provider already has it, and records that copy instead of
sending a second one. A provider that honours idempotency keys drops a copy anyway.
"""

from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from unicommerce.events.services import event_publish
from unicommerce.messaging.backends import (
    BaseBackend,
    OutcomeUnknown,
    PermanentFailure,
    TemporaryFailure,
    backend_for,
)
from unicommerce.messaging.events import MESSAGE_SENT
from unicommerce.messaging.exceptions import (
    MessageInvalid,
    MessageRecipientInvalid,
    SmsDestinationNotAllowed,
)
from unicommerce.messaging.models import Message
from unicommerce.ratelimit import rate_limit_check, rate_limit_hit

logger = logging.getLogger(__name__)

Status = Message.Status
Channel = Message.Channel
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
MAX_BACKOFF = timedelta(hours=1)
SWEEP_LIMIT = 500
# ``last_error`` of a message whose earlier attempt may have reached the provider: a
# claim the sweep handed back, or an attempt that raised OutcomeUnknown.
CLAIM_HANDED_BACK = "the worker stopped while sending"
OUTCOME_UNKNOWN = "OutcomeUnknown: "
_TABLE = Message._meta.db_table
# What ``sms_per_channel`` counts the system's own SMS by (reminders, pickup codes).
SYSTEM_SENDER = "system"


# --- Queueing --------------------------------------------------------------------------


def message_recipient_check(*, channel: str, to: str) -> str:
    """``to`` as it will be stored: an E.164 number for SMS, an address for e-mail."""
    to = (to or "").strip()
    if channel == Channel.SMS:
        if not E164.fullmatch(to):
            raise MessageRecipientInvalid(
                _("An SMS goes to a phone number in international form, such as +33612345678."),
                channel=channel,
                to=to,
            )
        sms_destination_check(to)
        return to
    try:
        if len(to) > Message._meta.get_field("to").max_length:
            raise ValidationError("too long")
        validate_email(to)
    except ValidationError:
        raise MessageRecipientInvalid(
            _("This is not a valid e-mail address."), channel=channel, to=to
        ) from None
    return to


def sms_destination_check(to: str) -> str:
    """The region (ISO 3166) of the E.164 number ``to``, if SMS may go there
    (``SMS_ALLOWED_REGIONS``); ``SmsDestinationNotAllowed`` otherwise, also for a number
    whose country cannot be told."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(to, None))
    except phonenumbers.NumberParseException:
        region = None
    allowed = {code.upper() for code in settings.SMS_ALLOWED_REGIONS}
    if not region or region.upper() not in allowed:
        raise SmsDestinationNotAllowed(
            _("SMS cannot be sent to this country."), channel=Channel.SMS, to=to, region=region
        )
    return region


def _sms_limits_hit(*, to: str, sender: str) -> None:
    """Count one SMS against the per-number (a day) and per-sender (an hour) limits, or
    raise ``RateLimited`` having counted nothing when either is used up: SMS cost money
    and reach a stranger's phone, so neither a form nor a channel may pump them."""
    sender = sender or SYSTEM_SENDER
    rate_limit_check("sms_per_number", to)
    rate_limit_check("sms_per_channel", sender)
    rate_limit_hit("sms_per_number", to)
    rate_limit_hit("sms_per_channel", sender)


def _content_check(
    *, channel: str, body: str, kind: str, subject: str, reference: str, dedup_key: str | None
) -> None:
    if channel not in Channel.values:
        raise MessageInvalid(
            _("Unknown message channel: %(channel)s.") % {"channel": channel},
            channel=channel,
            known=list(Channel.values),
        )
    if not body.strip():
        raise MessageInvalid(_("A message needs a body."), field="body")
    if not kind.strip() or len(kind) > Message._meta.get_field("kind").max_length:
        raise MessageInvalid(_("A message needs a kind of at most 100 characters."), field="kind")
    if channel == Channel.EMAIL and not subject.strip():
        raise MessageInvalid(_("An e-mail needs a subject."), field="subject")
    if len(reference) > 100 or len(dedup_key or "") > 200:
        raise MessageInvalid(
            _("A reference has at most 100 characters, a deduplication key 200."),
            field="dedup_key" if len(dedup_key or "") > 200 else "reference",
        )
    if "\n" in subject or "\r" in subject or len(subject) > 200:
        raise MessageInvalid(_("A subject is one line of at most 200 characters."), field="subject")


def _message_insert(values: list) -> int | None:
    """Insert a queued message (``values``: channel, to, subject, body, redact_after_send,
    kind, customer_id, reference, dedup_key); its id, or None when the dedup_key is
    already taken."""
    with connection.cursor() as cursor:
        # ON CONFLICT rather than catching IntegrityError: no savepoint, and a concurrent
        # insert of the same key waits for the other transaction instead of failing.
        cursor.execute(
            f"""
            INSERT INTO {_TABLE} (channel, "to", subject, body, redact_after_send, kind,
                                  customer_id, reference, dedup_key, status, attempts,
                                  last_error, provider_id, created_at, next_attempt_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'queued', 0, '', '',
                    statement_timestamp(), statement_timestamp())
            ON CONFLICT (dedup_key) DO NOTHING
            RETURNING id
            """,  # noqa: S608 - the table name comes from the model, values are parameters
            values,
        )
        row = cursor.fetchone()
    return row[0] if row is not None else None


def message_send(
    *,
    channel: str,
    to: str,
    body: str,
    kind: str,
    subject: str = "",
    customer_id: int | None = None,
    reference: str = "",
    dedup_key: str | None = None,
    redact_after_send: bool = False,
    sender: str = "",
) -> Message:
    """Queue a message to a customer, in the caller's transaction; a worker sends it
    once that commits. ``redact_after_send``: the text carries a secret (a payment link's
    token, a code) and is replaced by ``REDACTED`` once the message is sent or has failed.

    An SMS goes only to a number of ``SMS_ALLOWED_REGIONS`` (``SmsDestinationNotAllowed``)
    and counts against the limits ``sms_per_number`` (by number) and ``sms_per_channel``
    (by ``sender``, the code of the sales channel whose request causes it; "" for the
    system's own messages): over either, ``RateLimited`` and nothing is written.

    With a ``dedup_key`` already used (a retried request, an event handled twice) the
    message queued first is returned and nothing else happens, whatever its state (and
    nothing is counted).
    """
    _content_check(
        channel=channel,
        body=body,
        kind=kind,
        subject=subject,
        reference=reference,
        dedup_key=dedup_key,
    )
    to = message_recipient_check(channel=channel, to=to)
    if dedup_key is not None and not dedup_key.strip():
        dedup_key = None
    if channel == Channel.SMS:
        if dedup_key is not None:
            already = Message.objects.filter(dedup_key=dedup_key).first()
            if already is not None:
                return already
        _sms_limits_hit(to=to, sender=sender)
    row_id = _message_insert(
        [channel, to, subject, body, redact_after_send, kind, customer_id, reference, dedup_key]
    )
    if row_id is None:
        return Message.objects.get(dedup_key=dedup_key)
    transaction.on_commit(partial(message_enqueue, row_id))
    return Message.objects.get(pk=row_id)


def message_enqueue(message_id: int, countdown: float = 0) -> None:
    """Hand the message to the ``messaging`` queue. If the broker is down, the sweep
    enqueues it later: the row is the truth, the task only a wake-up call."""
    from unicommerce.messaging.tasks import message_send_task

    try:
        message_send_task.apply_async(args=[message_id], countdown=countdown, retry=False)
    except Exception:
        logger.warning("could not enqueue message %s; the sweep will", message_id)


# --- Erasure --------------------------------------------------------------------------


def messages_customer_erase(*, customer_ids: list[int], recipients: list[str]) -> int:
    """GDPR erasure: the messages of these customers, or sent to one of ``recipients``
    (their addresses and numbers), lose their recipient and text; those still queued
    are never sent. The rows stay (what was sent when, for which order). Returns the
    rows changed."""
    sent_to = Q()
    for recipient in recipients:
        sent_to |= Q(to__iexact=recipient)
    messages = Message.objects.filter(Q(customer_id__in=customer_ids) | sent_to)
    messages.filter(status=Status.QUEUED).update(status=Status.FAILED, last_error="customer erased")
    return messages.update(to="", subject="", body="")


def messages_prune(*, now: datetime | None = None) -> int:
    """Delete the messages sent or failed more than ``MESSAGE_KEEP_DAYS`` ago (by their
    creation: a message is done within hours of it), in batches
    (``unicommerce.retention``). Queued and sending ones stay whatever their age.
    Returns how many went."""
    from unicommerce.retention import rows_prune

    now = now or timezone.now()
    before = now - timedelta(days=int(settings.MESSAGE_KEEP_DAYS))
    return rows_prune(
        Message.objects.filter(status__in=[Status.SENT, Status.FAILED], created_at__lt=before)
    )


# --- Sending ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    message: Message
    claimed_at: datetime


def _claim(message_id: int) -> Claim | None:
    with transaction.atomic():
        now = timezone.now()
        message = (
            Message.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=Status.QUEUED, next_attempt_at__lte=now)
            .first()
        )
        if message is None:
            return None
        message.status = Status.SENDING
        message.claimed_at = now
        message.attempts += 1
        message.save(update_fields=["status", "claimed_at", "attempts"])
    return Claim(message, now)


def backoff_seconds(attempt: int) -> float:
    """Exponential back-off with "equal jitter" (half fixed, half random), so messages
    failed together by a provider's outage do not all come back at once."""
    base = float(settings.MESSAGING_RETRY_BASE)
    delay = min(MAX_BACKOFF.total_seconds(), base * 2 ** max(attempt - 1, 0))
    return delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 - not for security


def _finish(claim: Claim, **fields) -> bool:
    """Record an outcome, only if the claim is still ours (the sweep may have handed it
    back meanwhile and another worker taken it)."""
    return bool(
        Message.objects.filter(
            pk=claim.message.pk, status=Status.SENDING, claimed_at=claim.claimed_at
        ).update(**fields)
    )


def message_deliver(*, message_id: int) -> str:
    """Send one queued message through its channel's backend; say what became of it:
    "sent", "retry", "failed", or "skipped" (not due, already done, or held elsewhere).

    A message whose earlier attempt has no recorded outcome is first looked for at the
    provider (``find_sent``): found, it is recorded as sent and not sent again."""
    claim = _claim(message_id)
    if claim is None:
        return "skipped"
    message = claim.message
    try:
        backend = backend_for(message.channel)
        provider_id = _earlier_copy(backend, message) if _outcome_unknown(message) else None
        if provider_id is None:
            provider_id = backend.send(message)
    except PermanentFailure as error:
        _fail(claim, f"{type(error).__name__}: {error}")
        return "failed"
    except OutcomeUnknown as error:  # it may be at the provider: look before resending
        return _retry_or_fail(claim, f"{OUTCOME_UNKNOWN}{error}")
    except Exception as error:  # TemporaryFailure, or a backend's unexpected error
        if not isinstance(error, TemporaryFailure):
            logger.exception("messaging backend error on message %s", message.pk)
        return _retry_or_fail(claim, f"{type(error).__name__}: {error}")
    with transaction.atomic():
        recorded = _finish(
            claim,
            status=Status.SENT,
            provider_id=str(provider_id)[:200],
            sent_at=timezone.now(),
            claimed_at=None,
            last_error="",
            **_forgotten(message),
        )
        if recorded:  # those who wait for it (a payment link's "sent") learn it
            event_publish(
                topic=MESSAGE_SENT, payload={"message_id": message.pk, "kind": message.kind}
            )
    return "sent"


REDACTED = "[text not kept: it carried a secret]"


def _forgotten(message: Message) -> dict:
    """The text to keep once the message is done with: none, when it carried a secret."""
    return {"body": REDACTED} if message.redact_after_send else {}


def _outcome_unknown(message: Message) -> bool:
    """Did an earlier attempt end with no outcome recorded (it may have been sent)?"""
    return message.attempts > 1 and (
        message.last_error == CLAIM_HANDED_BACK or message.last_error.startswith(OUTCOME_UNKNOWN)
    )


def _earlier_copy(backend: BaseBackend, message: Message) -> str | None:
    """The provider's id of what an earlier attempt handed over, if the provider has it.
    Not knowing is not "not sent": a failed look-up keeps the message's outcome
    unknown, so the next attempt looks again instead of sending blindly."""
    find_sent = getattr(backend, "find_sent", None)
    if find_sent is None:
        return None
    try:
        provider_id = find_sent(message)
    except Exception as error:
        raise OutcomeUnknown(
            f"could not look for an earlier copy: {type(error).__name__}: {error}"
        ) from error
    if provider_id:
        logger.info(
            "message %s was already at the provider as %s; not sent again",
            message.pk,
            provider_id,
        )
        return str(provider_id)
    return None


def _fail(claim: Claim, error: str) -> None:
    _finish(
        claim,
        status=Status.FAILED,
        claimed_at=None,
        last_error=error[:2000],
        **_forgotten(claim.message),
    )
    logger.error(
        "message %s (%s to %s) failed after %d attempts: %s",
        claim.message.pk,
        claim.message.kind,
        claim.message.to,
        claim.message.attempts,
        error,
    )


def _retry_or_fail(claim: Claim, error: str) -> str:
    if claim.message.attempts >= int(settings.MESSAGING_MAX_ATTEMPTS):
        _fail(claim, error)
        return "failed"
    delay = backoff_seconds(claim.message.attempts)
    retried = _finish(
        claim,
        status=Status.QUEUED,
        claimed_at=None,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        last_error=error[:2000],
    )
    if retried:
        message_enqueue(claim.message.pk, countdown=delay)
    return "retry"


# --- The safety net --------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    handed_back: int
    failed: int
    enqueued: int


def messages_sweep() -> SweepResult:
    """Beat, every 30 s: hand back claims older than ``MESSAGING_CLAIM_TIMEOUT_SECONDS``
    (their worker died mid-send; one out of attempts ends ``failed``), then enqueue the
    queued messages due for more than ``MESSAGING_SWEEP_AFTER_SECONDS`` (their task was
    lost) and those handed back. An extra task is harmless: the claim lets only one
    send."""
    now = timezone.now()
    stale = now - timedelta(seconds=float(settings.MESSAGING_CLAIM_TIMEOUT_SECONDS))
    error = CLAIM_HANDED_BACK
    max_attempts = int(settings.MESSAGING_MAX_ATTEMPTS)
    with transaction.atomic():
        abandoned = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(status=Status.SENDING, claimed_at__lt=stale)
            .order_by("pk")
            .values_list("pk", "attempts")
        )
        out_of_attempts = [pk for pk, attempts in abandoned if attempts >= max_attempts]
        handed_back = [pk for pk, attempts in abandoned if attempts < max_attempts]
        Message.objects.filter(pk__in=out_of_attempts).update(
            status=Status.FAILED, claimed_at=None, last_error=error
        )
        Message.objects.filter(pk__in=out_of_attempts, redact_after_send=True).update(body=REDACTED)
        Message.objects.filter(pk__in=handed_back).update(
            status=Status.QUEUED, claimed_at=None, next_attempt_at=now, last_error=error
        )
    lost_before = now - timedelta(seconds=float(settings.MESSAGING_SWEEP_AFTER_SECONDS))
    lost = Message.objects.filter(status=Status.QUEUED, next_attempt_at__lte=lost_before)
    to_enqueue = [
        *handed_back,
        *lost.exclude(pk__in=handed_back)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_LIMIT],
    ]
    for message_id in to_enqueue:
        message_enqueue(message_id)
    for message_id in out_of_attempts:
        logger.error("message %s failed: %s, with no attempt left", message_id, error)
    return SweepResult(
        handed_back=len(handed_back), failed=len(out_of_attempts), enqueued=len(to_enqueue)
    )
