"""The customer account API, under ``/api/v1/``."""

from django.urls import path

from customers.api import views
from unicommerce import converters  # noqa: F401 (registers the <id:…> converter)

urlpatterns = [
    path("auth/code/", views.CodeView.as_view(), name="customer-auth-code"),
    path("auth/token/", views.TokenView.as_view(), name="customer-auth-token"),
    path("auth/logout/", views.LogoutView.as_view(), name="customer-auth-logout"),
    path("me/", views.MeView.as_view(), name="customer-me"),
    path("me/contact-change/", views.ContactChangeView.as_view(), name="customer-contact-change"),
    path(
        "me/contact-change/confirm/",
        views.ContactChangeConfirmView.as_view(),
        name="customer-contact-confirm",
    ),
    path("me/addresses/", views.AddressListView.as_view(), name="customer-addresses"),
    path(
        "me/addresses/<id:pk>/",
        views.AddressDetailView.as_view(),
        name="customer-address",
    ),
    path("me/consents/", views.ConsentView.as_view(), name="customer-consents"),
]
