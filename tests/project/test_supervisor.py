"""`make run`'s supervisor starts a process that died again, and gives up on one that
keeps dying."""

import sys
import threading
import time

from unicommerce.devstack import Supervisor


def test_a_process_that_dies_once_is_started_again(tmp_path):
    marker = tmp_path / "started"
    script = (
        "import pathlib, sys, time\n"
        f"m = pathlib.Path({str(marker)!r})\n"
        "n = int(m.read_text()) if m.exists() else 0\n"
        "m.write_text(str(n + 1))\n"
        "sys.exit(1) if n == 0 else time.sleep(30)\n"
    )
    supervisor = Supervisor()
    supervisor.start("worker", [sys.executable, "-c", script])
    threading.Timer(3.0, lambda: setattr(supervisor, "stopping", True)).start()

    assert supervisor.wait() == 0

    assert marker.read_text() == "2"
    [(name, process)] = supervisor.children
    assert name == "worker"
    assert process.poll() is None  # the second one is still running
    supervisor.stop()


def test_a_process_that_keeps_dying_stops_everything():
    supervisor = Supervisor()
    supervisor.start("worker", [sys.executable, "-c", "raise SystemExit(3)"])
    began = time.monotonic()

    assert supervisor.wait() == 3

    assert len(supervisor.restarts["worker"]) == Supervisor.RESTART_LIMIT + 1
    assert time.monotonic() - began < 30
