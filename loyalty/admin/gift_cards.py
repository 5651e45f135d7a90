"""Back office for gift cards: the cards with their balance and status, found by their
code (its hash), each with its ledger read-only. Nothing is edited in place: blocking,
an adjustment (with a reason) and issuing physical cards call
``loyalty.services.gift_cards``.

"Add" is the page that issues a batch of physical cards: their clear codes come back
once, as a CSV download (to print or encode the cards), and are kept nowhere.

Permissions: ``loyalty.view_giftcard`` to see, ``loyalty.change_giftcard`` to block,
unblock and adjust, ``loyalty.add_giftcard`` to issue (docs/permissions.md).
"""

from __future__ import annotations

import io
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import DecimalField, OuterRef, Subquery, Sum
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from loyalty.models import GiftCard, GiftCardEntry
from loyalty.services.gift_cards import (
    gift_card_active_set,
    gift_card_adjust,
    gift_card_code_hash,
    gift_card_code_normalise,
    gift_card_code_valid,
    gift_card_usable,
    gift_cards_issue_batch,
)
from unicommerce.exceptions import DomainError
from unicommerce.money import DECIMAL_PLACES, MAX_DIGITS
from unicommerce.spreadsheets import SpreadsheetWriter

TEMPLATE = "admin/loyalty/giftcard/form.html"


def _balance_subquery() -> Subquery:
    per_card = (
        GiftCardEntry.objects.filter(card_id=OuterRef("pk"))
        .order_by()
        .values("card_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Subquery(
        per_card, output_field=DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    )


class GiftCardEntryInline(admin.TabularInline):
    model = GiftCardEntry
    fields = ["created_at", "kind", "amount", "reference", "reason", "created_by"]
    readonly_fields = fields
    ordering = ["id"]
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class AdjustForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        help_text=_("Positive adds to the card, negative takes from it."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=255)


class IssueForm(forms.Form):
    count = forms.IntegerField(label=_("Number of cards"), min_value=1, max_value=1000)
    amount = forms.DecimalField(
        label=_("Amount of each"),
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        min_value=Decimal("0.01"),
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="EUR")
    purpose = forms.ChoiceField(
        label=_("Purpose"), choices=GiftCard.Purpose.choices, initial=GiftCard.Purpose.MULTI
    )


@admin.register(GiftCard)
class GiftCardAdmin(admin.ModelAdmin):
    list_display = [
        "card_number",
        "balance_display",
        "currency",
        "purpose",
        "delivery",
        "status",
        "expires_at",
        "created_at",
    ]
    list_filter = ["purpose", "delivery", "is_active", "currency", "created_at"]
    search_fields = ["last4", "source"]
    search_help_text = _("A card's full code (found by its hash), its last 4 characters or source.")
    list_select_related = ["customer"]
    date_hierarchy = "created_at"
    inlines = [GiftCardEntryInline]
    actions = ["block", "unblock"]
    readonly_fields = [
        "card_number",
        "balance_display",
        "status",
        "currency",
        "initial_amount",
        "purpose",
        "delivery",
        "recipient",
        "customer",
        "source",
        "expires_at",
        "created_at",
        "adjust_link",
    ]
    fields = readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(balance=_balance_subquery())

    def get_search_results(self, request, queryset, search_term):
        """A full code is looked up by its hash (the only way a card is found by code)."""
        code = gift_card_code_normalise(search_term)
        if gift_card_code_valid(code):
            return queryset.filter(code_hash=gift_card_code_hash(code)), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("card"), ordering="last4")
    def card_number(self, card: GiftCard) -> str:
        return f"…{card.last4}"

    @admin.display(description=_("balance"), ordering="balance")
    def balance_display(self, card: GiftCard) -> Decimal:
        return getattr(card, "balance", None) or Decimal("0.00")

    @admin.display(description=_("status"))
    def status(self, card: GiftCard) -> str:
        if not card.is_active:
            return str(_("blocked"))
        if not gift_card_usable(card):
            return str(_("expired"))
        return str(_("active"))

    @admin.display(description=_("adjust"))
    def adjust_link(self, card: GiftCard) -> str:
        if card.pk is None:
            return ""
        url = reverse("admin:loyalty_giftcard_adjust", args=[card.pk])
        return format_html('<a href="{}">{}</a>', url, _("Adjust the balance…"))

    # -- actions

    @admin.action(description=_("Block the selected cards (lost, stolen)"), permissions=["change"])
    def block(self, request, queryset) -> None:
        for card in queryset:
            gift_card_active_set(card=card, active=False)
        self.message_user(request, _("Cards blocked: %(n)d.") % {"n": len(queryset)})

    @admin.action(description=_("Unblock the selected cards"), permissions=["change"])
    def unblock(self, request, queryset) -> None:
        for card in queryset:
            gift_card_active_set(card=card, active=True)
        self.message_user(request, _("Cards unblocked: %(n)d.") % {"n": len(queryset)})

    # -- permissions: cards are made by the services only; never deleted

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    # -- pages

    def get_urls(self):
        adjust = self.admin_site.admin_view(self.adjust_view)
        return [
            path("<path:object_id>/adjust/", adjust, name="loyalty_giftcard_adjust"),
            *super().get_urls(),
        ]

    def _page(self, request, title: str, form, card=None, submit: str = "") -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": card,
            "title": title,
            "form": form,
            "submit": submit,
        }
        return TemplateResponse(request, TEMPLATE, context)

    def adjust_view(self, request, object_id: str):
        card = get_object_or_404(GiftCard, pk=object_id)
        if not self.has_change_permission(request, card):
            raise PermissionDenied
        form = AdjustForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                gift_card_adjust(
                    card=card,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    user=request.user,
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(request, _("The balance was adjusted."), messages.SUCCESS)
                url = reverse("admin:loyalty_giftcard_change", args=[card.pk])
                return HttpResponseRedirect(url)
        title = _("Adjust gift card …%(last4)s") % {"last4": card.last4}
        return self._page(request, title, form, card, submit=_("Adjust"))

    def add_view(self, request, form_url="", extra_context=None):
        """Issue a batch of physical cards: the answer is the CSV of their clear codes,
        given this once."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = IssueForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                issued = gift_cards_issue_batch(
                    count=data["count"],
                    amount=data["amount"],
                    currency=data["currency"].upper(),
                    purpose=data["purpose"],
                    user=request.user,
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                return _codes_csv(issued)
        title = _("Issue physical gift cards")
        return self._page(request, title, form, submit=_("Issue and download the codes"))


def _codes_csv(issued) -> HttpResponse:
    """The clear codes of a batch, as a CSV download (never cached, never stored)."""
    buffer = io.StringIO()
    writer = SpreadsheetWriter(buffer)
    writer.writerow(["code", "last4", "amount", "currency", "purpose", "expires_at", "id"])
    for card in issued:
        writer.writerow(
            [
                card.display,
                card.card.last4,
                card.card.initial_amount,
                card.card.currency,
                card.card.purpose,
                card.card.expires_at.date().isoformat() if card.card.expires_at else "",
                card.card.pk,
            ]
        )
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="gift-cards-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
