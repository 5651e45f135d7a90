"""`make run` and the benchmarks start gunicorn: it must leave nothing outside the clone
(gunicorn 25 creates a control socket in $HOME/.gunicorn by default)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_gunicorn_writes_nothing_in_the_home_directory(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env.update(HOME=str(home), GUNICORN_BIND="127.0.0.1:0", WEB_CONCURRENCY="1")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            *["--config", str(ROOT / "unicommerce" / "gunicorn_conf.py")],
            "unicommerce.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        log = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            log.append(line)
            if "Booting worker" in line or not line:
                break
        assert any("Booting worker" in line for line in log), "".join(log)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert list(home.iterdir()) == []
