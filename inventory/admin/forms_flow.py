"""The form-then-service steps the stock document admins share (counts, transfers,
purchase orders): run a service on a valid posted form, a refusal becoming a form error
(the page shown again, nothing changed); log and announce what the service did, then
redirect; apply an inline formset's changed lines through a service, one line at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse

from inventory.exceptions import (
    PurchaseReceiptExceedsOutstanding,
    TransferReceiptExceedsOutstanding,
)
from unicommerce.exceptions import DomainError

ErrorField = str | None | Callable[[DomainError], str | None]


def form_service_run[T](
    request: HttpRequest,
    form: forms.Form,
    service: Callable[[dict[str, Any]], T],
    *,
    error_field: ErrorField = None,
) -> T | None:
    """``service(form.cleaned_data)`` when ``form`` was posted and is valid: its result.
    None when the page is to be shown again: nothing posted, the form invalid, or the
    service refused (its DomainError's message put on ``error_field``, a field name, None
    for the whole form, or a function of the error)."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        return service(form.cleaned_data)
    except DomainError as error:
        field = error_field(error) if callable(error_field) else error_field
        form.add_error(field, error.message)
        return None


def _receipt_error_field(form: Any) -> Callable[[DomainError], str | None]:
    """For a receipt form (``ReceiveLinesForm``): a quantity above what is still expected
    is the error of its line's field, any other refusal the whole form's."""

    def field(error: DomainError) -> str | None:
        exceeds = (TransferReceiptExceedsOutstanding, PurchaseReceiptExceedsOutstanding)
        return form.field_of(error.details["sku"]) if isinstance(error, exceeds) else None

    return field


def document_add_run[T](
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    form: forms.Form,
    create: Callable[[dict[str, Any]], T],
    *,
    message: Callable[[T], str],
    url: Callable[[T], str],
) -> HttpResponse | None:
    """An "add" page's step: ``create`` run on the valid posted form (a refusal is the
    whole form's error); the new document logged as an addition, ``message(document)``
    announced, then a redirect to ``url(document)``. None: show the page (again)."""
    document = form_service_run(request, form, create)
    if document is None:
        return None
    model_admin.log_addition(request, document, [{"added": {}}])
    messages.success(request, message(document))
    return HttpResponseRedirect(url(document))


def receipt_refused(
    model_admin: Any, request: HttpRequest, document: Any, *, message: str
) -> HttpResponseRedirect:
    """Nothing can be received on ``document`` now: say why, back to its page."""
    messages.error(request, message)
    return HttpResponseRedirect(model_admin.document_url("change", document))


def receipt_page[T](
    model_admin: Any,
    request: HttpRequest,
    document: T,
    *,
    form: Any,
    receive: Callable[[dict[str, Any]], T],
    message: Callable[[T], str],
    title: Callable[[], str],
    template: str,
) -> HttpResponse:
    """A receipt page of a ``DocumentAdmin`` (its form a ``ReceiveLinesForm``): the posted
    quantities go to ``receive``; done, the receipt is logged as a status change,
    ``message(done)`` announced and the document's page shown; refused or not posted,
    the receipt page (again) with the refusal on its line or on the form."""
    done = form_service_run(request, form, receive, error_field=_receipt_error_field(form))
    if done is not None:
        model_admin.log_change(request, done, [{"changed": {"fields": ["status"]}}])
        messages.success(request, message(done))
        return HttpResponseRedirect(model_admin.document_url("change", done))
    context = model_admin.page_context(request, document, title(), form=form)
    return TemplateResponse(request, template, context)


def formset_lines_save(
    formset: forms.BaseInlineFormSet, *, line_set: Callable[[int, dict | None], Any]
) -> None:
    """Apply the changed forms of a document's inline lines through its service:
    ``line_set(variant_id, None)`` removes a line, ``line_set(variant_id, data)`` sets
    one (and returns it). Fills the formset's new/changed/deleted objects for the
    admin's change message."""
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    for line_form in formset.forms:
        data = line_form.cleaned_data
        if not data or not (line_form.has_changed() or data.get("DELETE")):
            continue
        existing = line_form.instance if line_form.instance.pk else None
        variant, deleting = data.get("variant"), data.get("DELETE")
        if existing and (deleting or variant is None or variant.pk != existing.variant_id):
            line_set(existing.variant_id, None)
            formset.deleted_objects.append(existing)
        if not deleting and variant is not None:
            line = line_set(variant.pk, data)
            if existing and variant.pk == existing.variant_id:
                formset.changed_objects.append((line, line_form.changed_data))
            else:
                formset.new_objects.append(line)
