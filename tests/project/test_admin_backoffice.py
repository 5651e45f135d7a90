"""The back-office's frame (issue 12): logging out stays in the admin, a language switch
in the header (also on the log-in page), the icon on every face and at /favicon.ico."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-1")


def test_logging_out_of_the_admin_lands_on_the_admin_log_in(client, manager):
    client.force_login(manager)

    response = client.post(reverse("admin:logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:login")
    assert "_auth_user_id" not in client.session
    assert client.get(response["Location"]).status_code == 200
    # The tills' own way out is unchanged: the POS log-in.
    assert settings.LOGOUT_REDIRECT_URL == "pos:login"


def test_the_admin_header_has_a_language_switch_back_to_the_same_page(client, manager):
    client.force_login(manager)
    url = reverse("admin:orders_order_changelist") + "?status__exact=placed"

    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert f'<form id="language-switch" action="{reverse("set_language")}" method="post">' in page
    assert f'<input type="hidden" name="next" value="{url}">' in page
    assert 'name="language" value="fr" lang="fr" title="Français"' in page
    assert 'name="language" value="en" lang="en" title="English"' in page
    assert re.search(r'value="en"[^>]*class="active"\s+aria-pressed="true">EN</button>', page)
    assert re.search(r'value="fr"[^>]*class=""\s+aria-pressed="false">FR</button>', page)


def test_the_language_switch_turns_the_admin_french_and_back(client, manager):
    client.force_login(manager)
    admin_index = reverse("admin:index")

    switched = client.post(reverse("set_language"), {"language": "fr", "next": admin_index})
    french = client.get(admin_index, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": admin_index})
    english = client.get(admin_index, HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert switched.status_code == 302
    assert switched["Location"] == admin_index
    assert "Tableau de bord" in french
    assert '<html lang="fr"' in french
    assert "Dashboard" in english
    assert '<html lang="en"' in english


def test_the_admin_log_in_page_has_the_switch_and_the_icon(client):
    page = client.get(reverse("admin:login")).content.decode()

    assert 'id="language-switch"' in page
    assert f'<link rel="icon" href="{static("brand/favicon.svg")}" type="image/svg+xml">' in page


@pytest.mark.parametrize(
    "path",
    ["/admin/login/", "/pos/login/", "/pay/not-a-real-token-but-long-enough/"],
    ids=["admin", "pos", "pay page"],
)
def test_every_face_links_the_icon(client, path):
    page = client.get(path).content.decode()

    assert f'<link rel="icon" href="{static("brand/favicon.svg")}"' in page
    assert f'<link rel="icon" href="{static("brand/favicon-32.png")}" sizes="32x32"' in page


def test_favicon_ico_is_answered_for_anyone(client):
    response = client.get("/favicon.ico")
    head = client.head("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"] == static("brand/favicon.ico")
    assert head.status_code == 301
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert b"".join(icon.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file


def test_the_icons_are_in_the_static_files():
    from django.contrib.staticfiles import finders

    svg = Path(finders.find("brand/favicon.svg"))
    png = Path(finders.find("brand/favicon-32.png"))
    assert svg.read_text().startswith("<svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
