"""The software version in the technical events log (JET): French law asks that a
change of the cash register software's version be traceable.

It is recorded on ``migrate`` (the ``post_migrate`` signal of the pos app, connected in
``PosConfig.ready``): every deployment runs ``migrate`` once before the web, the workers
and beat start (docker-compose's ``migrate`` service), the database is there and its
tables are up to date, and it costs nothing at each process start. A start-up hook
would run in every gunicorn and Celery process and at every ``manage.py`` command, and
Django advises against queries in ``AppConfig.ready``.

The running version is the ``version`` of pyproject.toml plus the git commit when it
is known (the ``SOURCE_COMMIT`` environment variable, else ``git rev-parse HEAD`` in the
source tree): ``0.1.0+g1a2b3c4d5e6f``. A ``software_version`` event is appended to the
company's event chain only when it differs from the last one recorded: migrating twice
records once. The company chain's head is locked before the last event is read, so two
``migrate`` run at once record it once too.
"""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from pos.fiscal.events import E, jet_record
from pos.fiscal.journal import COMPANY
from pos.locks import journal_chain_lock
from pos.models import JournalKind, JournalRecord

COMMIT_LENGTH = 12


def _package_version(base: Path) -> str:
    try:
        with (base / "pyproject.toml").open("rb") as file:
            return str(tomllib.load(file)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def _commit(base: Path) -> str:
    commit = os.environ.get("SOURCE_COMMIT", "").strip()
    if not commit:
        try:
            done = subprocess.run(
                ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH, when there
                cwd=base,
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        commit = done.stdout.strip() if done.returncode == 0 else ""
    return commit[:COMMIT_LENGTH]


def software_version(base: Path | None = None) -> str:
    """``<pyproject version>+g<commit>``, or the version alone when no commit is known."""
    base = Path(base or settings.BASE_DIR)
    version, commit = _package_version(base), _commit(base)
    return f"{version}+g{commit}" if commit else version


def software_version_record(*, version: str | None = None) -> JournalRecord | None:
    """Append a ``software_version`` event when ``version`` (the running one by default)
    is not the last one recorded; None when it is (nothing written)."""
    version = version or software_version()
    with transaction.atomic():
        journal_chain_lock(register_id=None, store_id=None, kind=JournalKind.EVENT)
        last = (
            JournalRecord.objects.filter(
                chain__register__isnull=True,
                chain__store__isnull=True,
                chain__kind=JournalKind.EVENT,
                event_code=E.SOFTWARE_VERSION,
            )
            .order_by("-number")
            .first()
        )
        previous = last.payload.get("version") if last is not None else None
        if previous == version:
            return None
        return jet_record(
            chain=COMPANY,
            code=E.SOFTWARE_VERSION,
            reference=version[:100],
            payload={"version": version, "previous": previous},
        )


def software_version_after_migrate(*, using: str = DEFAULT_DB_ALIAS, **_kwargs) -> None:
    """The ``post_migrate`` receiver: once the journal's tables exist (a partial
    ``migrate`` may stop before them). ``POS_JOURNAL_SOFTWARE_VERSION`` = False turns it
    off (the test settings: the test database is built by ``migrate``)."""
    if using != DEFAULT_DB_ALIAS or not getattr(settings, "POS_JOURNAL_SOFTWARE_VERSION", True):
        return
    tables = set(connections[using].introspection.table_names())
    if {"pos_journalchain", "pos_journalrecord"} <= tables:
        software_version_record()
