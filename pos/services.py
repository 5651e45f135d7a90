"""The till's operations, through the same services the API uses (one checkout for every
channel). Those that only write our own rows are one transaction; those that call a
payment gateway (card, partial cash, settling a return) run outside any transaction, as
payments.services.operations requires: its claim is committed before the provider is called."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _

from customers.phones import phone_e164
from orders.locks import order_lock
from orders.models import Cart, Order, Return
from orders.pricing.carts import cart_price
from orders.selectors import cart_get
from orders.services.carts import cart_open
from orders.services.checkout import order_checkout
from payments.exceptions import NothingDue
from payments.models import Payment, PaymentLink
from payments.selectors import order_outstanding_amount
from payments.services.cash import payment_take_cash
from payments.services.links import payment_link_create
from payments.services.returns import return_settle
from payments.services.start import payment_start
from pos.fiscal.tickets import sale_ticket_record
from pos.models import Register, SessionTender
from pos.session_tenders import (
    refunds_resolve,
    session_open_locked,
    tender_claim,
    tender_link,
    tender_resolve,
)
from pos.sessions import session_selling_check
from unicommerce.exceptions import DomainError, InvalidInput

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

CASH = "cash"
CARD_TERMINAL = "card_terminal"  # approved on the terminal before checkout (payments.apps)
SPLIT = "split"  # gift card, points, store credit, then cash or the terminal (payments.apps)
LINK = "payment_link"


@dataclass(frozen=True)
class SaleResult:
    order: Order
    payment: Payment | None  # None: the order waits for its payment (pay in store)
    change_amount: Decimal | None
    card: Payment | None = None  # the part on the card terminal (card, cash + card)
    link: PaymentLink | None = None  # the payment link sent by SMS
    ledger: tuple[Payment, ...] = ()  # gift card, points, store credit (issue 14)


def cart_open_at_register(*, register: Register, token: str) -> Cart:
    """The cart with this token (typed, or read from the QR code the customer's phone
    shows), opened at this register: the very same cart, filled on any channel, with an
    "opened" event when it comes from another channel. A store's register may open its
    channel's carts and any customer's cart; an anonymous cart of another channel, an
    expired or unknown one is refused (``cart_foreign`` / ``cart_expired`` /
    ``cart_not_found``)."""
    cart = cart_get(token=token.strip(), channel=register.channel)
    return cart_open(cart=cart, channel=register.channel)


# What a checkout's method means for its ticket's tenders when the caller says nothing:
# the whole total by that tender (cash: what the drawer keeps). Paid later: none yet.
WHOLE_TENDER = {CASH: CASH, CARD_TERMINAL: CARD_TERMINAL, LINK: LINK}


def _ticket_tenders(
    order: Order, *, payment_method: str, tenders: dict[str, Decimal | None] | None
) -> dict[str, Decimal]:
    """The tenders a ticket records: ``tenders`` (code → amount; one None: the rest of
    the total), by default the whole total by the checkout's method."""
    if tenders is None:
        whole = WHOLE_TENDER.get(payment_method)
        tenders = {whole: None} if whole else {}
    fixed = sum((amount for amount in tenders.values() if amount is not None), Decimal(0))
    rest = order.total_amount - fixed
    return {
        code: rest if amount is None else amount
        for code, amount in tenders.items()
        if (rest if amount is None else amount) > 0
    }


@transaction.atomic
def sale_complete(
    *,
    register: Register,
    cart: Cart,
    payment_method: str,
    seller: AbstractBaseUser,
    tendered: Decimal | None = None,
    shipping_address: dict[str, Any] | None = None,
    tenders: dict[str, Decimal | None] | None = None,
    change: Decimal | None = None,
) -> SaleResult:
    """Check the cart out at this register through the one checkout (orders'
    ``order_checkout``): lines taken now leave the store's stock, lines collected
    elsewhere or shipped home are reserved where they will come from, and the order goes
    to the payment method: cash (``tendered``: the "cash" method's hand-over,
    ``payments.services.payment_cash_handoff``, checks it covers the total and records
    the payment with the change) or pay in store later. All of it or nothing, the sale's
    ticket in the register's fiscal chain included (``pos.fiscal.tickets``), with its
    ``tenders`` (see ``_ticket_tenders``) and the ``change`` given, and the cash payment's
    link to the register's session. The session stays locked until the sale commits: its
    closing waits and counts it."""
    session_open_locked(register)
    with transaction.atomic():
        order = order_checkout(
            cart=cart,
            channel=register.channel,
            payment_method=payment_method,
            payment_params={"tendered": tendered} if payment_method == CASH else None,
            till_location=register.location,
            shipping_address=shipping_address,
            user=seller,
        )
        payment = order.payment_handoff if payment_method == CASH else None
        if payment is not None:
            tender_link(register=register, payment=payment)
            change = payment.change_amount
        sale_ticket_record(
            order=order,
            register=register,
            seller_id=seller.pk,
            tenders=_ticket_tenders(order, payment_method=payment_method, tenders=tenders),
            change=change,
        )
    return SaleResult(
        order=order, payment=payment, change_amount=payment.change_amount if payment else None
    )


