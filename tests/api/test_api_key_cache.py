"""A web process remembers the API keys it authenticated for API_KEY_CACHE_SECONDS:
a front end's calls do not each read the key again, a revocation through the service
(or the admin) is immediate here and reaches other processes within the delay."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from tests.api.conftest import client_with_key
from tests.factories import UserFactory
from unicommerce.channels import services
from unicommerce.channels.models import ApiKey, SalesChannel
from unicommerce.channels.services import api_key_authenticate, api_key_create, api_key_revoke

URL = "/api/v1/products/"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch, settings):
    """The cache's clock, moved by hand; a 5 s cache, emptied around each test."""
    settings.API_KEY_CACHE_SECONDS = 5
    clock = Clock()
    monkeypatch.setattr(services, "monotonic", clock)
    services._API_KEY_CACHE.clear()
    yield clock
    services._API_KEY_CACHE.clear()


@pytest.fixture
def web_key(shop):
    api_key, raw_key = api_key_create(channel=shop.web, name="front end")
    return api_key, raw_key


def test_a_key_is_read_once_then_served_from_memory(web_key, django_assert_num_queries):
    api_key, raw_key = web_key

    with django_assert_num_queries(2):  # the key, and its first "last used" stamp
        first = api_key_authenticate(raw_key=raw_key)
    with django_assert_num_queries(0):
        second = api_key_authenticate(raw_key=raw_key)

    assert first.pk == second.pk == api_key.pk
    assert second.channel.code == "web"
    assert second.key_hash == api_key.key_hash


def test_each_call_gets_its_own_instances(web_key):
    _, raw_key = web_key

    first = api_key_authenticate(raw_key=raw_key)
    first.channel.name = "changed by a request"
    second = api_key_authenticate(raw_key=raw_key)

    assert second is not first
    assert second.channel is not first.channel
    assert second.channel.name == "Web store"


def test_a_key_revoked_elsewhere_works_here_until_the_entry_expires(
    web_key, clock, django_assert_num_queries
):
    api_key, raw_key = web_key
    api_key_authenticate(raw_key=raw_key)
    # another web process revokes it: this one is not told
    ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now())

    clock.now += 4.9
    still_cached = api_key_authenticate(raw_key=raw_key)
    clock.now += 0.2
    with django_assert_num_queries(1):
        expired = api_key_authenticate(raw_key=raw_key)

    assert still_cached is not None
    assert expired is None


def test_revoking_through_the_service_is_immediate_in_this_process(web_key, shop):
    api_key, raw_key = web_key
    other, other_raw_key = api_key_create(channel=shop.web, name="another front end")
    assert api_key_authenticate(raw_key=raw_key) is not None
    assert api_key_authenticate(raw_key=other_raw_key) is not None

    api_key_revoke(api_key=api_key)

    assert api_key_authenticate(raw_key=raw_key) is None
    assert client_with_key(raw_key).get(URL).status_code == 401
    assert api_key_authenticate(raw_key=other_raw_key).pk == other.pk


def test_revoking_in_the_admin_is_immediate_in_this_process(admin_client, web_key):
    api_key, raw_key = web_key
    assert client_with_key(raw_key).get(URL).status_code == 200

    admin_client.post(
        reverse("admin:channels_apikey_changelist"),
        {"action": "revoke", "_selected_action": [api_key.pk]},
    )

    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert client_with_key(raw_key).get(URL).status_code == 401


def test_the_last_used_stamp_is_written_at_most_once_a_minute(
    web_key, clock, django_assert_num_queries
):
    api_key, raw_key = web_key
    api_key_authenticate(raw_key=raw_key)
    stamped = ApiKey.objects.get(pk=api_key.pk).last_used_at

    clock.now += 6  # the entry expired: the key is read again, but not written
    with django_assert_num_queries(1):
        api_key_authenticate(raw_key=raw_key)
    ApiKey.objects.filter(pk=api_key.pk).update(
        last_used_at=stamped - timezone.timedelta(seconds=61)
    )
    clock.now += 6
    with django_assert_num_queries(2):
        api_key_authenticate(raw_key=raw_key)

    assert ApiKey.objects.get(pk=api_key.pk).last_used_at > stamped


def test_unknown_keys_are_never_remembered(shop, django_assert_num_queries):
    with django_assert_num_queries(2):
        assert api_key_authenticate(raw_key="uck_not-a-key") is None
        assert api_key_authenticate(raw_key="uck_not-a-key") is None


def test_a_key_of_an_inactive_channel_is_refused_and_not_remembered(web_key, shop):
    _, raw_key = web_key
    SalesChannel.objects.filter(pk=shop.web.pk).update(is_active=False)

    assert api_key_authenticate(raw_key=raw_key) is None
    SalesChannel.objects.filter(pk=shop.web.pk).update(is_active=True)
    assert api_key_authenticate(raw_key=raw_key) is not None


def test_zero_seconds_turns_the_cache_off(web_key, settings, django_assert_num_queries):
    settings.API_KEY_CACHE_SECONDS = 0
    _, raw_key = web_key
    api_key_authenticate(raw_key=raw_key)

    with django_assert_num_queries(1):
        assert api_key_authenticate(raw_key=raw_key) is not None


def test_a_staff_keys_permissions_are_read_at_each_request(db):
    user = UserFactory()
    _, raw_key = api_key_create(user=user, name="script")
    api = client_with_key(raw_key)
    assert api.get(URL).status_code == 403

    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="catalog", codename="view_product")
    )

    assert api.get(URL).status_code == 200


def test_the_cache_stays_bounded(shop, monkeypatch):
    monkeypatch.setattr(services, "API_KEY_CACHE_MAX_ENTRIES", 3)
    raw_keys = [api_key_create(channel=shop.web, name=f"key {n}")[1] for n in range(5)]

    for raw_key in raw_keys:
        assert api_key_authenticate(raw_key=raw_key) is not None

    assert len(services._API_KEY_CACHE) <= 3
