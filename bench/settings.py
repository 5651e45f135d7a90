"""Benchmarks run the production code path (DEBUG off, persistent connections) over
plain HTTP on 127.0.0.1, plus one extra URL: the same-machine ceiling view."""

from unicommerce.env import env_str
from unicommerce.settings.base import *  # noqa: F403

SECRET_KEY = env_str("DJANGO_SECRET_KEY", default="benchmark-only-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.urls"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
# The simulated gateway's webhooks are signed with a secret from the environment; the
# payment-confirmation benchmark posts them as a provider would.
PAYMENT_SIMULATED_WEBHOOK_SECRET = env_str(
    "PAYMENT_SIMULATED_WEBHOOK_SECRET", default="whsec_simulated_benchmark_only"
)
# The benchmarks run with every abuse limit on, as shipped, except the ones a load test
# from one machine trips by construction: one sending channel sends the payment-link
# benchmark's hundreds of SMS, and the one-address load generator stands for many buyers
# (RATE_LIMITS in the README's table says so).
RATE_LIMITS = {**RATE_LIMITS, "sms_per_channel": "", "sms_per_number": ""}  # noqa: F405
