"""The after-commit fast path of the outbox.

A commit only drops the new event ids into a queue in memory; a small thread of the
process hands them to Celery in batches (one message for every event committed since
the last send). The request never waits for the broker, and under load the cost of a
Celery message is shared by many events. If the broker is down, or the process dies
before the thread sends, the events are still in the outbox: the periodic sweep sends
them.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time

logger = logging.getLogger(__name__)

MAX_BATCH = 500
LINGER = 0.025  # seconds to gather the commits that follow the first one into one message


class Relay:
    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._in_flight = 0

    def submit(self, event_id: object) -> None:
        self._ensure_thread()
        with self._lock:
            self._in_flight += 1
        self._queue.put(str(event_id))

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything submitted has been handed over (tests, process exit)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._in_flight == 0:
                    return True
            time.sleep(0.005)
        return False

    def _ensure_thread(self) -> None:
        # A forked child (gunicorn or Celery worker) must start its own thread.
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._pid != os.getpid():
                self._queue = queue.SimpleQueue()
                self._in_flight = 0
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        # The project's Celery app, set as the default of every thread by
        # unicommerce.celery (imported first by the package): the kernel does not import
        # the project's wiring.
        from celery import current_app as app

        producer = None
        while True:
            batch = [self._queue.get()]
            deadline = time.monotonic() + LINGER
            while len(batch) < MAX_BATCH:
                remaining = deadline - time.monotonic()
                try:
                    batch.append(
                        self._queue.get(timeout=max(remaining, 0))
                        if remaining > 0
                        else self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
            try:
                if producer is None:  # one connection kept for the thread's life
                    producer = app.producer_pool.acquire(block=True)
                send(batch, producer=producer)
            except Exception:  # the broker is unreachable: the sweep will catch up
                logger.warning("outbox relay of %d events failed; the sweep will retry", len(batch))
                if producer is not None:
                    producer.release()
                    producer = None
            finally:
                with self._lock:
                    self._in_flight -= len(batch)


def send(event_ids: list[str], producer=None) -> None:
    from unicommerce.events.tasks import event_dispatch

    event_dispatch.apply_async(args=[event_ids], retry=False, producer=producer)


relay = Relay()
atexit.register(relay.flush, 1.0)
