"""The customer's mobile pay page: /pay/<token>/ (mounted by unicommerce/urls.py).

A plain Django face over ``payments.services.links``: GET shows the order, the amount and the
ways to pay (in full, or each eligible instalment plan with its dated parts); POST pays
with the choice and the card step's outcome, and shows the result (paid, declined: try
again, or pending: the page asks ``status/`` every second until the provider confirms).

Fast on a phone: one small HTML document, inline CSS, no framework. The token is in the
path, so: nothing about it is logged here (Django's "Not Found: /pay/…" warnings are
suppressed for these answers), the page sends no Referer, and no answer is cached.
There is no card number field at all: a real provider tokenises the card in the
browser; with the simulated gateway the card step offers its test outcomes as buttons.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware, _get_failure_view
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.decorators import decorator_from_middleware
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from payments.conf import setting
from payments.exceptions import PaymentError, PaymentLinkUsed
from payments.gateways import simulated
from payments.models import InstalmentPlan, Payment, PaymentLink
from payments.selectors import payment_link_get
from payments.services.links import FULL, payment_link_choices, payment_link_open, payment_link_pay
from unicommerce.exceptions import DomainError
from unicommerce.money import money_format

LANGUAGES = ("fr", "en")
# The simulated gateway's test outcomes, offered as buttons on the card step.
SIMULATED_OUTCOMES = (
    (simulated.TOKEN_OK, "ok"),
    (simulated.TOKEN_DECLINE, "decline"),
    ("sim_delayed", "delayed"),
)


def _language(request: HttpRequest, link: PaymentLink | None) -> str:
    asked = request.POST.get("lang") or request.GET.get("lang") or ""
    if asked in LANGUAGES:
        return asked
    if link is not None and link.language in LANGUAGES:
        return link.language
    return translation.get_language_from_request(request) or "fr"


def _quiet(response: HttpResponse) -> HttpResponse:
    """Keep Django from logging the path (which carries the token) of a 4xx answer."""
    response._has_been_logged = True
    # The token is in the path: it must never reach another site as a Referer. Not
    # "no-referrer": with it Chromium sends `Origin: null` with the page's own POST, which
    # Django's CSRF check refuses (the browser test caught it; the test client sends none).
    response["Referrer-Policy"] = "same-origin"
    return response


class _QuietCsrfMiddleware(CsrfViewMiddleware):
    """Django's CSRF check, without its "Forbidden (…): /pay/<token>/" log line."""

    def _reject(self, request, reason):
        return _quiet(_get_failure_view()(request, reason=reason))


# The project's CsrfViewMiddleware is told to skip the page (csrf_exempt) because this
# one checks it the same way, quietly: CSRF stays on, the token stays out of the logs.
csrf_protect_quietly = decorator_from_middleware(_QuietCsrfMiddleware)


def _money(amount: Decimal, currency: str, lang: str) -> str:
    return money_format(amount, currency, lang)


def _parts(parts, currency: str, lang: str) -> list[tuple[str, str]]:
    return [(date_format(due, "j F Y"), _money(amount, currency, lang)) for due, amount in parts]


def _switch(request: HttpRequest, lang: str) -> list[tuple[str, str, bool]]:
    return [(code, name, code == lang) for code, name in (("fr", "Français"), ("en", "English"))]


def _base_context(request: HttpRequest, link: PaymentLink, lang: str) -> dict:
    return {
        "lang": lang,
        "languages": _switch(request, lang),
        "shop": setting("PAYMENT_LINK_SHOP_NAME"),
        "reference": link.order.reference,
        "amount": _money(link.amount, link.currency, lang),
        "path": request.path,
    }


def _error_page(request: HttpRequest, error: DomainError, lang: str) -> HttpResponse:
    with translation.override(lang):
        titles = {
            404: _("Link not found"),
            409: _("Already paid"),
            410: _("Link no longer valid"),
        }
        title = titles.get(error.http_status, _("Payment not possible"))
        # The domain's message was made in the request's language: make it again in the
        # page's (the errors are built from gettext at raise time).
        message = _error_message(error)
        response = render(
            request,
            "payments/pay/error.html",
            {"lang": lang, "title": title, "message": message, "code": error.code},
            status=error.http_status,
        )
    return _quiet(response)


def _error_message(error: DomainError) -> str:
    messages = {
        "payment_link_not_found": _(
            "This payment link does not exist. Check the link in your SMS."
        ),
        "payment_link_expired": _("This payment link has expired. Ask the shop for a new one."),
        "payment_link_used": _("This payment link has already been used."),
        "payment_link_cancelled": _("This payment link was cancelled by the shop."),
    }
    return messages.get(error.code, error.message)


