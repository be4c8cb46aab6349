from django.core.management.base import BaseCommand, CommandError

from processes.engine.validation import DefinitionInvalid, load_document
from processes.services.definitions import import_definition


class Command(BaseCommand):
    help = "Import a process definition (ipa.process/v1, JSON or YAML) as a new version."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--publish", action="store_true", help="make the new version the launchable one")

    def handle(self, *args, **options):
        path = options["file"]
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        try:
            definition = import_definition(load_document(text, path), publish=options["publish"])
        except DefinitionInvalid as exc:
            for error in exc.errors:
                self.stderr.write(f"{path}: {error.path}: {error.message}")
            raise CommandError(f"{len(exc.errors)} error(s); the definition was not imported") from exc
        state = "published" if definition.published else "draft"
        self.stdout.write(f"Imported {definition.name} version {definition.version} ({state}).")
