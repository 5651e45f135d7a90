"""The language of each answer: the API speaks what the client asks for in
``Accept-Language`` (French or English) and English otherwise, as its documentation
does; the pages (admin, POS, pay pages) keep Django's choice — the language cookie set by
the language switch, then ``Accept-Language``, then ``LANGUAGE_CODE``.

An API client never has the cookie in mind (a storefront's back end, an app), and a
browser session calling the API from the admin must not get its errors in the language
of the last page it switched to: only the header counts there. The error ``code`` never
changes with the language; only ``message`` (and DRF's field messages) do.
"""

from __future__ import annotations

from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header

from unicommerce.api.errors import is_api_request

API_DEFAULT_LANGUAGE = "en"


def api_language(accept_language: str) -> str:
    """The first language of the header (by preference) we speak, else English."""
    for code, _quality in parse_accept_lang_header(accept_language or ""):
        if code == "*":
            continue
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return API_DEFAULT_LANGUAGE


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Django's ``LocaleMiddleware``, with the API's own rule under ``/api/``. It comes
    before every middleware that may answer an API request (the NUL refusal, the
    permission table), so their messages are in the caller's language too."""

    def process_request(self, request) -> None:
        if not is_api_request(request):
            return super().process_request(request)
        language = api_language(request.headers.get("Accept-Language", ""))
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        return None
