"""The dev stack's embedded PostgreSQL and Redis start from a clone under a 0700 directory
(a root user's home: `~/unicommerce` in /root), and leave nothing changed outside it.

As root, PostgreSQL runs as the service user (it refuses root), who cannot reach a 0700
directory: the dev stack lends it search access there while the services run, and takes
it back when they stop. Each test uses its own temporary directories and free ports; it
never touches the shared `.devdata/`.
"""

from __future__ import annotations

import errno
import importlib.util
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from unicommerce.devstack_services import (
    SERVICE_USER,
    EmbeddedPostgres,
    EmbeddedRedis,
    ServiceUserAccess,
)

ROOT = Path(__file__).resolve().parents[2]
PGINSTALL = Path(importlib.util.find_spec("pgserver").submodule_search_locations[0]) / "pginstall"


@pytest.fixture
def private_home() -> Iterator[Path]:
    """A 0700 directory straight under /tmp (reachable by everyone), like /root."""
    home = Path(tempfile.mkdtemp(prefix="uc-devstack-home-"))
    os.chmod(home, 0o700)
    yield home
    shutil.rmtree(home, ignore_errors=True)


def _processes_using(path: Path) -> list[int]:
    """Every live process whose command line names ``path``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(path) in cmdline:
            found.append(int(entry.name))
    return found


def _clone(home: Path) -> tuple[Path, Path]:
    """A clone in ``home``: its own PostgreSQL installation (as in its .venv), and data."""
    clone = home / "unicommerce"
    site_packages = clone / ".venv" / "lib" / "site-packages"
    install = site_packages / "pgserver" / "pginstall"
    shutil.copytree(PGINSTALL, install, symlinks=True)
    # The wheel's binaries find their libraries at $ORIGIN/../../../pgserver.libs.
    shutil.copytree(PGINSTALL.parent.parent / "pgserver.libs", site_packages / "pgserver.libs")
    return install, clone / ".devdata" / "test" / "postgres"


def _unchanged(directory: Path, mode: int) -> None:
    assert directory.stat().st_mode == mode
    with pytest.raises(OSError, match="No data available") as no_acl:
        os.getxattr(directory, ServiceUserAccess.ACL)
    assert no_acl.value.errno == errno.ENODATA
    assert os.listxattr(directory) == []


def test_postgres_starts_from_a_clone_under_a_0700_directory(private_home):
    install, data = _clone(private_home)
    mode_before = private_home.stat().st_mode
    postgres = EmbeddedPostgres(data, durable=False, install=install)

    try:
        url = postgres.start("devstack_root")
        with psycopg.connect(url, connect_timeout=10) as connection:
            answer = connection.execute("SELECT 1").fetchone()
    finally:
        postgres.stop()

    assert answer == (1,)
    assert stat.S_IMODE(mode_before) == 0o700
    _unchanged(private_home, mode_before)
    assert postgres.process is not None
    assert postgres.process.poll() is not None
    assert _processes_using(data) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="the service user is only used by root")
def test_as_root_the_server_runs_as_the_service_user_and_the_change_is_said_and_undone(
    private_home, capsys
):
    install, data = _clone(private_home)
    mode_before = private_home.stat().st_mode
    service = pwd.getpwnam(SERVICE_USER)
    postgres = EmbeddedPostgres(data, durable=False, install=install)

    try:
        postgres.start("devstack_root")
        assert postgres.process is not None
        status = Path(f"/proc/{postgres.process.pid}/status").read_text()
        during = private_home.stat().st_mode
    finally:
        postgres.stop()

    fields = dict(line.split(":", 1) for line in status.splitlines())
    assert fields["Uid"].split() == [str(service.pw_uid)] * 4
    assert fields["Gid"].split() == [str(service.pw_gid)] * 4
    assert fields["Groups"].split() == []  # none of root's groups
    assert stat.S_IMODE(during) == 0o710  # the ACL mask: the service user's search only
    output = capsys.readouterr().out
    assert (
        f"{SERVICE_USER} (PostgreSQL) cannot reach {private_home}: added the ACL entry "
        f"user:{SERVICE_USER}:--x there until the services stop (nobody else gains access)"
    ) in output
    assert f"removed the ACL entry for {SERVICE_USER} from {private_home}" in output
    _unchanged(private_home, mode_before)
    assert _processes_using(data) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="the service user is only used by root")
def test_two_stacks_share_the_entry_and_the_last_one_to_stop_takes_it_back(private_home):
    install, data = _clone(private_home)
    mode_before = private_home.stat().st_mode
    first = EmbeddedPostgres(data, durable=False, install=install)
    second = EmbeddedPostgres(data.parent / "postgres-2", durable=False, install=install)

    try:
        first.start("devstack_root")
        url = second.start("devstack_root")
        first.stop()
        # The second server still reaches its binaries and data (a new connection is a
        # new backend process, which loads from the installation).
        with psycopg.connect(url, connect_timeout=10) as connection:
            answer = connection.execute("SELECT count(*) FROM pg_timezone_names").fetchone()
        still_granted = os.getxattr(private_home, ServiceUserAccess.RECORD)
    finally:
        first.stop()
        second.stop()

    assert answer[0] > 0
    assert json.loads(still_granted)["mode"] == 0o700
    _unchanged(private_home, mode_before)
    assert _processes_using(data.parent) == []


def test_redis_starts_from_a_clone_under_a_0700_directory(private_home):
    data = private_home / "unicommerce" / ".devdata" / "test" / "redis"
    mode_before = private_home.stat().st_mode
    server = EmbeddedRedis(data, durable=False)

    try:
        url = server.start()
        answer = redis.Redis.from_url(url, socket_connect_timeout=5).ping()
    finally:
        server.stop()

    assert answer is True
    _unchanged(private_home, mode_before)
    assert server.process is not None
    assert server.process.poll() is not None
    assert _processes_using(data) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="the service user is only used by root")
def test_an_entry_left_by_a_killed_stack_is_taken_back_by_the_next_one(private_home):
    install, data = _clone(private_home)
    mode_before = private_home.stat().st_mode
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from unicommerce.devstack_services import EmbeddedPostgres\n"
        f"install = Path({str(install)!r})\n"
        f"p = EmbeddedPostgres(Path({str(data)!r}), durable=False, install=install)\n"
        "p.start('devstack_root')\n"
        "print('up', flush=True)\n"
        "time.sleep(600)\n"
    )
    killed = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert killed.stdout is not None
    assert "up\n" in iter(killed.stdout.readline, "")  # its server is running
    killed.kill()  # SIGKILL: no clean-up; its server follows it (PR_SET_PDEATHSIG)
    killed.wait()
    while _processes_using(data):
        time.sleep(0.1)
    left = json.loads(os.getxattr(private_home, ServiceUserAccess.RECORD))
    next_one = EmbeddedPostgres(data, durable=False, install=install)

    try:
        next_one.start("devstack_root")
    finally:
        next_one.stop()

    assert [h["pid"] for h in left["holders"]] == [killed.pid]
    assert stat.S_IMODE(left["mode"]) == 0o700
    _unchanged(private_home, mode_before)
    assert _processes_using(data) == []
