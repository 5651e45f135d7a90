"""The sale's customer panel: find a customer, open one of their carts (or any cart by its
token or QR code), name the customer of the till's cart, or put an opened cart back.
Each action is a named action of ``pos.web.sale.ACTIONS``."""

from __future__ import annotations

import re

from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django_htmx.http import retarget

from customers.emails import email_normalised
from customers.phones import phone_e164
from customers.selectors import customer_find
from orders.models import Cart
from orders.services.cart_identity import cart_identify
from pos.forms import CustomerNameForm
from pos.messages import seller_message
from pos.models import Register
from pos.selectors import customer_balances, customer_panel
from pos.services import cart_open_at_register
from pos.web.common import SESSION_ADDRESS, SESSION_CART, SESSION_LAST_SALE
from pos.web.workspace import workspace_respond
from unicommerce.exceptions import DomainError, InvalidInput

CART_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
PHONE_LIKE = re.compile(r"^[+(]?[\d\s().\-/]{2,}$")


def cart_token_in(text: str) -> str:
    """The cart token in what was typed or scanned: the token itself, or the QR code's
    URL ending in it (``https://shop.example/cart/<token>``, ``...?cart=<token>``)."""
    text = text.strip()
    tail = re.split(r"[/=]", text.split("#")[0].rstrip("/"))[-1]
    return tail if CART_TOKEN.match(tail) and not tail.isdigit() else ""


def _customer_response(request, register: Register, *, status: int = 200, **context):
    """The customer panel (htmx) or the sale page with a message."""
    if not request.htmx:
        if context.get("customer_error"):
            messages.error(request, context["customer_error"])
        return redirect("pos:sell")
    context["register"] = register
    return TemplateResponse(request, "pos/sell.html#customer", context, status=status)


def find(request, register: Register, cart: Cart):
    """Find a customer by phone (any format) or email and show their open carts (every
    channel) and latest orders; a cart's token or QR code opens that cart straight away."""
    text = request.POST.get("find", "").strip()
    context = {"find": text}
    try:
        if not text:
            raise InvalidInput(_("Type a phone number or an email, or scan the cart's code."))
        if "@" in text:
            customer = customer_find(email=text)
            missing = _("No customer has the email %(email)s.") % {"email": text}
        elif PHONE_LIKE.match(text):
            customer = customer_find(phone=text)
            missing = _("No customer has the phone number %(phone)s.") % {"phone": text}
        elif token := cart_token_in(text):
            return cart_open_by_token(request, register, token)
        else:
            raise InvalidInput(
                _("“%(text)s” is neither a phone number, an email nor a cart's code.")
                % {"text": text}
            )
        if customer is None:
            raise InvalidInput(missing)
    except DomainError as error:
        return _customer_response(
            request, register, customer_error=error.message, status=422, **context
        )
    context["panel"] = customer_panel(customer=customer, user=request.user)
    context["balances"] = customer_balances(customer=customer, currency=register.channel.currency)
    context["current_token"] = cart.token
    return _customer_response(request, register, **context)


def open_cart(request, register: Register, cart: Cart):
    """The customer panel's "Open this cart" button."""
    return cart_open_by_token(request, register, request.POST.get("token", ""))


def cart_open_by_token(request, register: Register, token: str):
    """Make the cart with this token the register's current cart: the very same row the
    customer filled elsewhere, not a copy. A foreign, expired or unknown cart is refused
    with the reason; the register keeps its cart."""
    try:
        opened = cart_open_at_register(register=register, token=token)
    except DomainError as error:
        if request.POST.get("action") == "scan":
            raise
        return _customer_response(request, register, customer_error=error.message, status=422)
    request.session[SESSION_CART] = opened.token
    request.session.pop(SESSION_LAST_SALE, None)
    response = workspace_respond(request, register, opened, opened_cart=opened, clear_customer=True)
    if request.htmx and request.POST.get("action") != "scan":
        response = retarget(response, "#workspace")
    return response


def identify(request, register: Register, cart: Cart):
    """Name the customer of the till's cart: first name, last name, phone, email (one
    contact at least). The customer with this phone (else email) is found, their name
    left as it is, or created; the cart becomes theirs, and if they already have an open
    cart, the till's lines merge into it and it becomes current. Bad input is shown in
    the form, and nothing changes."""
    form = CustomerNameForm(request.POST)
    phone, email = request.POST.get("phone", "").strip(), request.POST.get("email", "").strip()
    try:
        if not form.is_valid():
            field, errors = next(iter(form.errors.items()))
            raise InvalidInput(errors[0], field=field)
        if not phone and not email:
            raise InvalidInput(_("Type the customer's phone number or email."), field="phone")
        for field, value, check in (
            ("phone", phone, phone_e164),
            ("email", email, email_normalised),
        ):
            try:
                if value:
                    check(value)
            except DomainError as error:
                raise InvalidInput(error.message, field=field) from None
        known = customer_find(phone=phone, email=email)
        names = {} if known else form.cleaned_data
        # The seller sees the customer at the till: their details are verified, and the
        # till's lines may join the customer's own open cart.
        surviving = cart_identify(
            cart=cart,
            phone=phone,
            email=email,
            channel=register.channel,
            verified=True,
            **names,
        )
    except DomainError as error:
        return workspace_respond(
            request,
            register,
            cart,
            identify_error=seller_message(error),
            identify_field=error.details.get("field") or "",
            posted=request.POST,
            status=422,
        )
    request.session[SESSION_CART] = surviving.token
    return {"identified": surviving.customer, "identified_known": known is not None}


def release(request, register: Register, cart: Cart):
    """Put the opened cart back as it is (the customer will finish it elsewhere): the
    register starts a new cart."""
    request.session.pop(SESSION_CART, None)
    request.session.pop(SESSION_ADDRESS, None)
