"""Gunicorn's access log never holds a secret of a URL: the token of a payment link
(``/pay/<token>/``) or of a cart (``/api/v1/carts/<token>/…``) is masked, in the request
line, the path, the referer and the query string. Lines are formatted through the real
gunicorn logger class the configuration names, with the configured format."""

from __future__ import annotations

import datetime
import importlib
import logging
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

TOKEN = "Zx9-k_Lq2Wm8Pn4Rt6Yv1Bc3"


@pytest.fixture
def access_log():
    """(logger, records): the configured logger class, set up from gunicorn_conf, with
    its access log captured."""
    conf = importlib.import_module("unicommerce.gunicorn_conf")
    cfg = Config()
    for name in ("logger_class", "access_log_format"):
        if hasattr(conf, name):
            cfg.set(name, getattr(conf, name))
    cfg.set("accesslog", "-")
    logger = cfg.logger_class(cfg)
    records: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    logger.access_log.handlers = [Capture()]
    return logger, records


def _line(access_log, path: str, *, query: str = "", referer: str = "-") -> str:
    logger, records = access_log
    raw_uri = path + (f"?{query}" if query else "")
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": raw_uri,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_REFERER": referer,
        "HTTP_USER_AGENT": "Mobile Safari",
    }
    request = SimpleNamespace(headers=[("REFERER", referer), ("USER-AGENT", "Mobile Safari")])
    response = SimpleNamespace(status="200 OK", sent=512, headers=[])
    logger.access(response, request, environ, datetime.timedelta(milliseconds=12))
    return records[-1]


@pytest.mark.parametrize(
    ("path", "masked"),
    [
        (f"/pay/{TOKEN}/", "/pay/***/"),
        (f"/pay/{TOKEN}/status/", "/pay/***/status/"),
        (f"/api/v1/carts/{TOKEN}/", "/api/v1/carts/***/"),
        (f"/api/v1/carts/{TOKEN}/lines/", "/api/v1/carts/***/lines/"),
        (f"/api/v1/carts/{TOKEN}/checkout/", "/api/v1/carts/***/checkout/"),
    ],
)
def test_a_token_in_the_path_is_masked(access_log, path, masked):
    line = _line(access_log, path)

    assert TOKEN not in line
    assert f'"GET {masked} HTTP/1.1" 200 512' in line
    assert "203.0.113.9" in line


def test_a_token_in_the_referer_or_the_query_is_masked(access_log):
    line = _line(
        access_log,
        "/static/pay.css",
        query=f"token={TOKEN}&cart={TOKEN}&lang=fr",
        referer=f"https://shop.example.com/pay/{TOKEN}/",
    )

    assert TOKEN not in line
    assert "lang=fr" in line
    assert "https://shop.example.com/pay/***/" in line


def test_other_paths_are_logged_as_they_are(access_log):
    line = _line(access_log, "/api/v1/carts/", query="page=2")

    assert '"GET /api/v1/carts/?page=2 HTTP/1.1" 200' in line
    assert "/api/v1/orders/R-1/" in _line(access_log, "/api/v1/orders/R-1/")


def test_djangos_own_request_log_masks_tokens_too():
    import logging

    from unicommerce.logsafe import SecretMaskingFilter

    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Not Found: %s", ("/pay/abcDEF123/",), None
    )
    SecretMaskingFilter().filter(record)

    assert record.getMessage() == "Not Found: /pay/***/"
