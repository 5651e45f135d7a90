"""The till's way in: the seller logs in, then picks the register to sell at."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from pos.selectors import registers_for
from pos.web.common import SESSION_CART, SESSION_REGISTER


class LoginView(auth_views.LoginView):
    template_name = "pos/login.html"
    redirect_authenticated_user = True


@login_required
@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    """Pick the register to sell at."""
    registers = registers_for(request.user)
    if request.method == "POST":
        register = registers.filter(pk=request.POST.get("register")).first()
        if register is None:
            messages.error(request, _("Choose one of your registers."))
            return redirect("pos:home")
        request.session[SESSION_REGISTER] = register.pk
        request.session.pop(SESSION_CART, None)
        return redirect("pos:sell")
    return render(request, "pos/home.html", {"registers": registers})
