"""Selling gift cards: once an order is paid, each unit of a gift-card line becomes a card
of what was paid for it (docs/loyalty.md, "Gift cards").

Called by the ``order.paid`` subscriber (``payments.events``) for orders of every
channel but stores, and by the till for its own sales, right after the payment that made
the order paid, with the codes of the physical cards it scanned (``codes``): the till
owns its sales, so an e-card is never sent in place of the card the customer holds. A
unit is issued once whatever calls (the idempotency key is the order line and the unit).

How the code reaches its holder, per unit:

- a code scanned at the till: a physical card with that code (``delivery=physical``);
- otherwise, the order's e-mail (an e-card by e-mail), else its phone (an e-card by
  SMS), through ``unicommerce.messaging`` (queued in this transaction, sent by the
  worker once it commits; the text is redacted once sent);
- neither: no card is issued (its code could reach nobody); the order's timeline says
  so (``gift_card_not_issued``) and the till or the back office issues it later with a
  code, by calling this again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal

from django.db import transaction
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from loyalty.exceptions import GiftCardAlreadySpent
from loyalty.models import GiftCard, GiftCardEntry
from loyalty.services.gift_cards import (
    IssuedCard,
    gift_card_active_set,
    gift_card_adjust,
    gift_card_balance,
    gift_card_issue,
)
from orders.models import Order, OrderLine
from orders.states import order_event_record
from unicommerce.channels.models import SalesChannel
from unicommerce.exceptions import DomainError
from unicommerce.messaging.services import message_send
from unicommerce.money import money_format

Delivery = GiftCard.Delivery


def gift_card_lines(order: Order) -> list[OrderLine]:
    """The order's lines (not cancelled) that sell a gift card."""
    return list(
        OrderLine.objects.filter(order_id=order.pk)
        .exclude(status=OrderLine.Status.CANCELLED)
        .exclude(variant__product__gift_card="")
        .select_related("variant__product")
        .order_by("id")
    )


def gift_card_unit_amounts(line: OrderLine) -> list[Decimal]:
    """What was paid for each unit of the line: its total split to the cent, the first
    units taking the odd cents, so the units sum to the line exactly."""
    cents = int((line.total_amount * 100).to_integral_value())
    base, extra = divmod(cents, line.quantity)
    return [Decimal(base + (1 if unit < extra else 0)) / 100 for unit in range(line.quantity)]


def _units(order: Order) -> Iterator[tuple[OrderLine, int, Decimal]]:
    for line in gift_card_lines(order):
        for unit, amount in enumerate(gift_card_unit_amounts(line), start=1):
            if amount > 0:
                yield line, unit, amount


def gift_card_unit_key(line: OrderLine, unit: int) -> str:
    """The idempotency key of the card sold as unit ``unit`` of ``line``."""
    return f"order-line:{line.pk}:{unit}"


def order_gift_cards_issued_by_till(order: Order) -> bool:
    """Is the order a store's sale, whose cards the till issues (not the event)?"""
    return order.channel.kind == SalesChannel.Kind.STORE


def order_gift_cards_issue(
    order: Order, *, codes: Mapping[int, Sequence[str]] | None = None
) -> list[IssuedCard]:
    """Issue the cards ``order`` sold (see the module's docstring). ``codes``: the
    physical cards' own codes by order line id, one per unit in order (the till).
    Idempotent: a unit issued before is answered without its code. Returns the cards
    of this call (the clear code only for those issued now)."""
    codes = codes or {}
    issued: list[IssuedCard] = []
    with transaction.atomic():
        for line, unit, amount in _units(order):
            line_codes = codes.get(line.pk) or ()
            code = line_codes[unit - 1] if unit <= len(line_codes) else None
            card = _unit_issue(order, line, unit, amount, code)
            if card is not None:
                issued.append(card)
    return issued


def _delivery(order: Order, code: str | None) -> tuple[str, str]:
    if code is not None:
        return Delivery.PHYSICAL, ""
    if order.email:
        return Delivery.EMAIL, order.email
    if order.phone:
        return Delivery.SMS, order.phone
    return "", ""