# --- Taking the payments of an order at the till (split tender) --------------------------

KEY_SHAPE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class FormKeyMissing(InvalidInput):
    code = "idempotency_key_missing"

    def __init__(self) -> None:
        super().__init__(_("This form has expired: reload the page and try again."))


def _form_key(key: str) -> str:
    """The idempotency key a payment form carries (one per form shown): a double click
    sends the same key twice, and the payment is recorded once."""
    if not KEY_SHAPE.match(key or ""):
        raise FormKeyMissing()
    return key


@dataclass(frozen=True)
class CashTaken:
    payment: Payment
    change_amount: Decimal


def till_cash_take(
    *,
    order: Order,
    tendered: Decimal,
    register: Register,
    seller: AbstractBaseUser,
    idempotency_key: str,
) -> CashTaken:
    """Cash towards what the order still owes, at most what is due: cash covering it
    is recorded with the change to give back (``payment_take_cash``); less is a partial
    cash payment (the rest by card, link...). Nothing due: ``nothing_due``."""
    session_selling_check(register)
    key = f"pos-cash-{_form_key(idempotency_key)}"
    if tendered <= 0:
        raise InvalidInput(_("Type the cash received, e.g. 50 or 20.50."), field="tendered")
    with transaction.atomic():
        session_open_locked(register)  # the session first, then the order (as a sale)
        locked = order_lock(order.pk)  # two clicks: the second finds nothing due
        outstanding = order_outstanding_amount(locked)
        if outstanding <= 0:
            raise NothingDue(order=locked.reference)
        if tendered >= outstanding:
            payment = payment_take_cash(
                order=locked, tendered=tendered, user=seller, channel=register.channel
            )
            tender_link(register=register, payment=payment)
            return CashTaken(payment, payment.change_amount or Decimal(0))
    # Less than is due: a cash payment of what was handed over, no change (payment_start
    # is called outside any transaction; the key makes a second click the same payment).
    payment = _payment_at_till(
        register=register,
        key=key,
        start=lambda: payment_start(
            order=order,
            method=Payment.Method.CASH,
            amount=tendered,
            idempotency_key=key,
            user=seller,
            channel=register.channel,
        ),
    )
    return CashTaken(payment, Decimal(0))


def _payment_at_till(*, register: Register, key: str, start) -> Payment:
    """Take a payment through ``start`` (``payment_start`` under ``key``, outside any
    transaction) in the register's open session: the key is linked to the session
    first (``tender_claim``), the payment named once it is recorded."""
    tender_claim(register=register, key=key, kind=SessionTender.Kind.SALE)
    payment = start()
    tender_resolve(key=key, payment=payment)
    return payment


def till_card_record(
    *,
    order: Order,
    amount: Decimal | None,
    register: Register,
    seller: AbstractBaseUser,
    idempotency_key: str,
    terminal_reference: str = "",
) -> Payment:
    """The external card terminal approved ``amount`` (default: what is due): record it
    as a captured card payment (the "manual" gateway), once per form key. More than is
    due: ``payment_exceeds_due``; a card number typed as the reference is refused."""
    return _till_take(
        order=order,
        method=Payment.Method.CARD_TERMINAL,
        amount=amount,
        register=register,
        seller=seller,
        key=f"pos-card-{_form_key(idempotency_key)}",
        token=terminal_reference,
    )


