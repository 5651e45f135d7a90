from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from unicommerce.events.document import events_document, events_modules_import

DOCUMENT = Path(settings.BASE_DIR) / "docs" / "events.md"


class Command(BaseCommand):
    help = (
        "Write docs/events.md from the topics and subscriptions of every app's events.py "
        "(--check: only compare)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="fail if the file differs")

    def handle(self, *args, **options):
        project = Path(settings.BASE_DIR).resolve()
        events_modules_import(
            config.name
            for config in apps.get_app_configs()
            if Path(config.path).resolve().is_relative_to(project)
        )
        text = events_document()
        if options["check"]:
            if not DOCUMENT.exists() or DOCUMENT.read_text() != text:
                raise CommandError(f"{DOCUMENT} is out of date: run manage.py events_doc")
            self.stdout.write("docs/events.md matches the declared topics and subscriptions")
            return
        DOCUMENT.write_text(text)
        self.stdout.write(f"wrote {DOCUMENT}")
