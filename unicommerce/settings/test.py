"""The test suite: real PostgreSQL and Redis (from the environment, set by the dev stack),
each pytest-xdist worker on its own Redis database so their Celery queues never mix."""

import os

from unicommerce.settings.base import *  # noqa: F403
from unicommerce.settings.base import CACHES, CELERY_BROKER_TRANSPORT_OPTIONS, REDIS_URL

SECRET_KEY = "test-only-not-secret"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Uploaded files in memory (per process): a test never writes into the repository.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
SERVE_MEDIA = True  # through the storage, so a browser test sees the pictures
WHITENOISE_AUTOREFRESH = True

_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
# Redis database = the one in REDIS_URL + 1 + the xdist worker number, so test runs
# sharing one Redis server (say REDIS_URL=…/10 and …/20) keep apart.
_base, _, _db = REDIS_URL.rpartition("/")
_redis_db = (int(_db) if _db.isdigit() else 0) + 1 + int("".join(filter(str.isdigit, _worker)) or 0)
REDIS_URL = f"{_base}/{_redis_db}"
CACHES = {"default": {**CACHES["default"], "LOCATION": REDIS_URL, "KEY_PREFIX": f"uc-{_worker}"}}
CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "visibility_timeout": 60}
OUTBOX_SWEEP_AFTER_SECONDS = 1
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405 - threads in tests open their own
LANGUAGE_CODE = "en"
# Receivers in tests listen on 127.0.0.1; retries are quick so a test waits seconds.
WEBHOOK_ALLOW_PRIVATE_HOSTS = True
WEBHOOK_RETRY_BASE_SECONDS = 0.2
WEBHOOK_CLAIM_TIMEOUT_SECONDS = 3.0
WEBHOOK_TIMEOUT_SECONDS = 2.0
WEBHOOK_DELIVERY_DEADLINE_SECONDS = 2.5  # below the claim timeout above
# Messages are kept in memory (unicommerce.messaging.backends.outbox); retries are quick.
SMS_BACKEND = "unicommerce.messaging.backends.LocmemBackend"
CUSTOMER_EMAIL_BACKEND = "unicommerce.messaging.backends.LocmemBackend"
MESSAGING_RETRY_BASE = 0.2
MESSAGING_CLAIM_TIMEOUT_SECONDS = 3.0
MESSAGING_SWEEP_AFTER_SECONDS = 1.0
# The simulated gateway's webhooks (the one remote gateway of the tests).
PAYMENT_SIMULATED_WEBHOOK_SECRET = "whsec_simulated_tests_only"  # noqa: S105
# Each test starts with the permission memory cleared (tests/conftest.py); within a test
# it holds, so a query count never depends on how slow the machine is.
ACCESS_PERMISSION_CACHE_SECONDS = 300
# Cart reads price with the promotions as they are now: a test that changes one and reads
# again sees it (tests/orders/test_discounted_orders.py checks the memory on its own).
PRICING_OFFERS_CACHE_SECONDS = 0
# The test database is built by migrate: no software_version event in it (tests call it).
POS_JOURNAL_SOFTWARE_VERSION = False
