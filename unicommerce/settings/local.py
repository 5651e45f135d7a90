"""`make run`: a developer's machine, embedded or local services, DEBUG off by default so
the pages look as in production (set DJANGO_DEBUG=true to see tracebacks)."""

from unicommerce.env import env_bool, env_str
from unicommerce.settings.base import *  # noqa: F403

SECRET_KEY = env_str("DJANGO_SECRET_KEY", default="local-development-only-not-secret")
WHITENOISE_AUTOREFRESH = True
# Product images under MEDIA_URL, answered by Django on a developer's machine.
SERVE_MEDIA = env_bool("SERVE_MEDIA", default=True)
# The webhook receivers a developer tries out run on this machine.
WEBHOOK_ALLOW_PRIVATE_HOSTS = env_bool("WEBHOOK_ALLOW_PRIVATE_HOSTS", default=True)
# The simulated gateway's webhooks on a developer's machine (production has no default).
PAYMENT_SIMULATED_WEBHOOK_SECRET = env_str(
    "PAYMENT_SIMULATED_WEBHOOK_SECRET", default="whsec_simulated_development_only"
)
