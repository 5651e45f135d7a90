"""``/healthz`` tells anyone whether the site is up, and only signed-in staff why not:
an exception's text names hosts, ports and users of the database and Redis."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_down(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"


def test_anyone_gets_only_the_status(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_anyone_sees_that_it_fails_but_not_why(client, redis_down):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
    assert b"127.0.0.1" not in response.content
    assert b"Error" not in response.content


def test_a_signed_in_non_staff_user_gets_only_the_status(client, django_user_model, redis_down):
    client.force_login(django_user_model.objects.create_user("clerk", password="pw-clerk-1"))

    response = client.get("/healthz")

    assert (response.status_code, response.json()) == (503, {"status": "unavailable"})


def test_staff_see_each_service_and_the_error(client, django_user_model, redis_down):
    staff = django_user_model.objects.create_user("ops", password="pw-ops-1", is_staff=True)
    client.force_login(staff)

    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 503
    assert (body["status"], body["database"]) == ("unavailable", "ok")
    assert body["redis"].startswith("error: ConnectionError")


def test_staff_see_every_service_ok(client, django_user_model):
    staff = django_user_model.objects.create_user("ops", password="pw-ops-1", is_staff=True)
    client.force_login(staff)

    response = client.get("/healthz")

    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}
