"""``import_instances``: load a conversion file under the reserved storage id, or back a batch out."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from processes.errors import ServiceError
from processes.management.commands.export_instances import Progress
from processes.models import IMPORT_STORAGE_ID
from processes.services import conversion


class Command(BaseCommand):
    help = (f"Load an ipa.instances/v1 file under the storage id {IMPORT_STORAGE_ID!r}, which no engine node has: "
            "look at the instances, then hand them to a node with `flow_admin transfer import NODE` (or `any`), "
            "or remove the batch with --back-out. All or nothing.")

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="the file written by export_instances")
        parser.add_argument("--back-out", type=int, metavar="BATCH",
                            help="remove this import batch (only while none of it was handed to a node)")
        parser.add_argument("--list", action="store_true", help="list the import batches")

    def handle(self, *args, file: str | None, back_out: int | None, list: bool, **options):
        try:
            if list:
                self.list_batches()
            elif back_out is not None:
                result = conversion.back_out(back_out)
                self.stdout.write(f"Backed out import batch {result.batch}: removed {result.instances} instances "
                                  f"and {result.definitions} definition versions it had added.")
            elif file:
                self.load(file)
            else:
                raise CommandError("Give a FILE to import, --back-out BATCH or --list.")
        except ServiceError as error:
            raise CommandError(str(error)) from error

    def load(self, file: str) -> None:
        progress = Progress(self.stderr)
        try:
            with open(file, encoding="utf-8") as lines:
                report = conversion.import_instances(lines, file=file, progress=progress)
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from exc
        progress.done()
        rows = ", ".join(f"{count} {key.replace('_', ' ')}" for key, count in sorted(report.rows.items()))
        self.stdout.write(f"Imported batch {report.batch}: {report.instances} instances ({rows}); definitions: "
                          f"{report.definitions_created} added, {report.definitions_reused} already here.")
        if report.restored_in_error:
            self.stdout.write(f"Restored in error (an external action was running when they were exported): "
                              f"{', '.join(map(str, report.restored_in_error))}")
        self.stdout.write(f"They wait under storage id {IMPORT_STORAGE_ID!r}. Hand them to a live node with: "
                          f"flow_admin transfer {IMPORT_STORAGE_ID} any   (or undo: import_instances "
                          f"--back-out {report.batch})")

    def list_batches(self) -> None:
        batches = conversion.batches()
        if not batches:
            self.stdout.write("No import batches.")
        for batch in batches:
            state = f"backed out {batch.backed_out_at:%Y-%m-%d %H:%M}" if batch.backed_out_at else "in place"
            self.stdout.write(f"{batch.pk}  {batch.imported_at:%Y-%m-%d %H:%M}  {batch.file}  "
                              f"{batch.counts.get('instances', 0)} instances  {state}")
