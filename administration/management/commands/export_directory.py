import json
import sys

from django.core.management.base import BaseCommand, CommandError

from administration.directory import export_directory


class Command(BaseCommand):
    help = "Write the whole directory as an ipa.directory/v1 document (passwords left out; users keep " \
           "theirs on import) that import_directory takes back unchanged. Without FILE: to standard output."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?")

    def handle(self, *args, **options):
        text = json.dumps(export_directory(), indent=2, ensure_ascii=False) + "\n"
        if not options["file"]:
            sys.stdout.write(text)
            return
        try:
            with open(options["file"], "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise CommandError(f"cannot write {options['file']}: {exc.strerror}") from exc
        self.stderr.write(f"Wrote the directory to {options['file']}.")