def _till_take(
    *,
    order: Order,
    method: str,
    amount: Decimal | None,
    register: Register,
    seller: AbstractBaseUser,
    key: str,
    token: str = "",
) -> Payment:
    """Take ``amount`` (default: what is due) by ``method`` at this till, once per form
    ``key``: the same click again gives the same answer. The register must be open."""
    session_selling_check(register)
    done = Payment.objects.filter(idempotency_key=key).first()
    if done is not None and amount is None:
        amount = done.amount
    if amount is None:
        amount = order_outstanding_amount(order)
        if amount <= 0:
            raise NothingDue(order=order.reference)
    return _payment_at_till(
        register=register,
        key=key,
        start=lambda: payment_start(
            order=order,
            method=method,
            amount=amount,
            token=token.strip(),
            idempotency_key=key,
            user=seller,
            channel=register.channel,
        ),
    )


def till_points_take(
    *,
    order: Order,
    amount: Decimal | None,
    register: Register,
    seller: AbstractBaseUser,
    idempotency_key: str,
) -> Payment:
    """Pay ``amount`` (default: what is due) with the order customer's loyalty points
    (``payments.gateways.points``: the points it needs, rounded up), once per form key.
    Declined with the reason (``points_insufficient``, ``points_needs_customer``…) and
    nothing redeemed when the points do not cover it."""
    return _till_take(
        order=order,
        method=Payment.Method.POINTS,
        amount=amount,
        register=register,
        seller=seller,
        key=f"pos-points-{_form_key(idempotency_key)}",
    )


def till_ledger_take(
    *,
    order: Order,
    method: str,
    amount: Decimal | None,
    register: Register,
    seller: AbstractBaseUser,
    idempotency_key: str,
    token: str = "",
) -> Payment:
    """Pay ``amount`` (default: what is due) from a gift card (``token``: its code) or
    the order customer's store credit, once per form key: as ``till_points_take``.
    Declined with the reason (``gift_card_invalid``, ``gift_card_insufficient``,
    ``store_credit_insufficient``…) and nothing taken when it does not cover it."""
    if method not in (Payment.Method.GIFT_CARD, Payment.Method.STORE_CREDIT):
        raise InvalidInput(_("Choose how the customer pays."))
    return _till_take(
        order=order,
        method=method,
        amount=amount,
        register=register,
        seller=seller,
        key=f"pos-{method}-{_form_key(idempotency_key)}",
        token=token,
    )


def till_link_send(
    *,
    order: Order,
    amount: Decimal | None,
    phone: str,
    language: str,
    register: Register,
    seller: AbstractBaseUser,
    idempotency_key: str,
) -> PaymentLink:
    """Send the customer a payment link for ``amount`` (default: what is due) by SMS
    (``payments.services.links.payment_link_create``: the worker sends it). One link per form
    key: a double click sends one SMS. The link's key is linked to the register's open
    session first: what the customer pays through it counts there."""
    key = f"pos-link-{_form_key(idempotency_key)}"
    tender_claim(register=register, key=key, kind=SessionTender.Kind.SALE)
    link, _token = payment_link_create(
        order=order,
        amount=amount,
        phone=phone,
        language=language,
        channel=register.channel,
        user=seller,
        idempotency_key=key,
    )
    return link


# --- The sale screen's tenders: the sale and its payment in one action ----------------


class SalePaymentNotRecorded(DomainError):
    """The order was placed but its payment could not be recorded after it (the payment
    services run after the checkout's transaction, as they must): the order waits for
    its payment in the payment panel, where the seller finishes it."""

    code = "sale_payment_not_recorded"

    def __init__(self, *, order: Order, error: DomainError) -> None:
        super().__init__(
            _(
                "Order %(reference)s is placed, but its payment could not be recorded: "
                "%(reason)s Finish it in the payment panel below."
            )
            % {"reference": order.reference, "reason": error.message},
            order=order.reference,
            reason=error.code,
        )
        self.order = order
        self.error = error


def _after_checkout(order: Order, record):
    """Run a payment step on an order just placed; a refusal keeps the order (its
    payment panel takes over) and says so."""
    try:
        return record()
    except DomainError as error:
        raise SalePaymentNotRecorded(order=order, error=error) from error


