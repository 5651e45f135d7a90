from django.urls import path

from loyalty.api import views

urlpatterns = [
    path("me/balances/", views.MyBalancesView.as_view(), name="api-my-balances"),
]
