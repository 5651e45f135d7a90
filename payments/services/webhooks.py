"""Provider webhooks: verified, deduplicated, applied at most once to the payment they
name (or kept until the payment's outcome is recorded, when they arrive first)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from orders.locks import order_lock
from orders.models import Order
from payments.exceptions import WebhookPayloadInvalid, WebhookSignatureInvalid
from payments.gateways import SignatureInvalid, WebhookEvent, gateway_get
from payments.locks import payment_lock, provider_reference_lock
from payments.models import FINAL, OPEN, PART_CHARGED, Payment, PaymentOperation, ProviderEvent
from payments.selectors import payment_open_claim
from payments.services.common import payment_update
from payments.services.ledger import (
    order_payment_recompute,
    payment_capture_apply,
    payment_refund_apply,
)

Op = PaymentOperation
PS = Payment.Status
OPS = PaymentOperation.Status
K = PaymentOperation.Kind


@dataclass(frozen=True)
class WebhookOutcome:
    """``processed`` (applied, or nothing left to do), ``duplicate`` (seen before),
    ``unmatched`` (no payment with that reference yet: kept and applied when the payment's
    outcome is recorded) or ``ignored`` (a type we do not act on)."""

    result: str
    event: ProviderEvent


def provider_event_process(
    *, gateway: str, body: bytes, headers: Mapping[str, str]
) -> WebhookOutcome:
    """Verify, deduplicate and apply one provider webhook. A bad signature (or one too
    old: a replay) raises ``WebhookSignatureInvalid`` and changes nothing; the same event
    id again answers ``duplicate`` and changes nothing."""
    gw = gateway_get(gateway)
    try:
        event = gw.webhook_parse(body=body, headers=headers)
    except SignatureInvalid as exc:
        raise WebhookSignatureInvalid(gateway=gateway, reason=exc.message) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise WebhookPayloadInvalid(gateway=gateway, reason=str(exc)[:200]) from None
    seen = ProviderEvent.objects.filter(gateway=gateway, event_id=event.event_id).first()
    if seen is not None and seen.processed_at is not None:
        return WebhookOutcome("duplicate", seen)
    with transaction.atomic():
        if event.reference:
            provider_reference_lock(gateway, event.reference)
        payment = (
            Payment.objects.filter(gateway=gateway, provider_reference=event.reference).first()
            if event.reference
            else None
        )
        order = order_lock(payment.order_id) if payment is not None else None
        if payment is not None:
            payment = payment_lock(payment.pk)
        row, _created = ProviderEvent.objects.get_or_create(
            gateway=gateway,
            event_id=event.event_id,
            defaults={
                "type": event.provider_type or event.type,
                "provider_reference": event.reference,
                "payload": dict(event.payload),
                "signature_verified": True,
            },
        )
        row = ProviderEvent.objects.select_for_update().get(pk=row.pk)
        if row.processed_at is not None:
            return WebhookOutcome("duplicate", row)
        if event.type == "ignored":
            _event_done(row, "ignored")
            return WebhookOutcome("ignored", row)
        if payment is None:
            _event_done(row, "unmatched", processed=False)
            return WebhookOutcome("unmatched", row)
        result = _event_apply(event, row, payment)
        order_payment_recompute(order)
    return WebhookOutcome(result, row)


def _event_done(row: ProviderEvent, result: str, *, processed: bool = True) -> None:
    row.result = result
    row.processed_at = timezone.now() if processed else None
    row.save(update_fields=["result", "processed_at"])


def _event_apply(event: WebhookEvent, row: ProviderEvent, payment: Payment) -> str:
    """Apply a verified event to a locked payment (at most once: the row is marked)."""
    common = {"payment": payment, "currency": payment.currency, "provider_event": row}
    if payment.method in PART_CHARGED and event.type.startswith("payment."):
        # One payment, several charges: an event only settles the charge it names.
        _part_event_apply(event, payment, common)
        _event_done(row, "processed")
        return "processed"
    if event.type in (
        "payment.succeeded",
        "payment.authorised",
        "payment.failed",
        "payment.canceled",
    ):
        if payment.status not in OPEN:  # already settled: nothing to change
            _event_done(row, "processed")
            return "processed"
        claim = payment_open_claim(payment, (K.CAPTURE, K.AUTHORISE))
        common.update(resolves=claim, provider_reference=event.reference)
        if event.type == "payment.succeeded":
            amount = min(event.amount or payment.amount, payment.amount)
            Op.objects.create(kind=K.CAPTURE, status=OPS.SUCCEEDED, amount=amount, **common)
            if event.card_last4:
                payment_update(
                    payment, card_brand=event.card_brand[:30], card_last4=event.card_last4[-4:]
                )
            payment_capture_apply(payment, amount)
        elif event.type == "payment.authorised":
            if payment.status == PS.PENDING:
                Op.objects.create(
                    kind=K.AUTHORISE, status=OPS.SUCCEEDED, amount=payment.amount, **common
                )
                payment_update(payment, status=PS.AUTHORISED)
        elif event.type == "payment.failed":
            Op.objects.create(
                kind=K.FAILURE,
                status=OPS.FAILED,
                amount=payment.amount,
                error_code=event.error_code[:100],
                error_message=event.error_message[:255],
                **common,
            )
            payment_update(payment, status=PS.FAILED)
        else:
            Op.objects.create(kind=K.VOID, status=OPS.SUCCEEDED, amount=payment.amount, **common)
            payment_update(payment, status=PS.VOIDED)
    elif event.type in ("refund.succeeded", "refund.failed"):
        _refund_event_apply(event, payment, common)
    _event_done(row, "processed")
    return "processed"


def _part_event_apply(event: WebhookEvent, payment: Payment, common: dict[str, Any]) -> None:
    pending = (
        payment.operations.filter(
            kind=K.CAPTURE,
            status=OPS.PENDING,
            resolves__isnull=False,
            provider_reference=event.reference,
        )
        .exclude(resolves__outcomes__status__in=FINAL)
        .select_related("resolves")
        .first()
    )
    if pending is None:  # a charge already settled (or not ours): nothing to change
        return
    claim = pending.resolves
    common = {**common, "resolves": claim, "provider_reference": event.reference}
    if event.type == "payment.succeeded":
        Op.objects.create(kind=K.CAPTURE, status=OPS.SUCCEEDED, amount=claim.amount, **common)
        payment_capture_apply(payment, claim.amount)
    elif event.type in ("payment.failed", "payment.canceled"):
        Op.objects.create(
            kind=K.CAPTURE,
            status=OPS.FAILED,
            amount=claim.amount,
            error_code=(event.error_code or "payment_failed")[:100],
            error_message=event.error_message[:255],
            **common,
        )


def _refund_event_apply(event: WebhookEvent, payment: Payment, common: dict[str, Any]) -> None:
    refunds = payment.operations.filter(kind=K.REFUND, provider_reference=event.refund_reference)
    if not event.refund_reference or refunds.filter(status__in=FINAL).exists():
        return
    pending = refunds.filter(status=OPS.PENDING, resolves__isnull=False).first()
    common = {**common, "provider_reference": event.refund_reference}
    if event.type == "refund.failed":
        if pending is not None:
            Op.objects.create(
                kind=K.REFUND,
                status=OPS.FAILED,
                amount=pending.amount,
                resolves=pending.resolves,
                error_code=event.error_code[:100] or "refund_failed",
                **common,
            )
        return
    if pending is not None:
        amount = pending.amount
        Op.objects.create(
            kind=K.REFUND, status=OPS.SUCCEEDED, amount=amount, resolves=pending.resolves, **common
        )
    else:  # a refund made at the provider (its dashboard): recorded if it fits
        amount = event.amount or Decimal(0)
        if amount <= 0 or amount > payment.refundable_amount:
            return
        Op.objects.create(kind=K.REFUND, status=OPS.SUCCEEDED, amount=amount, **common)
    payment_refund_apply(payment, amount)


def unmatched_events_apply(*, gateway: str, reference: str, order: Order) -> None:
    """Events that arrived before we knew the payment's reference (a fast provider)."""
    payment = Payment.objects.filter(gateway=gateway, provider_reference=reference).first()
    if payment is None:
        return
    rows = ProviderEvent.objects.select_for_update().filter(
        gateway=gateway, provider_reference=reference, processed_at__isnull=True
    )
    gw = gateway_get(gateway)
    applied = False
    for row in rows.order_by("id"):
        try:
            event = gw.event_read(row.payload)
        except (ValueError, KeyError, TypeError):
            continue
        _event_apply(event, row, payment_lock(payment.pk))
        applied = True
    if applied:
        order_payment_recompute(order)