def sale_pay_card(
    *,
    register: Register,
    cart: Cart,
    seller: AbstractBaseUser,
    idempotency_key: str,
    shipping_address: dict[str, Any] | None = None,
) -> SaleResult:
    """The card terminal approved the cart's total: check the cart out at this register
    with the "card_terminal" method (the goods leave as in a cash sale, an approved sale
    not in the books included) and record the terminal's approval
    (``till_card_record``), in one action. The checkout commits first (a payment is never
    recorded inside a transaction); the card is then recorded once per form key."""
    key = _form_key(idempotency_key)
    order = _card_checkout(
        register=register, cart=cart, seller=seller, shipping_address=shipping_address
    )
    card = _card_recorded(order, register=register, seller=seller, key=key)
    order.refresh_from_db()
    return SaleResult(order=order, payment=None, change_amount=None, card=card)


def _card_checkout(
    *,
    register: Register,
    cart: Cart,
    seller,
    shipping_address,
    method: str = "",
    tenders: dict[str, Decimal | None] | None = None,
    change: Decimal | None = None,
) -> Order:
    """Check the cart out at this register with the card terminal (or ``method``) as its
    method; its ticket records ``tenders`` (default: all on the card)."""
    return sale_complete(
        register=register,
        cart=cart,
        payment_method=method or CARD_TERMINAL,
        seller=seller,
        shipping_address=shipping_address,
        tenders=tenders,
        change=change,
    ).order


def _card_recorded(order: Order, *, register: Register, seller, key: str):
    """Record the terminal's approval of what the order still owes."""
    return _after_checkout(
        order,
        lambda: till_card_record(
            order=order, amount=None, register=register, seller=seller, idempotency_key=key
        ),
    )


def sale_pay_split(
    *,
    register: Register,
    cart: Cart,
    seller: AbstractBaseUser,
    cash: Decimal,
    idempotency_key: str,
    shipping_address: dict[str, Any] | None = None,
) -> SaleResult:
    """Part in cash, the rest on the card terminal: the cash part first, any remainder
    on the card. Cash covering the whole total is a cash sale (the change comes only
    ever from cash); no cash at all is refused before anything is checked out."""
    key = _form_key(idempotency_key)
    if cash <= 0:
        raise InvalidInput(_("Type the cash part, e.g. 20 or 20.50."), field="tendered")
    pricing = cart_price(cart=cart, channel=register.channel, location=register.location)
    if cash >= pricing.total_amount:
        return sale_complete(
            register=register,
            cart=cart,
            payment_method=CASH,
            tendered=cash,
            seller=seller,
            shipping_address=shipping_address,
        )
    order = _card_checkout(
        register=register,
        cart=cart,
        seller=seller,
        shipping_address=shipping_address,
        tenders={CASH: cash, CARD_TERMINAL: None},
    )
    taken = _after_checkout(
        order,
        lambda: till_cash_take(
            order=order, tendered=cash, register=register, seller=seller, idempotency_key=key
        ),
    )
    card = _card_recorded(order, register=register, seller=seller, key=key)
    order.refresh_from_db()
    return SaleResult(
        order=order, payment=taken.payment, change_amount=taken.change_amount, card=card
    )


@transaction.atomic
def sale_pay_link(
    *,
    register: Register,
    cart: Cart,
    seller: AbstractBaseUser,
    phone: str,
    language: str,
    idempotency_key: str,
    shipping_address: dict[str, Any] | None = None,
) -> SaleResult:
    """Place the order and send the customer a payment link for its total by SMS
    (the worker sends it after commit). All or nothing: a bad phone checks nothing out
    and sends nothing."""
    key = _form_key(idempotency_key)
    phone_e164(phone)  # refused before the checkout
    placed = sale_complete(
        register=register,
        cart=cart,
        payment_method=LINK,
        seller=seller,
        shipping_address=shipping_address,
    )
    link = till_link_send(
        order=placed.order,
        amount=None,
        phone=phone,
        language=language,
        register=register,
        seller=seller,
        idempotency_key=key,
    )
    return SaleResult(order=placed.order, payment=None, change_amount=None, link=link)


# --- Settling a return at the till ------------------------------------------------------


