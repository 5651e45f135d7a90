"""Walk every chain of the fiscal journal and name the first broken record of each; the
check is itself logged in the JET. Exits non-zero on any break."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from pos.fiscal import COMPANY, journal_append, journal_verify
from pos.fiscal.canonical import chain_identity
from pos.models import JournalEventCode, JournalKind


class Command(BaseCommand):
    help = "Verify every chain of the fiscal journal (numbering, links, hashes)."

    def handle(self, *args, **options):
        check = journal_verify()
        for broken in check.breaks:
            self.stdout.write(
                f"BROKEN {broken.chain} #{broken.number}: {broken.problem} — {broken.detail}"
            )
        result = "intact" if check.intact else "broken"
        with transaction.atomic():
            record = journal_append(
                chain=COMPANY,
                kind=JournalKind.EVENT,
                event_code=JournalEventCode.INTEGRITY_CHECK,
                occurred_at=timezone.now(),
                payload={
                    "result": result,
                    "chains": check.chains,
                    "records": check.records,
                    "breaks": [
                        {
                            "chain": chain_identity(
                                kind=b.chain.kind,
                                register_id=b.chain.register_id,
                                store_id=b.chain.store_id,
                            ),
                            "number": b.number,
                            "problem": b.problem,
                        }
                        for b in check.breaks
                    ],
                },
            )
        summary = (
            f"{check.chains} chains, {check.records} records: {result} "
            f"(logged as {record.chain} #{record.number})"
        )
        if not check.intact:
            raise CommandError(f"{len(check.breaks)} broken chain(s); {summary}", returncode=1)
        self.stdout.write(summary)
