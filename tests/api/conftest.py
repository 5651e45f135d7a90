import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from catalog.models import Publication
from tests.factories import UserFactory
from unicommerce.channels.services import api_key_create


def client_with_key(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}", HTTP_ACCEPT_LANGUAGE="en")
    return client


@pytest.fixture
def web_api(shop) -> APIClient:
    """The web store's front end, with its channel key."""
    _, raw_key = api_key_create(channel=shop.web, name="front end")
    return client_with_key(raw_key)


@pytest.fixture
def staff_api(db):
    """A staff script's client, with a key acting as a user holding ``perms`` (and the
    head office's reach, unless ``stores`` says where they work)."""

    def make(*perms: str, stores=None) -> APIClient:
        """``stores``: the locations the user works at; without, head office (every
        location: ``inventory.all_locations``), as a script of the back office."""
        user = UserFactory()
        if stores is None:
            perms = (*perms, "inventory.all_locations")
        for location in stores or ():
            location.staff.add(user)
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        _, raw_key = api_key_create(user=user, name="script")
        client = client_with_key(raw_key)
        client.user = user
        return client

    return make


@pytest.fixture
def publish(shop):
    """Publish products on channels (the web and the Paris store by default)."""

    def run(*products, channels=None):
        for product in products:
            for channel in channels or [shop.web, shop.store_channel]:
                Publication.objects.get_or_create(product=product, channel=channel)

    return run
