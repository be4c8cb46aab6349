import json

import yaml
from django.core.management.base import BaseCommand, CommandError

from administration.directory import DirectoryInvalid, import_directory


class Command(BaseCommand):
    help = "Create or update users, workgroups, roles, skills, licenses, rights, security specifications, " \
           "server parameters and data sources from a directory document (ipa.directory/v1). All or nothing."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, **options):
        path = options["file"]
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        try:
            document = yaml.safe_load(text) if path.endswith((".yaml", ".yml")) else json.loads(text)
        except (ValueError, yaml.YAMLError) as exc:
            raise CommandError(f"{path}: not a valid document: {exc}") from exc
        try:
            summary = import_directory(document)
        except DirectoryInvalid as exc:
            for error in exc.errors:
                self.stderr.write(f"{path}: {error}")
            raise CommandError(f"{len(exc.errors)} error(s); nothing was imported") from exc
        self.stdout.write(f"Imported {summary}.")
