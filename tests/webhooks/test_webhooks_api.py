"""Webhook endpoints over the API: a channel key manages its own, staff any channel's;
refusals use the one error shape and change nothing."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator

from unicommerce.webhooks.models import WebhookDelivery, WebhookEndpoint

ENDPOINTS = "/api/v1/webhooks/endpoints/"
STAFF_PERMS = [
    "webhooks.view_webhookendpoint",
    "webhooks.add_webhookendpoint",
    "webhooks.change_webhookendpoint",
    "webhooks.delete_webhookendpoint",
    "webhooks.view_webhookdelivery",
    "webhooks.change_webhookdelivery",
]


def url(endpoint, action: str = "") -> str:
    return f"{ENDPOINTS}{endpoint.pk}/{action + '/' if action else ''}"


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


@pytest.fixture
def admin_api(staff_api):
    return staff_api(*STAFF_PERMS)


def test_a_channel_key_creates_an_endpoint_and_gets_its_secret_once(web_api, shop):
    response = web_api.post(
        ENDPOINTS,
        {"url": "https://shop.example.com/hooks", "event_types": ["stock.changed"]},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body["secret"] == endpoint.secret
    assert body["secret"].startswith("whsec_")
    assert (body["channel"], body["url"], body["event_types"], body["is_active"]) == (
        "web",
        "https://shop.example.com/hooks",
        ["stock.changed"],
        True,
    )
    assert endpoint.channel == shop.web
    assert endpoint.created_by is None
    listed = web_api.get(ENDPOINTS).json()["results"]
    assert [item["id"] for item in listed] == [endpoint.pk]
    assert "secret" not in listed[0]
    assert web_api.get(url(endpoint)).json()["secret"] == endpoint.secret


def test_staff_create_for_a_named_channel(admin_api, shop):
    response = admin_api.post(
        ENDPOINTS,
        {
            "channel": "store-paris",
            "url": "https://pos-sync.example.com/",
            "event_types": ["stock.changed"],
            "description": "store screens",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.channel, endpoint.created_by, endpoint.description) == (
        shop.store_channel,
        admin_api.user,
        "store screens",
    )


SHOP = "https://shop.example.com/"
STOCK = ["stock.changed"]


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({"url": "ftp://shop.example.com/", "event_types": STOCK}, "webhook_url_invalid", "url"),
        ({"url": "shop.example.com/hooks", "event_types": STOCK}, "webhook_url_invalid", "url"),
        ({"url": SHOP, "event_types": ["order.eaten"]}, "unknown_event_type", "unknown"),
        ({"url": SHOP, "event_types": []}, "unknown_event_type", "known"),
        ({"url": SHOP}, "invalid", "event_types"),
        ({"event_types": STOCK}, "invalid", "url"),
        ({"url": SHOP, "event_types": "stock.changed"}, "invalid", "event_types"),
    ],
)
def test_bad_input_is_refused_in_the_error_shape_and_creates_nothing(
    web_api, shop, payload, code, field
):
    response = web_api.post(ENDPOINTS, payload, format="json")

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == code
    assert field in error["details"]
    assert not WebhookEndpoint.objects.exists()


def test_staff_must_name_an_existing_channel(admin_api, shop):
    payload = {"url": "https://a.example.com/", "event_types": ["stock.changed"]}

    missing = admin_api.post(ENDPOINTS, payload, format="json")
    unknown = admin_api.post(ENDPOINTS, {**payload, "channel": "mars"}, format="json")

    assert (missing.status_code, unknown.status_code) == (400, 400)
    assert list(error_of(missing)["details"]) == ["channel"]
    assert error_of(unknown)["details"] == {"channel": ["No sales channel has the code “mars”."]}
    assert not WebhookEndpoint.objects.exists()


def test_a_channel_key_cannot_create_for_another_channel(web_api, shop):
    response = web_api.post(
        ENDPOINTS,
        {
            "channel": "store-paris",
            "url": "https://a.example.com/",
            "event_types": ["stock.changed"],
        },
        format="json",
    )

    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"
    assert not WebhookEndpoint.objects.exists()


def test_another_channels_endpoint_is_not_found_and_stays_as_it_was(
    web_api, shop, make_endpoint, make_delivery
):
    theirs = make_endpoint(channel=shop.store_channel)
    delivery = make_delivery(theirs, status="dead")
    before = WebhookEndpoint.objects.values().get(pk=theirs.pk)

    answers = [
        web_api.get(url(theirs)),
        web_api.patch(url(theirs), {"url": "https://evil.example.com/"}, format="json"),
        web_api.delete(url(theirs)),
        web_api.post(url(theirs, "rotate-secret")),
        web_api.post(url(theirs, "disable")),
        web_api.post(url(theirs, "enable")),
        web_api.get(url(theirs, "deliveries")),
        web_api.post(f"/api/v1/webhooks/deliveries/{delivery.pk}/redeliver/"),
    ]

    assert [a.status_code for a in answers] == [404] * len(answers)
    assert {error_of(a)["code"] for a in answers} == {"not_found"}
    assert web_api.get(ENDPOINTS).json()["results"] == []
    assert WebhookEndpoint.objects.values().get(pk=theirs.pk) == before
    delivery.refresh_from_db()
    assert delivery.status == "dead"


def test_patch_changes_through_the_service(web_api, make_endpoint):
    endpoint = make_endpoint()

    response = web_api.patch(
        url(endpoint), {"url": "https://new.example.com/h", "description": "v2"}, format="json"
    )

    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.description, endpoint.event_types) == (
        "https://new.example.com/h",
        "v2",
        ["stock.changed"],
    )
    assert response.json()["secret"] == endpoint.secret


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"url": "javascript:alert(1)"}, "webhook_url_invalid"),
        ({"event_types": ["stock.changed", "nope"]}, "unknown_event_type"),
        ({"url": "https://ok.example.com/", "event_types": []}, "unknown_event_type"),
    ],
)
def test_a_bad_patch_changes_nothing(web_api, make_endpoint, payload, code):
    endpoint = make_endpoint()
    before = WebhookEndpoint.objects.values().get(pk=endpoint.pk)

    response = web_api.patch(url(endpoint), payload, format="json")

    assert response.status_code == 400
    assert error_of(response)["code"] == code
    assert WebhookEndpoint.objects.values().get(pk=endpoint.pk) == before


def test_delete_removes_the_endpoint_and_its_log(web_api, make_endpoint, make_delivery):
    endpoint = make_endpoint()
    make_delivery(endpoint)

    response = web_api.delete(url(endpoint))

    assert response.status_code == 204
    assert not WebhookEndpoint.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert web_api.get(url(endpoint)).status_code == 404


def test_rotate_gives_a_new_secret_once_per_idempotency_key(web_api, make_endpoint):
    endpoint = make_endpoint()
    old = endpoint.secret

    first = web_api.post(url(endpoint, "rotate-secret"), HTTP_IDEMPOTENCY_KEY="rot-1")
    retried = web_api.post(url(endpoint, "rotate-secret"), HTTP_IDEMPOTENCY_KEY="rot-1")

    endpoint.refresh_from_db()
    assert first.status_code == retried.status_code == 200
    assert first.json()["secret"] == retried.json()["secret"] == endpoint.secret != old
    assert retried["Idempotent-Replayed"] == "true"


def test_disable_keeps_the_reason_and_enable_clears_it(web_api, make_endpoint):
    endpoint = make_endpoint(consecutive_failures=3)

    disabled = web_api.post(url(endpoint, "disable"), {"reason": "maintenance"}, format="json")
    by_default = web_api.post(url(endpoint, "disable"))
    enabled = web_api.post(url(endpoint, "enable"))

    assert (disabled.json()["is_active"], disabled.json()["disabled_reason"]) == (
        False,
        "maintenance",
    )
    assert by_default.json()["disabled_reason"] == "Disabled through the API by channel:web."
    body = enabled.json()
    assert (body["is_active"], body["disabled_reason"], body["disabled_at"]) == (True, "", None)
    assert body["consecutive_failures"] == 0


def test_the_delivery_log_pages_newest_first_and_filters_by_status(
    web_api, make_endpoint, make_delivery
):
    endpoint = make_endpoint()
    dead = make_delivery(endpoint, status="dead", variant_id=1)
    delivered = [make_delivery(endpoint, status="delivered", variant_id=n) for n in (2, 3, 4)]

    first = web_api.get(url(endpoint, "deliveries"), {"page_size": 2}).json()
    second = web_api.get(first["next"]).json()
    only_dead = web_api.get(url(endpoint, "deliveries"), {"status": "dead"}).json()
    bad = web_api.get(url(endpoint, "deliveries"), {"status": "lost"})

    assert [d["id"] for d in first["results"] + second["results"]] == [
        delivered[2].pk,
        delivered[1].pk,
        delivered[0].pk,
        dead.pk,
    ]
    assert [(d["id"], d["status"], d["key"]) for d in only_dead["results"]] == [
        (dead.pk, "dead", "variant:1")
    ]
    assert only_dead["results"][0]["payload"]["variant_id"] == 1
    assert bad.status_code == 400
    assert error_of(bad)["code"] == "invalid"
    assert list(error_of(bad)["details"]) == ["status"]


def test_redeliver_a_dead_delivery_and_refuse_a_waiting_one(web_api, make_endpoint, make_delivery):
    endpoint = make_endpoint()
    dead = make_delivery(endpoint, status="dead", variant_id=1)
    waiting = make_delivery(endpoint, status="pending", variant_id=2)

    sent = web_api.post(f"/api/v1/webhooks/deliveries/{dead.pk}/redeliver/")
    refused = web_api.post(f"/api/v1/webhooks/deliveries/{waiting.pk}/redeliver/")

    assert sent.status_code == 200
    assert (sent.json()["status"], sent.json()["attempts"]) == ("pending", 1)
    assert sent.json()["event_id"] == str(dead.event_id)
    assert refused.status_code == 409
    assert error_of(refused)["code"] == "invalid_transition"
    waiting.refresh_from_db()
    assert (waiting.status, waiting.attempts) == ("pending", 1)


def test_the_event_types_are_listed(web_api):
    response = web_api.get("/api/v1/webhooks/event-types/")

    assert response.status_code == 200
    assert [t["name"] for t in response.json()] == ["stock.changed"]


def test_staff_need_the_webhooks_permissions(staff_api, make_endpoint, make_delivery):
    endpoint = make_endpoint()
    delivery = make_delivery(endpoint)
    nobody = staff_api()
    reader = staff_api("webhooks.view_webhookendpoint")

    assert nobody.get(ENDPOINTS).status_code == 403
    assert error_of(nobody.get(url(endpoint)))["code"] == "permission_denied"
    assert reader.get(url(endpoint)).json()["secret"] is None  # may read, not change
    assert reader.get(ENDPOINTS).status_code == 200
    refused = [
        reader.post(ENDPOINTS, {"channel": "web", "url": "https://a.example.com/"}),
        reader.patch(url(endpoint), {"description": "x"}, format="json"),
        reader.delete(url(endpoint)),
        reader.post(url(endpoint, "rotate-secret")),
        reader.get(url(endpoint, "deliveries")),
        reader.post(f"/api/v1/webhooks/deliveries/{delivery.pk}/redeliver/"),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert WebhookEndpoint.objects.get().description == ""


def test_staff_see_every_channels_endpoints_and_filter_by_channel(admin_api, shop, make_endpoint):
    web = make_endpoint()
    store = make_endpoint(channel=shop.store_channel)

    everything = admin_api.get(ENDPOINTS).json()["results"]
    only_store = admin_api.get(ENDPOINTS, {"channel": "store-paris"}).json()["results"]

    assert [e["id"] for e in everything] == [web.pk, store.pk]
    assert [e["id"] for e in only_store] == [store.pk]
    assert admin_api.get(url(store)).json()["secret"] == store.secret


def test_calls_without_a_key_are_refused(client, db):
    response = client.get(ENDPOINTS)

    assert response.status_code in (401, 403)
    assert error_of(response)["code"] == "not_authenticated"


def test_the_schema_documents_every_webhook_operation_and_its_errors(db):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = {p: v for p, v in schema["paths"].items() if p.startswith("/api/v1/webhooks/")}

    documented = {
        (path, method): sorted(operation["responses"])
        for path, operations in paths.items()
        for method, operation in operations.items()
    }
    base = "/api/v1/webhooks/endpoints/"
    retried = ["200", "400", "401", "403", "404", "422"]
    assert (
        documented
        == {
            (base, "get"): ["200", "400", "401", "403"],
            (base, "post"): ["201", "400", "401", "403", "415", "422"],
            (base + "{id}/", "get"): ["200", "400", "401", "403", "404"],
            (base + "{id}/", "patch"): ["200", "400", "401", "403", "404", "415"],
            (base + "{id}/", "delete"): ["204", "400", "401", "403", "404"],
            (base + "{id}/rotate-secret/", "post"): retried,
            (base + "{id}/enable/", "post"): retried,
            (base + "{id}/disable/", "post"): [*retried[:5], "415", "422"],  # takes a reason
            (base + "{id}/deliveries/", "get"): ["200", "400", "401", "403", "404"],
            ("/api/v1/webhooks/deliveries/{id}/redeliver/", "post"): [*retried[:5], "409", "422"],
            ("/api/v1/webhooks/event-types/", "get"): ["200", "400", "401", "403"],
        }
    )
    error = paths[base]["post"]["responses"]["400"]
    assert error["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    created = paths[base]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert created == {"$ref": "#/components/schemas/EndpointWithSecret"}
    statuses = next(
        p for p in paths[base + "{id}/deliveries/"]["get"]["parameters"] if p["name"] == "status"
    )
    assert "dead" in statuses["schema"]["enum"]


def test_lists_take_the_same_queries_for_one_row_or_many(web_api, make_endpoint, make_delivery):
    first = make_endpoint()
    make_delivery(first)

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert web_api.get(path).status_code == 200
        return len(captured)

    queries(ENDPOINTS)  # the key's use is recorded once a minute: not part of the list
    one = (queries(ENDPOINTS), queries(url(first, "deliveries")))
    for n in range(2, 6):
        make_endpoint(url=f"https://hooks{n}.example.com/")
        make_delivery(first, variant_id=n)

    assert (queries(ENDPOINTS), queries(url(first, "deliveries"))) == one


def test_one_endpoint_more_than_the_channels_cap_is_refused_and_creates_nothing(
    web_api, shop, make_endpoint, settings
):
    settings.WEBHOOK_MAX_ENDPOINTS_PER_CHANNEL = 2
    make_endpoint(url="https://one.example.com/")
    make_endpoint(url="https://two.example.com/")
    make_endpoint(channel=shop.store_channel)  # another channel's count apart

    response = web_api.post(
        ENDPOINTS,
        {"url": "https://three.example.com/", "event_types": ["stock.changed"]},
        format="json",
    )

    assert response.status_code == 400
    assert error_of(response) == {
        "code": "webhook_endpoint_limit",
        "message": "A channel can have at most 2 webhook endpoints; delete one first.",
        "details": {"limit": 2},
    }
    assert WebhookEndpoint.objects.filter(channel=shop.web).count() == 2
    assert not WebhookEndpoint.objects.filter(url="https://three.example.com/").exists()
