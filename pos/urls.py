from django.contrib.auth import views as auth_views
from django.urls import path

from pos import views, views_payments, views_returns, views_unpaid

app_name = "pos"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("sell/", views.sell, name="sell"),
    path("returns/", views_returns.returns, name="returns"),
    path("unpaid/", views_unpaid.unpaid, name="unpaid"),
    path("orders/<str:reference>/payment/", views_payments.payment, name="payment"),
]
