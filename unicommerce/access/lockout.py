"""What a locked-out log-in sees (django-axes calls these, see settings ``AXES_*``): the
same log-in page with the reason inline, answered 429 with Retry-After — the POS's for
the POS, the admin's for the admin."""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from unicommerce.ratelimit import client_ip


def lockout_client_ip(request) -> str:
    return client_ip(request)


def lockout_message() -> str:
    minutes = max(math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60), 1)
    return ngettext(
        "Too many failed log-ins with this username from here. Try again in %(n)d minute.",
        "Too many failed log-ins with this username from here. Try again in %(n)d minutes.",
        minutes,
    ) % {"n": minutes}


def lockout_response(request, original_response=None, credentials=None):
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    admin = request.path.startswith("/admin/")
    form_class = AdminAuthenticationForm if admin else AuthenticationForm
    form = form_class(request, data={"username": username})
    form.errors.clear()
    form.add_error(None, lockout_message())
    context = {"form": form, "next": request.POST.get("next", ""), "title": _("Log in")}
    if admin:
        from django.contrib import admin as django_admin

        context.update(django_admin.site.each_context(request))
    template = "admin/login.html" if admin else "pos/login.html"
    response = TemplateResponse(request, template, context, status=429)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response.render()  # axes may answer from its middleware, after the view
