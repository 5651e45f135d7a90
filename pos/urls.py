from django.contrib.auth import views as auth_views
from django.urls import path

from pos.web import (
    counter,
    home,
    invoices,
    payments,
    receipts,
    register_day,
    returns,
    sale,
    unpaid,
)

app_name = "pos"

urlpatterns = [
    path("login/", home.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", home.home, name="home"),
    path("sell/", sale.sell, name="sell"),
    path("returns/", returns.returns, name="returns"),
    path("unpaid/", unpaid.unpaid, name="unpaid"),
    path("counter/", counter.counter, name="counter"),
    path("register/", register_day.register_day, name="register"),
    path("receipts/<str:reference>/", receipts.receipt, name="receipt"),
    path("receipts/<str:reference>/invoice/", invoices.invoice, name="invoice"),
    path("orders/<str:reference>/payment/", payments.payment, name="payment"),
]
