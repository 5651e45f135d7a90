"""The webhooks back-office: endpoints through the services, a read-only delivery log
with "redeliver", and the dashboard's alert."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory
from unicommerce.webhooks.models import WebhookDelivery, WebhookEndpoint

ENDPOINTS = reverse("admin:webhooks_webhookendpoint_changelist")
DELIVERIES = reverse("admin:webhooks_webhookdelivery_changelist")


@pytest.fixture
def manager(django_user_model):
    return django_user_model.objects.create_superuser("nadia", "n@example.com", "pw-nadia-1")


@pytest.fixture
def admin_client(client, manager):
    client.force_login(manager)
    return client


def change_url(endpoint) -> str:
    return reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])


def test_an_endpoint_added_in_the_admin_is_created_by_the_service(admin_client, manager, shop):
    response = admin_client.post(
        reverse("admin:webhooks_webhookendpoint_add"),
        {
            "channel": shop.web.pk,
            "url": " https://shop.example.com/hooks ",
            "description": "storefront",
            "event_types": ["stock.changed"],
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.channel, endpoint.url, endpoint.event_types, endpoint.created_by) == (
        shop.web,
        "https://shop.example.com/hooks",
        ["stock.changed"],
        manager,
    )
    assert endpoint.secret.startswith("whsec_")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://shop.example.com/hooks", "A webhook URL must start with http:// or https://."),
        ("https://user:pw@shop.example.com/", "Put no user name or password in a webhook URL."),
    ],
)
def test_a_bad_url_is_a_form_error_and_nothing_is_saved(admin_client, shop, url, message):
    response = admin_client.post(
        reverse("admin:webhooks_webhookendpoint_add"),
        {"channel": shop.web.pk, "url": url, "event_types": ["stock.changed"]},
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_an_unknown_event_type_is_a_form_error_and_nothing_is_saved(admin_client, shop):
    response = admin_client.post(
        reverse("admin:webhooks_webhookendpoint_add"),
        {"channel": shop.web.pk, "url": "https://a.example.com/", "event_types": ["order.eaten"]},
    )

    assert response.status_code == 200
    assert "order.eaten is not one of the available choices" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_change_form_updates_through_the_service_and_keeps_the_channel(
    admin_client, shop, make_endpoint
):
    endpoint = make_endpoint()
    secret = endpoint.secret

    response = admin_client.post(
        change_url(endpoint),
        {
            "channel": shop.store_channel.pk,  # read-only on the change page: ignored
            "url": "https://new.example.com/hooks",
            "description": "moved",
            "event_types": ["stock.changed"],
        },
    )

    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.description, endpoint.channel, endpoint.secret) == (
        "https://new.example.com/hooks",
        "moved",
        shop.web,
        secret,
    )


def test_a_bad_url_on_the_change_form_changes_nothing(admin_client, make_endpoint):
    endpoint = make_endpoint()

    response = admin_client.post(
        change_url(endpoint),
        {"url": "mailto:ops@example.com", "description": "", "event_types": ["stock.changed"]},
    )

    assert response.status_code == 200
    assert "must start with http:// or https://" in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.com/stock"


def test_the_secret_is_shown_read_only_and_can_be_rotated(admin_client, make_endpoint):
    endpoint = make_endpoint()
    old = endpoint.secret

    page = admin_client.get(change_url(endpoint)).content.decode()
    rotate = reverse("admin:webhooks_webhookendpoint_rotate_secret", args=[endpoint.pk])
    refused = admin_client.get(rotate)
    response = admin_client.post(rotate, follow=True)

    assert f"<code>{old}</code>" in page
    assert 'name="secret"' not in page
    assert f'formaction="{rotate}"' in page
    # Enter in a field clicks the form's first submit button: it must be "Save".
    form = page[page.index('id="webhookendpoint_form"') :]
    assert 'name="_save"' in form[: form.index("<button")]
    assert refused.status_code == 405
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert endpoint.secret.startswith("whsec_")
    assert response.redirect_chain[-1][0] == change_url(endpoint)
    assert "was rotated" in response.content.decode()


def test_disable_and_enable_actions_call_the_services(admin_client, make_endpoint):
    endpoint = make_endpoint()

    admin_client.post(ENDPOINTS, {"action": "disable_endpoints", "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    disabled = (endpoint.is_active, endpoint.disabled_reason)
    listing = admin_client.get(ENDPOINTS).content.decode()
    admin_client.post(ENDPOINTS, {"action": "enable_endpoints", "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()

    assert disabled == (False, "Disabled in the back-office by nadia.")
    assert "disabled: Disabled in the back-office by nadia." in listing
    assert (endpoint.is_active, endpoint.disabled_reason, endpoint.disabled_at) == (True, "", None)


def test_the_endpoint_list_searches_and_filters(admin_client, shop, make_endpoint):
    make_endpoint(url="https://alpha.example.com/")
    make_endpoint(channel=shop.store_channel, url="https://beta.example.com/", is_active=False)

    found = admin_client.get(ENDPOINTS, {"q": "store-paris"}).content.decode()
    inactive = admin_client.get(ENDPOINTS, {"is_active__exact": "0"}).content.decode()
    by_type = admin_client.get(ENDPOINTS, {"event_type": "stock.changed"}).content.decode()

    assert "beta.example.com" in found
    assert "alpha.example.com" not in found
    assert "beta.example.com" in inactive
    assert "alpha.example.com" not in inactive
    assert "alpha.example.com" in by_type
    assert "beta.example.com" in by_type


def test_the_delivery_log_is_read_only(admin_client, make_endpoint, make_delivery):
    delivery = make_delivery(make_endpoint(), status="dead", version=7)
    url = reverse("admin:webhooks_webhookdelivery_change", args=[delivery.pk])

    page = admin_client.get(url)
    post = admin_client.post(url, {"status": "delivered"})
    add = admin_client.get(reverse("admin:webhooks_webhookdelivery_add"))

    text = page.content.decode()
    assert page.status_code == 200
    assert "&quot;version&quot;: 7" in text  # the payload, pretty-printed
    assert "upstream unavailable" in text  # the attempt, inline
    assert 'name="status"' not in text
    assert (post.status_code, add.status_code) == (403, 403)
    delivery.refresh_from_db()
    assert delivery.status == "dead"


def test_the_delivery_log_filters_by_status(admin_client, make_endpoint, make_delivery):
    endpoint = make_endpoint()
    make_delivery(endpoint, status="dead", variant_id=11)
    make_delivery(endpoint, status="delivered", variant_id=22)

    page = admin_client.get(DELIVERIES, {"status__exact": "dead"}).content.decode()

    assert "variant:11" in page
    assert "variant:22" not in page


def test_redeliver_sends_a_dead_delivery_again(admin_client, make_endpoint, make_delivery):
    delivery = make_delivery(make_endpoint(), status="dead")

    response = admin_client.post(
        DELIVERIES, {"action": "redeliver", "_selected_action": [delivery.pk]}, follow=True
    )

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 1)  # the log goes on: #2 next
    assert "1 delivery will be sent again" in response.content.decode()


def test_redeliver_of_a_waiting_delivery_is_an_error_message(
    admin_client, make_endpoint, make_delivery
):
    delivery = make_delivery(make_endpoint(), status="pending")

    response = admin_client.post(
        DELIVERIES, {"action": "redeliver", "_selected_action": [delivery.pk]}, follow=True
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert 'class="error"' in page
    assert "Only a delivered, dead or superseded delivery can be sent again." in page
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 1)


def test_the_dashboard_alerts_on_disabled_endpoints_and_dead_deliveries(
    admin_client, make_endpoint, make_delivery
):
    healthy = admin_client.get(reverse("admin:index")).content.decode()
    make_endpoint(is_active=False, disabled_reason="410 Gone")
    make_delivery(make_endpoint(url="https://other.example.com/"), status="dead")
    make_delivery(make_endpoint(url="https://third.example.com/"), status="dead")

    page = admin_client.get(reverse("admin:index")).content.decode()
    app_page = admin_client.get(reverse("admin:app_list", args=["webhooks"])).content.decode()

    assert "webhook-alerts" not in healthy
    assert "1 webhook endpoint is disabled" in page
    assert f'href="{ENDPOINTS}?is_active__exact=0"' in page
    assert "2 webhook deliveries were given up" in page
    assert f'href="{DELIVERIES}?status__exact=dead"' in page
    assert "webhook-alerts" not in app_page


def test_the_dashboard_alert_only_shows_what_the_user_may_see(
    client, django_user_model, make_endpoint
):
    make_endpoint(is_active=False)
    clerk = django_user_model.objects.create_user("clerk", password="pw-clerk-1", is_staff=True)
    client.force_login(clerk)

    page = client.get(reverse("admin:index")).content.decode()

    assert "webhook-alerts" not in page
    assert WebhookDelivery.objects.count() == 0


def test_a_user_who_may_only_view_sees_the_secret_but_cannot_rotate_or_redeliver(
    client, make_endpoint, make_delivery
):
    endpoint = make_endpoint()
    secret = endpoint.secret
    delivery = make_delivery(endpoint, status="dead")
    viewer = UserFactory(
        is_staff=True,
        permissions=["webhooks.view_webhookendpoint", "webhooks.view_webhookdelivery"],
    )
    client.force_login(viewer)
    rotate = reverse("admin:webhooks_webhookendpoint_rotate_secret", args=[endpoint.pk])

    page = client.get(change_url(endpoint)).content.decode()
    rotated = client.post(rotate)
    log = client.get(DELIVERIES).content.decode()
    redelivered = client.post(
        DELIVERIES, {"action": "redeliver", "_selected_action": [delivery.pk]}
    )

    assert endpoint.secret in page
    assert "formaction" not in page
    assert rotated.status_code == 403
    assert 'value="redeliver"' not in log
    assert redelivered.status_code in (200, 302)
    endpoint.refresh_from_db()
    delivery.refresh_from_db()
    assert (endpoint.secret, delivery.status) == (secret, "dead")


def test_one_endpoint_more_than_the_channels_cap_is_a_form_error(
    admin_client, shop, make_endpoint, settings
):
    settings.WEBHOOK_MAX_ENDPOINTS_PER_CHANNEL = 1
    existing = make_endpoint()

    response = admin_client.post(
        reverse("admin:webhooks_webhookendpoint_add"),
        {
            "channel": shop.web.pk,
            "url": "https://two.example.com/",
            "event_types": ["stock.changed"],
        },
    )

    assert response.status_code == 200
    assert "A channel can have at most 1 webhook endpoint; delete one first." in (
        response.content.decode()
    )
    assert list(WebhookEndpoint.objects.all()) == [existing]
    # Changing the endpoint that is there is not adding one.
    changed = admin_client.post(
        change_url(existing),
        {"url": "https://moved.example.com/", "description": "", "event_types": ["stock.changed"]},
    )
    assert changed.status_code == 302, changed.content.decode()[:3000]
    existing.refresh_from_db()
    assert existing.url == "https://moved.example.com/"
