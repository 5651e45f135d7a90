"""No Docker engine runs here, so the compose file is checked for structure, and every
service's command is checked to name a real entry point of this project."""

import importlib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_production_like_set_is_complete():
    services = compose()["services"]

    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    for name in ("web", "worker", "beat", "migrate"):
        assert services[name]["build"] == "."
        assert services[name]["image"] == "unicommerce:latest"  # one image for all
        assert services[name]["env_file"] == ".env"
    for name in ("postgres", "redis", "web", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")


def test_every_variable_the_app_needs_is_in_the_env_example():
    example = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert {"DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"} <= set(
        example
    )


def _entry_point(command: list[str]) -> None:
    program, *args = command
    if program == "gunicorn":
        module, attribute = args[0].split(":")
        assert callable(getattr(importlib.import_module(module), attribute))
        config = args[args.index("--config") + 1]
        assert (ROOT / config).is_file()
    elif program == "celery":
        assert args[0] == "-A"
        app = importlib.import_module(f"{args[1]}.celery").app
        assert args[2] in {"worker", "beat"}
        assert app.main == "unicommerce"
    elif program == "python":
        assert args[0] == "manage.py"
        from django.core.management import get_commands

        assert args[1] in get_commands()
    else:
        raise AssertionError(f"unknown entry point {program}")


def test_every_service_command_names_a_real_entry_point():
    services = compose()["services"]
    commands = {
        name: service["command"]
        for name, service in services.items()
        if service.get("build") == "."
    }

    assert set(commands) == {"web", "worker", "worker-outbound", "beat", "migrate"}
    for command in commands.values():
        _entry_point(command)


def test_the_workers_together_consume_every_queue_the_tasks_are_routed_to():
    from django.conf import settings

    services = compose()["services"]
    consumed = set()
    for name in ("worker", "worker-outbound"):
        [queues] = [arg for arg in services[name]["command"] if arg.startswith("--queues=")]
        consumed |= set(queues.removeprefix("--queues=").split(","))

    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert consumed == routed | {settings.CELERY_TASK_DEFAULT_QUEUE}
    assert consumed == set(settings.CELERY_WORKER_QUEUES.split(","))


def test_make_run_starts_workers_for_every_queue_too():
    from django.conf import settings

    from unicommerce.devstack import CELERY_WORKERS

    consumed = {
        queue
        for arguments in CELERY_WORKERS.values()
        for queue in arguments[arguments.index("-Q") + 1].split(",")
    }
    assert consumed == set(settings.CELERY_WORKER_QUEUES.split(","))


def test_the_dockerfile_default_command_is_the_web_entry_point():
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd_line = next(line for line in dockerfile.splitlines() if line.startswith("CMD "))
    command = yaml.safe_load(cmd_line.removeprefix("CMD "))

    assert command == [*compose()["services"]["web"]["command"][:4], "--bind", "0.0.0.0:8000"]
    _entry_point(command)
    assert "uv sync --frozen --no-dev" in dockerfile
