"""Benchmarks run the production code path (DEBUG off, persistent connections) over
plain HTTP on 127.0.0.1, plus one extra URL: the same-machine ceiling view."""

from unicommerce.env import env_str
from unicommerce.settings.base import *  # noqa: F403

SECRET_KEY = env_str("DJANGO_SECRET_KEY", default="benchmark-only-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.urls"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
