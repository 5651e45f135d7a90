#!/usr/bin/env python3
"""Verify a Unicommerce fiscal journal archive offline (standard library only).

    python3 fiscal_verify.py ARCHIVE_DIR [--manifest-sha256 HEX]

ARCHIVE_DIR holds manifest.json and one JSON-lines file per chain, as written by
``manage.py fiscal_export``. For every file this checks its SHA-256 against the manifest,
then every record: numbers consecutive, each previous_hash equal to the hash of the record
before, and each hash equal to SHA-256(previous_hash + "\\n" + canonical form of the
record's fields), and the first/last numbers and hashes the manifest states. With
--manifest-sha256 (the value the JET event of the export logged) the manifest itself is
checked too. Prints every problem found; exits 1 if any, 0 if the archive is intact.
See docs/fiscal.md for the canonical form.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path


def canonical(fields: dict) -> bytes:
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def verify_file(path: Path, entry: dict) -> list[str]:
    data = path.read_bytes()
    problems = []
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        problems.append(f"{path.name}: the file's SHA-256 is not the manifest's")
    first = last = None
    previous = None
    count = 0
    for line_number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        fields = json.loads(line)
        stored = fields.pop("hash")
        previous_hash = fields.pop("previous_hash")
        number = fields["number"]
        where = f"{path.name} line {line_number} (record #{number})"
        if previous is not None and number != previous[0] + 1:
            problems.append(f"{where}: follows #{previous[0]}")
        if previous is not None and previous_hash != previous[1]:
            problems.append(f"{where}: previous_hash is not the hash of the record before")
        computed = hashlib.sha256(previous_hash.encode("ascii") + b"\n" + canonical(fields))
        if computed.hexdigest() != stored:
            problems.append(f"{where}: its content does not match its hash")
        if first is None:
            first = (number, previous_hash, stored)
        previous = last = (number, stored)
        count += 1
    expected = (entry["records"], entry["first_number"], entry["first_previous_hash"])
    if first is None or (count, first[0], first[1]) != expected:
        problems.append(f"{path.name}: the records or the first one are not the manifest's")
    elif (first[2], last[0], last[1]) != (
        entry["first_hash"],
        entry["last_number"],
        entry["last_hash"],
    ):
        problems.append(f"{path.name}: the first or last record is not the manifest's")
    return problems


def verify(archive: Path, manifest_sha256: str | None = None) -> list[str]:
    manifest_bytes = (archive / "manifest.json").read_bytes()
    problems = []
    if manifest_sha256 and hashlib.sha256(manifest_bytes).hexdigest() != manifest_sha256:
        problems.append("manifest.json: its SHA-256 is not the one the export logged")
    manifest = json.loads(manifest_bytes)
    for entry in manifest["chains"]:
        path = archive / entry["file"]
        if not path.is_file():
            problems.append(f"{entry['file']}: missing")
            continue
        problems.extend(verify_file(path, entry))
    listed = {entry["file"] for entry in manifest["chains"]} | {"manifest.json"}
    problems.extend(
        f"{p.name}: not in the manifest" for p in archive.iterdir() if p.name not in listed
    )
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description="Verify a fiscal journal archive offline.")
    parser.add_argument("archive", type=Path)
    parser.add_argument("--manifest-sha256", help="the manifest's SHA-256 logged in the JET")
    arguments = parser.parse_args()
    problems = verify(arguments.archive, arguments.manifest_sha256)
    for problem in problems:
        print(problem)
    if problems:
        print(f"BROKEN: {len(problems)} problem(s)")
        return 1
    records = sum(
        e["records"]
        for e in json.loads((arguments.archive / "manifest.json").read_text("utf-8"))["chains"]
    )
    print(f"intact: {records} records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
