"""The payments dashboard of the back-office, at ``<admin>/payments/dashboard/``.

Every payment from every channel with filters (channel, method, status, dates), the
totals per method and per channel of what is filtered, the instalment parts due in the
next 7 days and the late ones, and the payment links of the period (sent, opened, paid).
The figures come from ``payments.dashboard`` (GROUP BY queries: the page costs the same
number of queries whatever the data). Who may see payments (``payments.view_payment``)
may see it.

The page belongs to the admin site (its login, its look, its ``admin:`` URL names):
``payments_dashboard_register(site)`` adds its URL in front of the site's own; the
payments admin calls it once for the project's site.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django import forms
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from payments import dashboard
from payments.models import Payment
from unicommerce.channels.models import SalesChannel
from unicommerce.money import money_format

PERMISSION = "payments.view_payment"
PAGE_SIZE = 50
DEFAULT_DAYS = 30
URL_NAME = "payments_dashboard"


class DashboardForm(forms.Form):
    """The filters, from the query string; nothing chosen shows everything."""

    channel = forms.ModelChoiceField(
        label=gettext_lazy("Channel"),
        queryset=SalesChannel.objects.order_by("name"),
        required=False,
        empty_label=gettext_lazy("All channels"),
    )
    method = forms.ChoiceField(
        label=gettext_lazy("Method"),
        choices=[("", gettext_lazy("All methods")), *Payment.Method.choices],
        required=False,
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        choices=[("", gettext_lazy("All statuses")), *Payment.Status.choices],
        required=False,
    )
    date_from = forms.DateField(
        label=gettext_lazy("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("date_from", "date_to"):
            self.fields[name].input_formats = ["%Y-%m-%d", *self.fields[name].input_formats]

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data

    def filters(self) -> dashboard.DashboardFilters:
        """The filters of the valid fields (an invalid one filters nothing)."""
        data = self.cleaned_data if self.is_valid() else {}
        channel = data.get("channel")
        return dashboard.DashboardFilters(
            channel_id=channel.pk if channel else None,
            method=data.get("method") or None,
            status=data.get("status") or None,
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


def _initial_query(request: HttpRequest):
    """The query string, or the last DEFAULT_DAYS days when the page is first opened."""
    if request.GET:
        return request.GET
    today = timezone.localdate()
    return {
        "date_from": (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
        "date_to": today.isoformat(),
    }


def _money(amount: Decimal, currency: str) -> str:
    return money_format(amount, currency, translation.get_language() or "en")


def _totals_rows(totals: list[dashboard.Totals]) -> list[dict]:
    return [
        {
            "totals": t,
            "label": t.label,
            "count": t.count,
            "refunds": t.refunds,
            "captured": _money(t.captured, t.currency),
            "refunded": _money(t.refunded, t.currency),
            "net": _money(t.net, t.currency),
        }
        for t in totals
    ]


def _url(name: str, *args) -> str | None:
    try:
        return reverse(f"admin:{name}", args=args)
    except NoReverseMatch:  # that admin is not registered
        return None


def _part_rows(parts) -> list[dict]:
    return [
        {
            "part": part,
            "amount": _money(part.amount, part.plan.currency),
            "order": part.plan.payment.order,
            "payment_url": _url("payments_payment_change", part.plan.payment_id),
        }
        for part in parts
    ]


def _instalment_rows(today, channel_id: int | None) -> dict:
    summary = dashboard.instalments_summary(today=today, channel_id=channel_id)
    return {
        "instalment_totals": [
            {
                "summary": s,
                "due": _money(s.due_amount, s.currency),
                "late": _money(s.late_amount, s.currency),
            }
            for s in summary
        ],
        "instalment_summary": summary,
        "instalments_due": _part_rows(
            dashboard.instalments_due(today=today, channel_id=channel_id)
        ),
        "instalments_late": _part_rows(
            dashboard.instalments_late(today=today, channel_id=channel_id)
        ),
    }


def _payment_rows(payments) -> list[dict]:
    """The rows of the list (``payments`` from ``dashboard.payments_with_refunds``): a
    refund made another way (cash at the till…) shows what it gave back, not a payment
    of nothing."""
    return [
        {
            "payment": p,
            "is_refund": p.is_refund,
            "channel": p.channel or p.order.channel,
            "amount": "—" if p.is_refund else _money(p.amount, p.currency),
            "captured": "—" if p.is_refund else _money(p.captured_amount, p.currency),
            "refunded": _money(p.refunded_total, p.currency),
            "url": _url("payments_payment_change", p.pk),
        }
        for p in payments
    ]


def dashboard_context(request: HttpRequest) -> dict:
    """Everything the page shows, for the filters of the query string."""
    form = DashboardForm(_initial_query(request))
    filters = form.filters()
    payments = dashboard.payments_filtered(filters)
    page = Paginator(dashboard.payments_with_refunds(payments), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    today = timezone.localdate()
    funnel = dashboard.payment_link_funnel(filters)
    by_method = dashboard.payment_totals_by_method(payments)
    by_channel = dashboard.payment_totals_by_channel(payments)
    by_currency = dashboard.payment_totals_by_currency(payments)
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "title": _("Payments dashboard"),
        "form": form,
        "filters": filters,
        "page": page,
        "query": query.urlencode(),
        "payment_rows": _payment_rows(page.object_list),
        "by_method": by_method,
        "by_channel": by_channel,
        "by_currency": by_currency,
        "method_rows": _totals_rows(by_method),
        "channel_rows": _totals_rows(by_channel),
        "currency_rows": _totals_rows(by_currency),
        "today": today,
        "due_days": dashboard.DUE_DAYS,
        **_instalment_rows(today, filters.channel_id),
        "funnel": funnel,
        "funnel_paid": [_money(amount, cur) for cur, amount in sorted(funnel.paid_amounts.items())],
        "links": dashboard.payment_links_latest(filters),
        "payment_changelist_url": _url("payments_payment_changelist"),
        "link_changelist_url": _url("payments_paymentlink_changelist"),
        "plan_changelist_url": _url("payments_instalmentplan_changelist"),
    }


def payments_dashboard_register(site: AdminSite) -> None:
    """Serve the dashboard at ``<admin>/payments/dashboard/`` (URL name
    ``admin:payments_dashboard``) on ``site``, behind the site's login. Call it before
    the URLs are first loaded (from an ``admin.py``: autodiscovery runs first)."""

    def payments_dashboard_view(request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        context = {
            **site.each_context(request),
            "opts": Payment._meta,
            **dashboard_context(request),
        }
        request.current_app = site.name
        return TemplateResponse(request, "admin/payments/dashboard.html", context)

    site_urls = site.get_urls

    def get_urls() -> list:
        view = site.admin_view(payments_dashboard_view)
        return [path("payments/dashboard/", view, name=URL_NAME), *site_urls()]

    site.get_urls = get_urls