def till_return_settle(
    *,
    ret: Return,
    register: Register,
    seller: AbstractBaseUser,
    method: str | None,
    idempotency_key: str,
) -> Return:
    """Settle a return recorded at this register's store as its outcome says
    (``payments.services.returns.return_settle``): a refund in cash at the till (``method="cash"``)
    or to the order's original payments (``None``), store credit to the order's customer,
    or an exchange (nothing moves). A return recorded at another store is refused.
    Once per form key: a double click settles once;
    another form on a settled return is refused (``return_already_settled``). Not in a
    transaction: refunds may call a payment provider. The refunds count in this
    register's open session (refused without one), whichever register sold the order:
    the settle key is linked to the session first, the refunds made under it after."""
    key = f"pos-return-{_form_key(idempotency_key)}"
    if method not in (None, CASH):
        raise InvalidInput(_("Choose how to settle the return."), field="method")
    if ret.channel_id != register.channel_id:
        raise InvalidInput(_("This return was not recorded at this store."))
    tender_claim(register=register, key=key, kind=SessionTender.Kind.REFUND)
    settled = return_settle(ret=ret, user=seller, method=method, idempotency_key=key)
    refunds_resolve(key=key)
    return settled


# --- Gift card, points and store credit at the sale screen (issue 14) -----------------


@dataclass(frozen=True)
class LedgerTenders:
    """What the customer pays from a ledger before the rest in cash or on the card: a
    gift card (its code and the amount taken from it), their points and their store
    credit (as amounts of money). Zero: not used."""

    gift_card_code: str = ""
    gift_card_amount: Decimal = Decimal(0)
    points_amount: Decimal = Decimal(0)
    store_credit_amount: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        return self.gift_card_amount + self.points_amount + self.store_credit_amount

    def on_ticket(self, *, rest_by: str) -> dict[str, Decimal | None]:
        """The sale ticket's tenders: these, and the rest of the total by ``rest_by``."""
        return {
            Payment.Method.GIFT_CARD: self.gift_card_amount,
            Payment.Method.POINTS: self.points_amount,
            Payment.Method.STORE_CREDIT: self.store_credit_amount,
            rest_by: None,
        }


class TendersAboveTotal(InvalidInput):
    code = "tenders_above_total"

    def __init__(self, *, total: Decimal, tenders: Decimal, currency: str) -> None:
        from django.utils.translation import get_language

        from unicommerce.money import money_format

        language = get_language() or "en"
        super().__init__(
            _(
                "The gift card, points and store credit (%(tenders)s) are more than the "
                "total (%(total)s)."
            )
            % {
                "tenders": money_format(tenders, currency, language),
                "total": money_format(total, currency, language),
            },
            field="gift_card_amount",
        )


class TenderNeedsCustomer(InvalidInput):
    code = "tender_needs_customer"

    def __init__(self, *, field: str) -> None:
        super().__init__(
            _("Identify the customer first: loyalty points and store credit are theirs."),
            field=field,
        )


class TenderMissing(InvalidInput):
    code = "tender_missing"

    def __init__(self) -> None:
        super().__init__(
            _("Type the gift card, points or store credit amount, or pay with another tender."),
            field="gift_card_amount",
        )


class SaleSellsGiftCard(DomainError):
    code = "gift_card_for_gift_card"
    http_status = 409

    def __init__(self) -> None:
        super().__init__(
            _("This sale contains a gift card: a gift card cannot pay for a gift card."),
            field="gift_card_amount",
        )


def till_caller(seller: AbstractBaseUser) -> str:
    """The rate-limit caller of a code typed or scanned at the till: the seller."""
    return f"till-user:{seller.pk}"


def _ledger_tenders_check(*, cart: Cart, seller, tenders: LedgerTenders, currency: str):
    """Each ledger tender checked before the order is placed, so that a refusal places
    nothing and takes nothing: the card's code and balance (looked up under the seller's
    rate limit), no gift card paying for a gift card, the customer's points and store
    credit. The gateways check it all again when they take it."""
    from loyalty.exceptions import (
        GiftCardInsufficient,
        PointsBelowMinimum,
        PointsInsufficient,
        PointsProgrammeInactive,
        StoreCreditInsufficient,
    )
    from loyalty.services.gift_cards import gift_card_balance, gift_card_find
    from loyalty.services.points import points_balance, points_needed, points_programme_active
    from loyalty.services.store_credit import store_credit_balance

    if tenders.gift_card_amount > 0:
        card = gift_card_find(code=tenders.gift_card_code, caller=till_caller(seller))
        if cart.lines.exclude(variant__product__gift_card="").exists():
            raise SaleSellsGiftCard()
        balance = gift_card_balance(card)
        if tenders.gift_card_amount > balance:
            raise GiftCardInsufficient(
                amount=tenders.gift_card_amount, balance=balance, currency=card.currency
            )
    customer = cart.customer if cart.customer_id else None
    if tenders.points_amount > 0:
        if customer is None:
            raise TenderNeedsCustomer(field="points_amount")
        programme = points_programme_active(currency)
        if programme is None:
            raise PointsProgrammeInactive(currency=currency)
        needed = points_needed(tenders.points_amount, programme)
        held = points_balance(customer=customer, programme=programme)
        if needed > held:
            raise PointsInsufficient(points=needed, balance=held)
        if needed < (programme.min_redeem_points or 0):
            raise PointsBelowMinimum(points=needed, minimum=programme.min_redeem_points)
    if tenders.store_credit_amount > 0:
        if customer is None:
            raise TenderNeedsCustomer(field="store_credit_amount")
        balance = store_credit_balance(customer=customer, currency=currency)
        if tenders.store_credit_amount > balance:
            raise StoreCreditInsufficient(
                amount=tenders.store_credit_amount, balance=balance, currency=currency
            )


