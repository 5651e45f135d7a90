"""The customer's pay page, mounted at /pay/ by unicommerce/urls.py:
``path("pay/", include("payments.web.urls"))`` (namespace "pay")."""

from django.urls import path

from payments.web.views import pay_page, pay_status

app_name = "pay"

urlpatterns = [
    path("<str:token>/", pay_page, name="page"),
    path("<str:token>/status/", pay_status, name="status"),
]
