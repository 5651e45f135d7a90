import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from unicommerce.devstack_services import check_database, check_redis
from unicommerce.env import env_bool, parse_database_url, redact_url

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # The browser tests' async-safety switch must not leak into a deployment check.
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_database_url_becomes_django_settings():
    settings = parse_database_url("postgres://shop:s%40cret@db.internal:6432/uc?sslmode=require")

    assert settings == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "uc",
        "USER": "shop",
        "PASSWORD": "s@cret",
        "HOST": "db.internal",
        "PORT": "6432",
        "OPTIONS": {"sslmode": "require"},
    }


def test_a_unix_socket_directory_can_be_given_as_host():
    assert parse_database_url("postgresql://postgres@/uc?host=/run/pg")["HOST"] == "/run/pg"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/uc", "must be a PostgreSQL URL"),
        ("postgresql://localhost", "no database name"),
        ("postgresql://localhost:notaport/uc", "invalid port"),
    ],
)
def test_a_wrong_database_url_is_named_clearly(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        parse_database_url(url)


def test_passwords_are_hidden_in_messages():
    assert redact_url("postgresql://u:hunter2@h/db") == "postgresql://u:***@h/db"


def test_booleans_are_strict(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match=r"FLAG='maybe' is not a boolean"):
        env_bool("FLAG")


def test_an_unreachable_database_stops_the_commands_with_a_clear_message():
    with pytest.raises(SystemExit) as stopped:
        check_database("postgresql://nobody:secret@127.0.0.1:1/unicommerce")

    message = str(stopped.value)
    assert "cannot use DATABASE_URL=postgresql://nobody:***@127.0.0.1:1/unicommerce" in message
    assert "secret" not in message
    assert "unset it to use the embedded PostgreSQL" in message


def test_an_unreachable_redis_stops_the_commands_with_a_clear_message():
    with pytest.raises(SystemExit, match=r"cannot use REDIS_URL=redis://127\.0\.0\.1:1/0"):
        check_redis("redis://127.0.0.1:1/0")


def test_manage_py_with_a_wrong_database_url_says_so_and_exits_non_zero():
    result = run_manage("check", DATABASE_URL="mysql://root@localhost/uc")

    assert result.returncode != 0
    assert "DATABASE_URL must be a PostgreSQL URL" in result.stderr


def test_manage_py_without_database_url_names_the_variable():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode != 0
    assert "Set the DATABASE_URL environment variable." in result.stderr


PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "unicommerce.settings.production",
    "DJANGO_SECRET_KEY": "a-long-random-production-secret-with-enough-entropy-0123456789",
    "DJANGO_ALLOWED_HOSTS": "shop.example.com",
    "PUBLIC_BASE_URL": "https://shop.example.com",
    "PAYMENT_GATEWAY": "stripe",
    "STRIPE_SECRET_KEY": "sk_live_not_a_real_key",
    "STRIPE_WEBHOOK_SECRET": "whsec_not_a_real_secret",
    # Real message backends: check --deploy refuses the console, file and locmem ones.
    "SMS_BACKEND": "unicommerce.messaging.providers.twilio.TwilioBackend",
    "CUSTOMER_EMAIL_BACKEND": "unicommerce.messaging.backends.DjangoMailBackend",
}


def test_production_settings_pass_check_deploy():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_the_simulated_gateway_unless_a_demo_and_stripe_without_keys():
    simulated_env = {
        **PRODUCTION_ENV,
        "PAYMENT_GATEWAY": "simulated",
        "PAYMENT_SIMULATED_WEBHOOK_SECRET": "whsec_demo_not_a_real_secret",
    }
    simulated = run_manage("check", "--deploy", **simulated_env)
    assert simulated.returncode != 0
    assert "payments.E002" in simulated.stdout + simulated.stderr

    demo = run_manage("check", "--deploy", **simulated_env, DJANGO_ALLOW_DEMO_SERVICES="true")
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "payments." not in demo.stdout + demo.stderr

    # Production settings have no simulated webhook secret of their own.
    unset = ("DJANGO_ALLOW_ASYNC_UNSAFE", "PAYMENT_SIMULATED_WEBHOOK_SECRET")
    secretless = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k not in unset},
            **{k: v for k, v in simulated_env.items() if k not in unset},
            "DJANGO_ALLOW_DEMO_SERVICES": "true",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert secretless.returncode != 0
    assert "payments.E003" in secretless.stdout + secretless.stderr

    keyless = run_manage("check", "--deploy", **{**PRODUCTION_ENV, "STRIPE_SECRET_KEY": ""})
    assert keyless.returncode != 0
    assert "payments.E001" in keyless.stdout + keyless.stderr


@pytest.mark.parametrize(
    "missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "PUBLIC_BASE_URL"]
)
def test_production_secrets_have_no_default(missing):
    env = {**os.environ, **PRODUCTION_ENV}
    del env[missing]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode != 0
    assert f"Set the {missing} environment variable." in result.stderr


def _public_base_url(**env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k not in ("PUBLIC_BASE_URL", "PORT")}
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.PUBLIC_BASE_URL)"],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "unicommerce.settings.local", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_payment_links_point_at_the_port_the_server_runs_on():
    # The SMS sent from `PORT=8042 make run` must open the page served on 8042.
    assert _public_base_url() == "http://127.0.0.1:8000"
    assert _public_base_url(PORT="8042") == "http://127.0.0.1:8042"
    assert _public_base_url(PORT="8042", PUBLIC_BASE_URL="https://shop.example/") == (
        "https://shop.example"
    )


def test_migrations_match_the_models():
    result = run_manage("makemigrations", "--check", "--dry-run")

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compiled_french_catalogue_matches_its_source():
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    folder = ROOT / "locale" / "fr" / "LC_MESSAGES"
    with (folder / "django.po").open("rb") as po, (folder / "django.mo").open("rb") as mo:
        source, compiled = read_po(po), read_mo(mo)

    def strings(catalog):
        def key(value):
            return tuple(value) if isinstance(value, (list, tuple)) else value

        def ident(message):
            # By context and id: a short word may have one translation per context
            # (Babel reads a .mo file's contexts as bytes).
            context = message.context
            if isinstance(context, bytes):
                context = context.decode()
            return context, key(message.id)

        return {ident(m): key(m.string) for m in catalog if m.id and m.string}

    assert strings(source) == strings(compiled), "run `make messages`"
    assert all(m.string for m in source if m.id), "every message has a French translation"