def _ledger_payments(order: Order, tenders: LedgerTenders, *, register, seller, key: str):
    """Take each ledger tender from the placed order (outside any transaction, once per
    form key); the payments taken, in order."""
    taken = []
    for method, amount, token in (
        (Payment.Method.GIFT_CARD, tenders.gift_card_amount, tenders.gift_card_code),
        (Payment.Method.POINTS, tenders.points_amount, ""),
        (Payment.Method.STORE_CREDIT, tenders.store_credit_amount, ""),
    ):
        if amount <= 0:
            continue
        taken.append(
            _after_checkout(
                order,
                lambda method=method, amount=amount, token=token: _payment_at_till(
                    register=register,
                    key=f"pos-{method}-{key}",
                    start=lambda: payment_start(
                        order=order,
                        method=method,
                        amount=amount,
                        token=token,
                        idempotency_key=f"pos-{method}-{key}",
                        user=seller,
                        channel=register.channel,
                    ),
                ),
            )
        )
    return taken


def sale_pay_tenders(
    *,
    register: Register,
    cart: Cart,
    seller: AbstractBaseUser,
    tenders: LedgerTenders,
    cash: Decimal | None,
    idempotency_key: str,
    shipping_address: dict[str, Any] | None = None,
) -> SaleResult:
    """A split tender at the sale screen: a gift card, points and store credit first,
    then the rest in cash (``cash``: what was handed over, the change given from it) or,
    ``cash`` None, on the card terminal. Everything that can be checked is checked
    before the order is placed (nothing is taken when it is refused); the order is then
    placed and each tender taken in turn, after the checkout committed. One refused
    then (another till drained the card in between) never leaves the order half paid
    silently: ``SalePaymentNotRecorded`` names it, and the payment panel, which shows
    what was taken, finishes it."""
    key = _form_key(idempotency_key)
    pricing = cart_price(cart=cart, channel=register.channel, location=register.location)
    if tenders.total <= 0:
        raise TenderMissing()
    if tenders.total > pricing.total_amount:
        raise TendersAboveTotal(
            total=pricing.total_amount, tenders=tenders.total, currency=pricing.currency
        )
    rest = pricing.total_amount - tenders.total
    if cash is not None and rest > 0 and cash < rest:
        from payments.exceptions import InsufficientTender

        raise InsufficientTender(due=rest, tendered=cash, currency=pricing.currency)
    _ledger_tenders_check(cart=cart, seller=seller, tenders=tenders, currency=pricing.currency)
    order = _card_checkout(
        register=register,
        cart=cart,
        seller=seller,
        shipping_address=shipping_address,
        method=SPLIT,
        tenders=tenders.on_ticket(rest_by=CASH if cash is not None else CARD_TERMINAL),
        change=cash - rest if cash is not None and rest > 0 else None,
    )
    ledger = _ledger_payments(order, tenders, register=register, seller=seller, key=key)
    cash_taken, card = None, None
    if rest > 0 and cash is not None:
        cash_taken = _after_checkout(
            order,
            lambda: till_cash_take(
                order=order, tendered=cash, register=register, seller=seller, idempotency_key=key
            ),
        )
    elif rest > 0:
        card = _card_recorded(order, register=register, seller=seller, key=key)
    order.refresh_from_db()
    return SaleResult(
        order=order,
        payment=cash_taken.payment if cash_taken else None,
        change_amount=cash_taken.change_amount if cash_taken else None,
        card=card,
        ledger=tuple(ledger),
    )