def _unit_issue(
    order: Order, line: OrderLine, unit: int, amount: Decimal, code: str | None
) -> IssuedCard | None:
    key = gift_card_unit_key(line, unit)
    delivery, recipient = _delivery(order, code)
    if not delivery:
        if not GiftCard.objects.filter(entries__idempotency_key=key).exists():
            _not_issued(order, line, unit, _("no card code and no e-mail or phone to send it"))
        return None
    try:
        with transaction.atomic():  # the card and its message, or neither
            issued = gift_card_issue(
                amount=amount,
                currency=order.currency,
                purpose=line.variant.product.gift_card,
                delivery=delivery,
                recipient=recipient,
                customer=order.customer,
                source=order.reference,
                code=code,
                idempotency_key=key,
            )
            if issued.code and delivery != Delivery.PHYSICAL:
                _ecard_send(order, issued, delivery, recipient)
    except DomainError as error:
        if code is not None:
            raise  # the till hears why its card was refused
        _not_issued(order, line, unit, error.message)
        return None
    if issued.code:
        order_event_record(
            order=order,
            kind="gift_card_issued",
            message=f"{line.sku} #{unit}: …{issued.card.last4} ({delivery})",
            data={"card_id": issued.card.pk, "line_id": line.pk, "unit": unit},
        )
    return issued


def _not_issued(order: Order, line: OrderLine, unit: int, reason: str) -> None:
    order_event_record(
        order=order,
        kind="gift_card_not_issued",
        message=f"{line.sku} #{unit}: {reason}",
        data={"line_id": line.pk, "unit": unit},
    )


def _ecard_send(order: Order, issued: IssuedCard, delivery: str, recipient: str) -> None:
    card = issued.card
    values = {
        "amount": money_format(card.initial_amount, card.currency, get_language() or "en"),
        "code": issued.display,
        "expiry": date_format(card.expires_at, "DATE_FORMAT") if card.expires_at else "—",
        "order": order.reference,
    }
    body = (
        _(
            "Your gift card of %(amount)s: code %(code)s, valid until %(expiry)s "
            "(order %(order)s). Keep this code secret: it is the card."
        )
        % values
    )
    message_send(
        channel=delivery,
        to=recipient,
        body=body,
        subject=_("Your gift card of %(amount)s") % values,
        kind="gift_card",
        customer_id=order.customer_id,
        reference=order.reference,
        dedup_key=f"gift-card:{card.pk}",
        redact_after_send=True,
        sender=order.channel.code if delivery == Delivery.SMS else "",
    )


def order_line_gift_cards_void(*, line: OrderLine, units: int, user=None) -> list[GiftCard]:
    """Take back ``units`` gift cards sold on ``line`` (a return or a cancellation of
    them, before the money is given back): the cards of the last units still active are
    emptied (an ``adjust`` of their whole balance naming the order) and blocked, all or
    none. Refused, writing nothing, when one of them has been spent
    (``gift_card_already_spent``): its value has left the shop already. Units that
    never got a card are not counted. Returns the cards taken back."""
    keys = [gift_card_unit_key(line, unit) for unit in range(line.quantity, 0, -1)]
    issues = GiftCardEntry.objects.filter(
        idempotency_key__in=keys, kind=GiftCardEntry.Kind.ISSUE, card__is_active=True
    ).select_related("card")
    cards = {entry.idempotency_key: entry.card for entry in issues}
    chosen = [cards[key] for key in keys if key in cards][:units]
    reference = line.order.reference
    with transaction.atomic():
        for card in chosen:
            balance = gift_card_balance(card)
            if balance != card.initial_amount:
                raise GiftCardAlreadySpent(
                    last4=card.last4,
                    balance=balance,
                    initial=card.initial_amount,
                    currency=card.currency,
                )
            gift_card_adjust(
                card=card,
                amount=-balance,
                reason=f"sale taken back ({reference})",
                user=user,
                idempotency_key=f"void:{card.pk}",
            )
            gift_card_active_set(card=card, active=False)
    return chosen


__all__ = [
    "gift_card_lines",
    "gift_card_unit_amounts",
    "gift_card_unit_key",
    "order_gift_cards_issue",
    "order_gift_cards_issued_by_till",
    "order_line_gift_cards_void",
]
