"""`manage.py check --deploy` refuses a production site whose customer messages go
through a development backend (the console prints codes and payment links into the
logs), unless ALLOW_DEMO_SERVICES says the deployment is a demo on purpose."""

from __future__ import annotations

import pytest

from tests.project.test_settings import PRODUCTION_ENV, run_manage
from unicommerce.messaging.checks import messaging_backends_check

CONSOLE = "unicommerce.messaging.backends.ConsoleBackend"
TWILIO = "unicommerce.messaging.providers.twilio.TwilioBackend"
MAIL = "unicommerce.messaging.backends.DjangoMailBackend"


@pytest.mark.parametrize(
    "backend",
    [
        CONSOLE,
        "unicommerce.messaging.backends.FileBackend",
        "unicommerce.messaging.backends.LocmemBackend",
    ],
)
@pytest.mark.parametrize(
    ("setting", "check_id"),
    [("SMS_BACKEND", "messaging.E001"), ("CUSTOMER_EMAIL_BACKEND", "messaging.E002")],
)
def test_a_development_backend_is_an_error(settings, backend, setting, check_id):
    settings.ALLOW_DEMO_SERVICES = False
    settings.SMS_BACKEND, settings.CUSTOMER_EMAIL_BACKEND = TWILIO, MAIL
    setattr(settings, setting, backend)

    [error] = messaging_backends_check()

    assert (error.id, error.level) == (check_id, 40)
    assert backend in error.msg


def test_real_backends_pass(settings):
    settings.ALLOW_DEMO_SERVICES = False
    settings.SMS_BACKEND, settings.CUSTOMER_EMAIL_BACKEND = TWILIO, MAIL

    assert messaging_backends_check() == []


def test_a_backend_that_cannot_be_imported_is_an_error(settings):
    settings.ALLOW_DEMO_SERVICES = False
    settings.SMS_BACKEND, settings.CUSTOMER_EMAIL_BACKEND = "nowhere.Backend", MAIL

    assert [error.id for error in messaging_backends_check()] == ["messaging.E001"]


def test_a_demo_may_keep_the_console(settings):
    settings.ALLOW_DEMO_SERVICES = True
    settings.SMS_BACKEND = settings.CUSTOMER_EMAIL_BACKEND = CONSOLE

    assert messaging_backends_check() == []


def test_check_deploy_with_production_settings_refuses_the_console_sms():
    console = run_manage("check", "--deploy", **{**PRODUCTION_ENV, "SMS_BACKEND": CONSOLE})
    demo = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **{**PRODUCTION_ENV, "SMS_BACKEND": CONSOLE, "DJANGO_ALLOW_DEMO_SERVICES": "true"},
    )

    assert console.returncode != 0
    assert "messaging.E001" in console.stdout + console.stderr
    assert "messaging.E002" not in console.stdout + console.stderr
    assert demo.returncode == 0, demo.stdout + demo.stderr
