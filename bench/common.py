"""What every benchmark shares: the stack it runs on, a load generator, and the result
format of ../shared/BENCHMARKS.md (one JSON object, last line, also in bench/results/)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import re
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))


@contextlib.contextmanager
def stack() -> Iterator[dict]:
    """The embedded PostgreSQL + Redis of `make bench`, unless DATABASE_URL / REDIS_URL
    are set; the bench database migrated."""
    from unicommerce.devstack import manage
    from unicommerce.devstack_services import services

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        env = {"DATABASE_URL": os.environ["DATABASE_URL"], "REDIS_URL": os.environ["REDIS_URL"]}
        manage("migrate", "--noinput", "-v", "0")
        yield env
        return
    with services("bench", durable=True, database="unicommerce_bench") as env:
        manage("migrate", "--noinput", "-v", "0")
        yield env


def django_setup() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()


def postgres_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def _meets(value: float | None, target: str) -> bool:
    if value is None:  # not measured: a target is never met by default
        return False
    operator, threshold = target.split()
    return value >= float(threshold) if operator == ">=" else value <= float(threshold)


def report(name: str, *, workload: dict, figures: dict, targets: dict, started_at: str) -> dict:
    """Print the result as the last line and save it under bench/results/<name>.json."""
    result = {
        "name": name,
        "started_at": started_at,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "postgres": postgres_version(),
        },
        "workload": workload,
        "figures": figures,
        "targets": targets,
        "met": all(_meets(figures[key], target) for key, target in targets.items()),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result), flush=True)
    return result


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def relay_warm() -> None:
    """This process's broker connection and outbox relay thread, ready before the gun
    (the relay's first use imports kombu's Redis transport: not to be paid inside the
    measure)."""
    from unicommerce.celery import app
    from unicommerce.events.relay import relay

    app.producer_pool.acquire(block=True).release()
    relay.submit("00000000-0000-0000-0000-000000000000")  # a no-op id for the worker
    relay.flush()


# --------------------------------------------------------------------------- generated data


def stock_opening_movements(cursor, location_ids: list[int]) -> None:
    """The ledger rows of stock levels generated in SQL: one receipt per level above 0 at
    these locations (the ledger and the levels agree, as the services keep them)."""
    cursor.execute(
        """
        INSERT INTO inventory_stockmovement (variant_id, location_id, quantity,
                                             on_hand_after, reason, note, created_at,
                                             source_id)
        SELECT variant_id, location_id, on_hand, on_hand, 'receipt', 'bench opening stock',
               now(), ''
          FROM inventory_stocklevel WHERE on_hand > 0 AND location_id = ANY(%s)
        """,
        [location_ids],
    )


def vacuum_analyze() -> None:
    """Fresh statistics (and visibility maps) after a bulk load, before measuring."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


# --------------------------------------------------------------------------- web server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(*, workers: int | None = None) -> Iterator[str]:
    """The project's gunicorn (its own config: sync workers, persistent DB connections).

    PostgreSQL, Redis and the load generator share this machine's cores with the web
    server, so it runs cores + 1 sync workers (not gunicorn's 2 × cores + 1, which is
    for a web host of its own): more workers only queue on the same cores and lengthen
    the tail. WEB_CONCURRENCY overrides it.
    """
    port = free_port()
    env = {**os.environ, "GUNICORN_ACCESS_LOG": "", "DJANGO_SETTINGS_MODULE": "bench.settings"}
    env.setdefault("WEB_CONCURRENCY", str(workers or (os.cpu_count() or 1) + 1))
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "unicommerce.wsgi:application",
            "--config",
            str(ROOT / "unicommerce" / "gunicorn_conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("gunicorn did not start")
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)


# --------------------------------------------------------------------------- load generator


async def _client(
    host: str,
    port: int,
    paths: list[str],
    headers: str,
    stop_at: float,
    latencies: list[float],
    errors: list[str],
    offset: int,
) -> None:
    reader = writer = None
    index = offset
    while time.monotonic() < stop_at:
        if writer is None:
            reader, writer = await asyncio.open_connection(host, port)
        path = paths[index % len(paths)]
        index += 1
        request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n".encode()
        started = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        if status != 200:
            errors.append(str(status))
        if re.search(rb"(?i)connection:\s*close", head):
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


def load(
    address: str,
    paths: list[str],
    *,
    concurrency: int,
    seconds: float,
    warmup: float = 2.0,
    headers: dict[str, str] | None = None,
) -> dict:
    """Keep ``concurrency`` connections busy for ``seconds`` after a warm-up; report
    requests/s, latency percentiles, and the CPU the generator itself used."""
    host, port = address.split(":")
    header_text = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())

    async def run(duration: float) -> tuple[list[float], list[str]]:
        latencies: list[float] = []
        errors: list[str] = []
        stop_at = time.monotonic() + duration
        await asyncio.gather(
            *(
                _client(host, int(port), paths, header_text, stop_at, latencies, errors, i * 7)
                for i in range(concurrency)
            )
        )
        return latencies, errors

    asyncio.run(run(warmup))
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    latencies, errors = asyncio.run(run(seconds))
    elapsed = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "load_generator_cores": round(cpu / elapsed, 2),
    }
