"""Deployment checks: a production site must not "send" customer messages through a
development backend. The console prints every sign-in code, pickup code and payment
link into the logs; the file and locmem backends keep them on disk or in memory; and
none of them reaches the customer."""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

from unicommerce.messaging.backends import ConsoleBackend, FileBackend, LocmemBackend

DEVELOPMENT_BACKENDS = (ConsoleBackend, FileBackend, LocmemBackend)
_SETTINGS = (("SMS_BACKEND", "messaging.E001"), ("CUSTOMER_EMAIL_BACKEND", "messaging.E002"))


@checks.register(checks.Tags.security, deploy=True)
def messaging_backends_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """An error per channel whose backend is a development one (or cannot be imported),
    unless ``ALLOW_DEMO_SERVICES`` says this deployment is a demo on purpose."""
    if getattr(settings, "ALLOW_DEMO_SERVICES", False):
        return []
    found = []
    for name, check_id in _SETTINGS:
        path = getattr(settings, name, "")
        try:
            backend = import_string(path)
        except ImportError as error:
            found.append(
                checks.Error(f"{name} = {path!r} cannot be imported: {error}", id=check_id)
            )
            continue
        if isinstance(backend, type) and issubclass(backend, DEVELOPMENT_BACKENDS):
            found.append(
                checks.Error(
                    f"{name} is the development backend {path!r}: messages never reach "
                    "customers, and their codes and payment links end up in logs or files.",
                    hint=(
                        "Set SMS_BACKEND=unicommerce.messaging.providers.twilio.TwilioBackend "
                        "and CUSTOMER_EMAIL_BACKEND=unicommerce.messaging.backends."
                        "DjangoMailBackend (or DJANGO_ALLOW_DEMO_SERVICES=true for a demo)."
                    ),
                    id=check_id,
                )
            )
    return found
