"""Export a period of the fiscal journal: one JSON-lines file per chain and a manifest of
hashes, verifiable offline with docs/fiscal_verify.py; the export is logged in the JET."""

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from pos.fiscal import journal_export


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"not a date (YYYY-MM-DD): {text}") from error


class Command(BaseCommand):
    help = "Export the fiscal journal of a period (calendar days, Europe/Paris) to a folder."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first_day", required=True, help="YYYY-MM-DD")
        parser.add_argument("--to", dest="last_day", required=True, help="YYYY-MM-DD, included")
        parser.add_argument("--out", required=True, help="the folder to write (created)")

    def handle(self, *args, first_day, last_day, out, **options):
        first, last = _day(first_day), _day(last_day)
        if last < first:
            raise CommandError("--to is before --from")
        manifest = journal_export(first_day=first, last_day=last, out=Path(out))
        records = sum(entry["records"] for entry in manifest["chains"])
        self.stdout.write(
            f"{len(manifest['chains'])} chains, {records} records written to {out}; "
            f"manifest sha256 {manifest['manifest_sha256']}"
        )
