def test_health_reports_database_and_redis(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_health_says_which_service_is_down(client, db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 503
    assert (body["status"], body["database"]) == ("unavailable", "ok")
    assert body["redis"].startswith("error: ConnectionError")