def _pay_form(
    request: HttpRequest,
    link: PaymentLink,
    lang: str,
    *,
    error: str = "",
    chosen: str = FULL,
    status: int = 200,
) -> HttpResponse:
    with translation.override(lang):
        choices = [
            {
                "kind": choice.kind,
                "label": choice.label if choice.kind != FULL else _("Pay in full"),
                "now": _money(choice.due_now, link.currency, lang),
                "parts": _parts(choice.parts, link.currency, lang),
                "checked": choice.kind == chosen,
            }
            for choice in payment_link_choices(link)
        ]
        if not any(c["checked"] for c in choices):
            choices[0]["checked"] = True
        context = {
            **_base_context(request, link, lang),
            "choices": choices,
            "key": uuid.uuid4().hex,
            "error": error,
            "simulated": setting("PAYMENT_GATEWAY") == "simulated",
            "outcomes": SIMULATED_OUTCOMES,
        }
        response = render(request, "payments/pay/page.html", context, status=status)
    return _quiet(response)


def _result_page(request: HttpRequest, link: PaymentLink, lang: str) -> HttpResponse:
    payment = link.payment
    plan = InstalmentPlan.objects.filter(payment=payment).first() if payment else None
    with translation.override(lang):
        schedule = []
        if plan is not None:
            schedule = [
                (
                    date_format(part.due_date, "j F Y"),
                    _money(part.amount, plan.currency, lang),
                    part.get_status_display(),
                )
                for part in plan.parts.order_by("number")
            ]
        state = "paid" if link.status == PaymentLink.Status.PAID else "pending"
        context = {
            **_base_context(request, link, lang),
            "state": state,
            "plan": plan.get_kind_display() if plan else "",
            "schedule": schedule,
            "status_url": reverse("pay:status", args=[request.resolver_match.kwargs["token"]]),
            "page_url": f"{request.path}?lang={lang}",
        }
        response = render(request, "payments/pay/result.html", context)
    return _quiet(response)


@csrf_exempt
@never_cache
@csrf_protect_quietly
@require_http_methods(["GET", "POST"])
def pay_page(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "POST":
        return _pay(request, token)
    try:
        link = payment_link_open(token=token)
    except PaymentLinkUsed as used:
        return _used(request, token, used)
    except DomainError as error:
        return _error_page(request, error, _language(request, None))
    return _pay_form(request, link, _language(request, link))


def _used(request: HttpRequest, token: str, used: PaymentLinkUsed) -> HttpResponse:
    """A paid link (or one being paid) opened again: the customer may be coming back to
    see the result; the answer is still 409, with the result shown."""
    link = payment_link_get(token=token)
    lang = _language(request, link)
    if link.status == PaymentLink.Status.PAID or (
        link.payment and link.payment.status == Payment.Status.PENDING
    ):
        response = _result_page(request, link, lang)
        response.status_code = used.http_status
        return response
    return _error_page(request, used, lang)


def _pay(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = payment_link_get(token=token)
    except DomainError as error:
        return _error_page(request, error, _language(request, None))
    lang = _language(request, link)
    choice = request.POST.get("choice") or FULL
    card_token = request.POST.get("card_token", "")
    key = request.POST.get("key", "")
    if setting("PAYMENT_GATEWAY") == "simulated" and card_token not in dict(SIMULATED_OUTCOMES):
        with translation.override(lang):
            message = _("Choose a card outcome.")
        return _pay_form(request, link, lang, error=message, chosen=choice, status=400)
    with translation.override(lang):
        try:
            link = payment_link_pay(
                token=token, choice=choice, card_token=card_token, idempotency_key=key
            )
        except PaymentLinkUsed as used:
            return _used(request, token, used)
        except PaymentError as error:  # declined, not eligible, more than due…
            if error.code in ("payment_declined", "instalment_declined"):
                message = _("Your card was declined. Try again or use another card.")
            else:
                message = error.message
            fresh = payment_link_get(token=token)
            return _pay_form(
                request, fresh, lang, error=message, chosen=choice, status=error.http_status
            )
        except DomainError as error:
            if error.http_status in (404, 409, 410):
                return _error_page(request, error, lang)
            fresh = payment_link_get(token=token)
            return _pay_form(
                request, fresh, lang, error=error.message, chosen=choice, status=error.http_status
            )
    return _result_page(request, link, lang)


@never_cache
@require_GET
def pay_status(request: HttpRequest, token: str) -> JsonResponse:
    """What the pending page polls: the link's status and its payment's."""
    try:
        link = payment_link_get(token=token)
    except DomainError as error:
        return _quiet(JsonResponse({"error": error.as_dict()}, status=error.http_status))
    return JsonResponse(
        {
            "status": link.status,
            "payment_status": link.payment.status if link.payment_id else None,
        }
    )
