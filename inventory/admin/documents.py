"""What the admins of stock documents share: transfers, counts and purchase orders move
through a state machine, each step a service. One POST address per step, list actions
built on the same services, a receipt page with one quantity per line still expected,
and refusals shown as messages, never as server errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from unicommerce.exceptions import DomainError


class DocumentAdmin(admin.ModelAdmin):
    """Set ``document_argument`` (the keyword the services take: "transfer", "order"…)
    and ``transitions`` ({action: service}); the services take
    ``(**{document_argument: document}, user=...)``."""

    document_argument: str = ""
    transitions: dict[str, Callable[..., Any]] = {}

    def url_name(self, name: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{name}"

    def document_url(self, name: str, document, *args, **query) -> str:
        url = reverse(f"admin:{self.url_name(name)}", args=[document.pk, *args])
        return f"{url}?{urlencode(query)}" if query else url

    def document_for(self, request, object_id: str, *, change: bool = True):
        """The document, or 404 for an unknown or malformed id, 403 without the right."""
        document = self.get_object(request, object_id)
        if document is None:
            raise Http404
        allowed = (
            self.has_change_permission(request, document)
            if change
            else self.has_view_permission(request, document)
        )
        if not allowed:
            raise PermissionDenied
        return document

    def document_urls(self, **views) -> list:
        """The transition address, plus one address per extra page ({name: view})."""
        wrap = self.admin_site.admin_view
        return [
            *(
                path(f"<path:object_id>/{name}/", wrap(view), name=self.url_name(name))
                for name, view in views.items()
            ),
            path(
                "<path:object_id>/do/<str:action>/",
                wrap(self.transition_view),
                name=self.url_name("transition"),
            ),
        ]

    def transition_view(self, request, object_id: str, action: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if action not in self.transitions:
            raise PermissionDenied
        document = self.document_for(request, object_id)
        self.run_transition(request, [document], self.transitions[action])
        return HttpResponseRedirect(self.document_url("change", document))

    def run_transition(self, request, documents, service) -> None:
        for document in documents:
            try:
                done = service(**{self.document_argument: document}, user=request.user)
            except DomainError as error:
                self.message_user(request, f"{document}: {error.message}", messages.ERROR)
                continue
            self.log_change(request, done, [{"changed": {"fields": ["status"]}}])
            self.message_user(request, self.transition_message(done), messages.SUCCESS)

    def transition_message(self, document) -> str:
        return _("%(reference)s is now %(status)s.") % {
            "reference": document,
            "status": document.get_status_display(),
        }

    def page_context(self, request, document, title: str, **extra) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": document,
            "title": title,
            "has_view_permission": True,
            **extra,
        }


class ReceiveLinesForm(forms.Form):
    """One quantity field per line still expected, filled with what is outstanding.

    ``expected`` reads how many a line expects in all (shipped, ordered); at least one
    quantity must be typed.
    """

    def __init__(self, *args, lines: list, expected: Callable[[Any], int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lines: dict[str, Any] = {}
        for line in lines:
            outstanding = expected(line) - line.quantity_received
            if outstanding <= 0:
                continue
            name = f"line_{line.pk}"
            self.lines[name] = line
            self.fields[name] = forms.IntegerField(
                label=str(line.variant),
                initial=outstanding,
                min_value=0,
                help_text=_("%(outstanding)s of %(quantity)s still expected")
                % {"outstanding": outstanding, "quantity": expected(line)},
            )
        self.rows = [(self[name], line, expected(line)) for name, line in self.lines.items()]

    def clean(self):
        data = super().clean()
        if not self.errors and not self.quantities():
            raise ValidationError(_("Type the quantity received on at least one line."))
        return data

    def quantities(self) -> dict[int, int]:
        return {
            line.variant_id: self.cleaned_data[name]
            for name, line in self.lines.items()
            if self.cleaned_data.get(name)
        }

    def field_of(self, sku: str) -> str | None:
        return next((n for n, line in self.lines.items() if line.variant.sku == sku), None)


class ReceiveWithNoteForm(ReceiveLinesForm):
    note = forms.CharField(label=gettext_lazy("note"), max_length=255, required=False)
