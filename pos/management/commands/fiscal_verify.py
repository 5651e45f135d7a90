"""Walk every chain of the fiscal journal and name the first broken record of each; the
check is itself logged in the JET. Exits non-zero on any break."""

from django.core.management.base import BaseCommand, CommandError

from pos.fiscal.integrity import journal_check_logged


class Command(BaseCommand):
    help = "Verify every chain of the fiscal journal (numbering, links, hashes)."

    def handle(self, *args, **options):
        check, record = journal_check_logged()
        for broken in check.breaks:
            self.stdout.write(
                f"BROKEN {broken.chain} #{broken.number}: {broken.problem} — {broken.detail}"
            )
        result = "intact" if check.intact else "broken"
        summary = (
            f"{check.chains} chains, {check.records} records: {result} "
            f"(logged as {record.chain} #{record.number})"
        )
        if not check.intact:
            raise CommandError(f"{len(check.breaks)} broken chain(s); {summary}", returncode=1)
        self.stdout.write(summary)
