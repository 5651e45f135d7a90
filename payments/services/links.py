"""Payment links: an amount to pay on an order, sent by SMS, paid on the customer's phone.

A link carries an amount, an expiry and a single-use token. The token
(``secrets.token_urlsafe(32)``, 256 bits) is given once, to the caller who created or
resent the link, and goes out in the SMS; only its SHA-256 is stored, so the database
cannot give it back and a guessed or altered token finds nothing.

Life of a link (``PaymentLink.Status``)::

    created --SMS sent by the worker--> sent --customer opens--> opened --paid--> paid
       |                                  |                        |
       +--------- cancel / expiry --------+------------------------+--> cancelled / expired

**"Sent" is the worker's word, not ours.** Creating (or resending) a link queues the SMS
(``unicommerce.messaging.message_send``, sent by the Celery worker after commit) and
keeps the message's id on the link; the link says ``sent``, with ``sent_at`` the
message's own ``sent_at``, only once the Message row says the backend accepted it.
That is recorded when the worker has sent it (messaging's ``message.sent`` event, to
which ``payments.events`` subscribes: ``payment_links_sent_record``) and by the periodic
``payment_links_expire`` (beat), so nothing in messaging has to know about links. Reads
(the API, the POS, the pay page: ``payments.selectors.payment_link_current``) show the
link as it stands without writing anything.

**Single use, and never two charges.** Paying takes a PostgreSQL advisory lock on the
link (a session lock: no row is locked while the provider is called), then, in a short
transaction holding the link's row lock, checks the link (expired, cancelled, paid, a
payment already under way) and lets at most one payment start. A second concurrent pay
waits for the first and then gets ``payment_link_used``. A declined payment leaves the
link payable (the customer tries another card). The charge itself goes through
``payments.services.start.payment_start`` (or the instalment plan's first part), with an
idempotency key derived from the page's: a double-submitted form is the same payment.

**Paid.** A link is paid when its payment is captured (or, for a plan, its first part
is); a delayed confirmation arrives by webhook, and the link follows through the
``payment.captured`` outbox event (``payment_links_paid_record``); reads show it paid as
soon as its payment is.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from customers.phones import phone_e164
from orders.locks import order_lock
from orders.models import Order
from orders.states import order_event_record
from payments.conf import setting
from payments.exceptions import (
    InstalmentDeclined,
    OrderNotPayable,
    PaymentDeclined,
    PaymentLinkCancelled,
    PaymentLinkChoiceInvalid,
    PaymentLinkExpired,
    PaymentLinkUsed,
    amount_limit_check,
)
from payments.locks import payment_link_lock, payment_link_row_lock
from payments.models import LINK_LIVE as LIVE
from payments.models import LINK_PAYMENT_HOLDS, Payment, PaymentLink
from payments.selectors import (
    order_outstanding_amount,
    payment_link_current,
    payment_link_get,
    payment_link_paid_by,
    payment_link_payment_holds,
    payment_link_url,
    token_hash,
)
from payments.services.common import amount_check
from payments.services.instalments import instalment_offers, instalment_plan_start
from payments.services.start import payment_start
from unicommerce.actors import acting_user
from unicommerce.exceptions import InvalidInput
from unicommerce.messaging.models import Message
from unicommerce.messaging.services import message_send
from unicommerce.money import money_format
from unicommerce.ratelimit import rate_limit_hit

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from orders.models import Cart
    from unicommerce.channels.models import SalesChannel

LS = PaymentLink.Status
METHOD = "payment_link"  # the checkout method and the payment method
FULL = "full"


# --- small helpers


def _language(language: str | None) -> str:
    code = (language or "fr").lower().split("-")[0]
    known = [code for code, _name in settings.LANGUAGES]
    if code not in known:
        raise InvalidInput(
            _("Unknown language “%(language)s”.") % {"language": language},
            language=language,
            known=known,
        )
    return code


def _ttl(expires_in: timedelta | int | None) -> timedelta:
    if expires_in is None:
        return timedelta(minutes=int(setting("PAYMENT_LINK_TTL_MINUTES")))
    ttl = expires_in if isinstance(expires_in, timedelta) else timedelta(seconds=int(expires_in))
    if ttl <= timedelta(0):
        raise InvalidInput(_("A link must stay valid for some time."), expires_in=str(expires_in))
    return ttl


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


# --- recording a link's true state (write paths only: reads use payment_link_current)


def _mark_paid(link: PaymentLink, payment: Payment) -> bool:
    """Conditional update: the link becomes paid once (returns whether it did now)."""
    now = timezone.now()
    changed = (
        PaymentLink.objects.filter(pk=link.pk)
        .exclude(status=LS.PAID)
        .update(status=LS.PAID, payment=payment, paid_at=now)
    )
    if changed:
        link.status, link.payment, link.paid_at = LS.PAID, payment, now
    return bool(changed)


def payment_link_sync(link: PaymentLink) -> PaymentLink:
    """Record on ``link`` (locked, in a write path) what ``payment_link_current`` sees:
    its payment confirmed (paid), its time up (expired). Conditional UPDATEs, so
    concurrent writers agree and nothing goes backwards. (Sent is recorded by the
    SMS's own path: ``payment_links_sent_record``.)"""
    payment_link_current(link)
    if link.status == LS.PAID and link.payment_id is not None:
        _mark_paid(link, link.payment)
    elif link.status == LS.EXPIRED:
        PaymentLink.objects.filter(pk=link.pk, status__in=LIVE).update(status=LS.EXPIRED)
    return link


def _recorded_now(link_id: int) -> PaymentLink:
    """The link read and brought up to date in the database (its own statements)."""
    return payment_link_sync(PaymentLink.objects.select_related("payment").get(pk=link_id))


def _check_payable(link: PaymentLink) -> None:
    """Raise the reason ``link`` (refreshed) cannot be paid now, if any."""
    if link.status == LS.PAID:
        raise PaymentLinkUsed(link=link, payment_status=link.payment.status if link.payment else "")
    if link.status == LS.CANCELLED:
        raise PaymentLinkCancelled(link=link)
    if payment_link_payment_holds(link):
        raise PaymentLinkUsed(link=link, payment_status=link.payment.status)
    if link.status == LS.EXPIRED or link.expires_at <= timezone.now():
        raise PaymentLinkExpired(link=link)


# --- create, send, resend, cancel


def payment_link_handoff(
    *,
    order: Order,
    channel: SalesChannel | None = None,
    user: AbstractBaseUser | None = None,
    params: dict[str, Any] | None = None,
) -> None:
    """Checkout's hand-over for "payment_link": the order (its stock held by checkout)
    waits for the customer to pay by link; ``payment_link_create`` makes the link in the
    same transaction."""
    order_event_record(
        order=order,
        kind="awaiting_payment",
        message=_("Awaiting payment by a payment link sent by SMS."),
        data={"payment_method": METHOD},
        channel=channel,
        actor=user,
    )


def _sms_body(link: PaymentLink, token: str) -> str:
    with translation.override(link.language):
        return _("%(shop)s: pay %(amount)s for order %(reference)s here: %(url)s") % {
            "shop": setting("PAYMENT_LINK_SHOP_NAME"),
            "amount": money_format(link.amount, link.currency, link.language),
            "reference": link.order.reference,
            "url": payment_link_url(token),
        }


def _sms_queue(link: PaymentLink, token: str) -> Message:
    """Queue the SMS (sent by the worker after commit) and count the send on the link.
    The caller holds the link's row (or has just created it)."""
    link.sends += 1
    message = message_send(
        channel="sms",
        to=link.phone,
        body=_sms_body(link, token),
        kind="payment_link",
        customer_id=link.order.customer_id,
        reference=link.order.reference,
        dedup_key=f"payment-link:{link.pk}:{link.sends}",
        redact_after_send=True,  # the token must not outlive the SMS in our database
        sender=link.channel.code if link.channel_id else "",
    )
    link.message_id = message.pk
    link.save(update_fields=["sends", "message_id"])
    return message


def _amount_for(order: Order, amount: Decimal | None) -> Decimal:
    if order.status == Order.Status.CANCELLED:
        raise OrderNotPayable(order=order.reference, status=order.status)
    outstanding = order_outstanding_amount(order)
    if amount is None:
        if outstanding <= 0:
            raise OrderNotPayable(order=order.reference, status=order.payment_status)
        return outstanding
    amount = amount_check(amount, order.currency)
    amount_limit_check(
        amount=amount, limit=max(outstanding, Decimal(0)), rule="due", currency=order.currency
    )
    return amount


def payment_link_create(
    *,
    order: Order | None = None,
    cart: Cart | None = None,
    amount: Decimal | None = None,
    phone: str,
    language: str = "fr",
    expires_in: timedelta | int | None = None,
    channel: SalesChannel | None = None,
    user: AbstractBaseUser | None = None,
    checkout_options: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> tuple[PaymentLink, str | None]:
    """Make a payment link for ``order`` (or for ``cart``, checked out first with the
    method "payment_link", so its stock is held while the customer pays) and queue its
    SMS to ``phone``. Returns the link and its token (given only here).

    ``amount`` defaults to what the order still owes and may not exceed it
    (``payment_exceeds_due``) nor be zero or less (``payment_amount_invalid``);
    ``expires_in`` (a timedelta or seconds) defaults to ``PAYMENT_LINK_TTL_MINUTES``;
    ``checkout_options`` go to ``order_checkout`` for a cart (``shipping_address``,
    ``line_choices``, ``till_location``, ``contact_email``…). All or nothing: an invalid
    phone (``invalid_phone``) or amount checks nothing out and sends nothing.
    ``idempotency_key``: the same key again (a double click, a retry) returns the link
    made the first time, with no token (it was given once) and no second SMS.
    """
    if (order is None) == (cart is None):
        raise InvalidInput(_("Give either an order or a cart."), field="order")
    phone = phone_e164(phone)
    language = _language(language)
    ttl = _ttl(expires_in)
    if idempotency_key is not None:
        done = PaymentLink.objects.filter(idempotency_key=idempotency_key).first()
        if done is not None:
            return done, None
    with transaction.atomic():
        if cart is not None:
            order = _cart_checkout(
                cart, phone=phone, channel=channel, user=user, options=checkout_options
            )
        order = order_lock(order.pk)
        if idempotency_key is not None:  # a second click waited for the first's lock
            done = PaymentLink.objects.filter(idempotency_key=idempotency_key).first()
            if done is not None:
                return done, None
        return _link_create(
            order=order,
            amount=_amount_for(order, amount),
            phone=phone,
            language=language,
            ttl=ttl,
            channel=channel,
            user=user,
            idempotency_key=idempotency_key,
        )


def _link_create(
    *,
    order: Order,
    amount: Decimal,
    phone: str,
    language: str,
    ttl: timedelta,
    channel: SalesChannel | None,
    user: AbstractBaseUser | None,
    idempotency_key: str | None,
) -> tuple[PaymentLink, str]:
    """The link (its token given back once), its SMS queued, the order's timeline."""
    token, digest = _new_token()
    link = PaymentLink.objects.create(
        order=order,
        token_hash=digest,
        amount=amount,
        currency=order.currency,
        phone=phone,
        language=language,
        expires_at=timezone.now() + ttl,
        channel=channel or order.channel,
        created_by=acting_user(user),
        idempotency_key=idempotency_key,
    )
    _sms_queue(link, token)
    order_event_record(
        order=order,
        kind="payment_link_sent",
        message=_("Payment link for %(amount)s sent by SMS.")
        % {"amount": money_format(amount, order.currency, translation.get_language() or "en")},
        data={"payment_link_id": link.pk, "amount": str(amount)},
        channel=channel,
        actor=user,
    )
    return link, token


def _cart_checkout(
    cart: Cart,
    *,
    phone: str,
    channel: SalesChannel | None,
    user: AbstractBaseUser | None,
    options: Mapping[str, Any] | None,
) -> Order:
    """The cart checked out with the method "payment_link" (its stock held while the
    customer pays)."""
    from orders.services.checkout import order_checkout

    options = dict(options or {})
    options.setdefault("contact_phone", phone)
    return order_checkout(
        cart=cart,
        channel=channel or cart.channel,
        payment_method=METHOD,
        user=user,
        **options,
    )


def payment_link_resend(
    *,
    link: PaymentLink,
    phone: str | None = None,
    user: AbstractBaseUser | None = None,
) -> tuple[PaymentLink, str]:
    """Send the link again with a new token (the old one stops working at once) and a
    new expiry, optionally to another ``phone``. Only a payable link can be resent, and
    only ``payment_link_send_per_link`` times (each send is an SMS: ``RateLimited``)."""
    new_phone = phone_e164(phone) if phone else None
    # Counted before any lock is taken (no Redis call under a row lock); a refused resend
    # counts too, as any attempt to send does.
    rate_limit_hit("payment_link_send_per_link", link.pk)
    _recorded_now(link.pk)  # a refusal below rolls back: what it found stays recorded
    with payment_link_lock(link.pk), transaction.atomic():
        locked = payment_link_row_lock(link.pk)
        payment_link_sync(locked)
        _check_payable(locked)
        token, digest = _new_token()
        locked.token_hash = digest
        locked.status = LS.CREATED
        locked.sent_at = None
        locked.expires_at = timezone.now() + _ttl(None)
        if new_phone:
            locked.phone = new_phone
        locked.save(update_fields=["token_hash", "status", "sent_at", "expires_at", "phone"])
        _sms_queue(locked, token)
        order_event_record(
            order=locked.order,
            kind="payment_link_resent",
            message=_("Payment link sent again by SMS."),
            data={"payment_link_id": locked.pk, "sends": locked.sends},
            channel=locked.channel,
            actor=user,
        )
    return locked, token


def payment_link_cancel(*, link: PaymentLink, user: AbstractBaseUser | None = None) -> PaymentLink:
    """Kill the link: its token answers ``payment_link_cancelled`` from now on. A paid
    link (or one whose payment is under way) cannot be cancelled; cancelling twice is
    harmless."""
    with payment_link_lock(link.pk), transaction.atomic():
        locked = payment_link_row_lock(link.pk)
        payment_link_sync(locked)
        if locked.status in (LS.CANCELLED, LS.EXPIRED):
            return locked
        if locked.status == LS.PAID or payment_link_payment_holds(locked):
            raise PaymentLinkUsed(
                link=locked, payment_status=locked.payment.status if locked.payment else ""
            )
        locked.status = LS.CANCELLED
        locked.cancelled_at = timezone.now()
        locked.save(update_fields=["status", "cancelled_at"])
        order_event_record(
            order=locked.order,
            kind="payment_link_cancelled",
            message=_("Payment link cancelled."),
            data={"payment_link_id": locked.pk},
            channel=locked.channel,
            actor=user,
        )
    return locked


# --- the customer's side


def payment_link_open(*, token: str) -> PaymentLink:
    """The link behind ``token`` if it can be paid now; the first open marks it opened.
    Unknown or altered token: 404 ``payment_link_not_found``; expired: 410
    ``payment_link_expired``; paid (or being paid): 409 ``payment_link_used``;
    cancelled: 410 ``payment_link_cancelled``."""
    link = payment_link_sync(payment_link_get(token=token))  # a write path: the expiry too
    _check_payable(link)
    if link.status in (LS.CREATED, LS.SENT):
        now = timezone.now()
        PaymentLink.objects.filter(pk=link.pk, status__in=[LS.CREATED, LS.SENT]).update(
            status=LS.OPENED, opened_at=now
        )
        PaymentLink.objects.filter(pk=link.pk, opened_at__isnull=True).update(opened_at=now)
        link.status = LS.OPENED
        link.opened_at = link.opened_at or now
    return link


@dataclass(frozen=True)
class PayChoice:
    """One way to pay a link: in full, or an instalment plan with its dated parts."""

    kind: str
    label: str
    parts: tuple[tuple[date, Decimal], ...]
    due_now: Decimal


def payment_link_choices(link: PaymentLink) -> list[PayChoice]:
    """Pay in full, then each instalment plan the link's amount and channel allow."""
    today = timezone.localdate()
    choices = [PayChoice(FULL, _("Pay in full"), ((today, link.amount),), link.amount)]
    for offer in _instalment_offers(link):
        choices.append(
            PayChoice(
                str(offer.kind),
                str(offer.label),
                tuple((due, amount) for due, amount in offer.parts),
                offer.due_now,
            )
        )
    return choices


def _instalment_offers(link: PaymentLink) -> list:
    return list(instalment_offers(amount=link.amount, currency=link.currency, channel=link.channel))


def _key_for(link: PaymentLink, idempotency_key: str) -> str:
    if not idempotency_key or not str(idempotency_key).strip():
        raise InvalidInput(_("A payment needs an idempotency key."), field="idempotency_key")
    return f"plink-{link.pk}-{str(idempotency_key).strip()}"[:255]


def _replayed(link: PaymentLink, key: str) -> bool:
    """Whether the link's payment was made by this very request (a retried submit)."""
    return link.payment_id is not None and link.payment.idempotency_key == key


def payment_link_pay(
    *,
    token: str,
    choice: str = FULL,
    card_token: str,
    idempotency_key: str,
) -> PaymentLink:
    """Pay the link behind ``token``: in full (``payment_start``, method payment_link)
    or by the instalment plan ``choice`` (its first part now). Single use: the link is
    checked under its row lock with every other pay of it waiting; one payment at most
    holds it. Returns the link: ``paid`` (with ``payment``), or still open with a
    ``pending`` payment when the provider confirms later. Raises ``PaymentDeclined``
    or ``InstalmentDeclined`` (the link stays payable), the link's own errors, and the
    payment's rules (``instalment_plan_not_eligible``, ``payment_exceeds_due``...)."""
    link = payment_link_sync(payment_link_get(token=token))  # kept if refused below
    key = _key_for(link, idempotency_key)
    with payment_link_lock(link.pk):
        with transaction.atomic():
            locked = payment_link_row_lock(link.pk)
            payment_link_sync(locked)
            # A retried submit (same key) replays the same charge: the same answer.
            if not _replayed(locked, key):
                _check_payable(locked)
                offered = [c.kind for c in payment_link_choices(locked)]
                if choice not in offered:
                    raise PaymentLinkChoiceInvalid(choice=str(choice), offered=offered)
            if locked.status in (LS.CREATED, LS.SENT):
                locked.status = LS.OPENED
                locked.opened_at = locked.opened_at or timezone.now()
                locked.save(update_fields=["status", "opened_at"])
        try:
            payment = _charge(locked, choice=choice, card_token=card_token, key=key)
        except (PaymentDeclined, InstalmentDeclined) as exc:
            _payment_attach(locked, exc.payment_id)
            raise
        return _payment_attach(locked, payment.pk)


def _charge(link: PaymentLink, *, choice: str, card_token: str, key: str) -> Payment:
    if choice == FULL:
        return payment_start(
            order=link.order,
            method=Payment.Method.PAYMENT_LINK,
            amount=link.amount,
            token=card_token,
            idempotency_key=key,
            channel=link.channel,
        )
    plan = instalment_plan_start(
        order=link.order,
        kind=choice,
        amount=link.amount,
        token=card_token,
        idempotency_key=key,
        channel=link.channel,
        phone=link.phone,
    )
    return plan.payment


def _payment_attach(link: PaymentLink, payment_id: int) -> PaymentLink:
    """Record the link's payment (the last attempt), and paid when it is settled."""
    with transaction.atomic():
        locked = payment_link_row_lock(link.pk)
        payment = Payment.objects.get(pk=payment_id)
        if locked.status != LS.PAID:
            locked.payment = payment
            locked.save(update_fields=["payment"])
            if payment_link_paid_by(payment):
                _mark_paid(locked, payment)
    locked.payment = payment
    return locked


# --- recording what happened elsewhere (payments.events), and the periodic job


def payment_links_paid_record(*, payment_id: int) -> None:
    """A payment confirmed by webhook (or a plan's part): its links become paid."""
    for link in PaymentLink.objects.filter(payment_id=payment_id).exclude(status=LS.PAID):
        payment_link_sync(link)


def payment_links_cancel_unused(*, order_id: int) -> None:
    """The order is paid some other way (cash at the till, another link): its links
    still waiting are cancelled, so nobody pays twice; a link whose payment is under way
    is left to it."""
    for link in PaymentLink.objects.filter(order_id=order_id, status__in=LIVE):
        try:
            payment_link_cancel(link=link)
        except PaymentLinkUsed:
            continue


def payment_links_sent_record(*, message_ids: list[int] | None = None) -> int:
    """The links whose SMS the worker has sent (``message_ids``, or any) say ``sent``,
    with the message's ``sent_at``. Returns how many links were promoted."""
    sent = Message.objects.filter(status=Message.Status.SENT, sent_at__isnull=False)
    if message_ids is not None:
        sent = sent.filter(pk__in=message_ids)
    waiting = PaymentLink.objects.filter(sent_at__isnull=True, message_id__isnull=False)
    promoted = 0
    for message_id, sent_at in sent.filter(pk__in=waiting.values("message_id")).values_list(
        "pk", "sent_at"
    ):
        links = PaymentLink.objects.filter(message_id=message_id, sent_at__isnull=True)
        promoted += links.filter(status=LS.CREATED).update(status=LS.SENT, sent_at=sent_at)
        # Opened (or paid) before this was recorded: the SMS was sent all the same.
        links.exclude(status__in=[LS.CREATED, LS.CANCELLED, LS.EXPIRED]).update(sent_at=sent_at)
    return promoted


def payment_links_expire(*, now=None) -> int:
    """Beat: mark the links whose time is up ``expired`` (a link whose payment is under
    way is left to its payment), and record as ``sent`` those whose SMS the worker has
    sent. Returns how many links expired."""
    now = now or timezone.now()
    held = Payment.objects.filter(status__in=LINK_PAYMENT_HOLDS).values("pk")
    expired = (
        PaymentLink.objects.filter(status__in=LIVE, expires_at__lte=now)
        .filter(Q(payment__isnull=True) | ~Q(payment__in=held))
        .update(status=LS.EXPIRED)
    )
    payment_links_sent_record()
    return expired
