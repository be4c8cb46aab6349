"""``export_instances``: running instances to a file for another installation (the conversion tool)."""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError

from processes.services import conversion

STATUSES = list(conversion.OPEN_STATUSES)


class Command(BaseCommand):
    help = ("Write open instances, with their definition versions, work items, timers, pending events, external "
            "calls and history, to FILE as ipa.instances/v1 JSON lines (docs/instance-file.md). Reads only. "
            "The file holds every variable's value, protected ones included: keep it as safe as the database.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="the file to write (- for standard output); FILE.log lists what was left out")
        parser.add_argument("--process", action="append", default=[], metavar="NAME",
                            help="only instances of this process (repeat for several); their families come along")
        parser.add_argument("--status", action="append", default=[], choices=STATUSES,
                            help="only instances in this status (repeat for several); default: every open one")

    def handle(self, *args, file: str, process: list[str], status: list[str], **options):
        progress = Progress(self.stderr)
        try:
            if file == "-":
                report = conversion.export_instances(self.stdout, processes=process, statuses=status,
                                                     progress=progress)
            else:
                # The file carries protected values: readable by its owner only, from the first byte.
                descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with open(descriptor, "w", encoding="utf-8") as out:
                    report = conversion.export_instances(out, processes=process, statuses=status,
                                                         progress=progress)
        except OSError as exc:
            raise CommandError(f"cannot write {file}: {exc.strerror}") from exc
        progress.done()
        if file != "-":
            self.write_log(f"{file}.log", report)
        rows = ", ".join(f"{count} {key.replace('_', ' ')}" for key, count in sorted(report.rows.items()))
        self.stderr.write(f"Exported {report.instances} instances of {report.definitions} definition versions "
                          f"({rows}) to {file}.")
        if report.skipped:
            self.stderr.write(f"{len(report.skipped)} instances could not be exported; see {file}.log.")

    def write_log(self, path: str, report: conversion.ExportReport) -> None:
        with open(path, "w", encoding="utf-8") as log:
            log.write(f"{report.instances} instances exported, {len(report.skipped)} left out.\n")
            for pk, why in report.skipped:
                log.write(f"not exported: instance {pk}: {why}\n")
            for pk, note in report.notes:
                log.write(f"note: instance {pk}: {note}\n")


class Progress:
    """``done/total`` on one line that rewrites itself on a terminal, every tenth otherwise."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        percent = 100 * done // total if total else 100
        if self.tty:
            bar = "#" * (percent // 5)
            self.stream.write(f"\r[{bar:<20}] {done}/{total} instances", ending="")
            self.stream.flush()
        elif percent // 10 != self.shown // 10:
            self.stream.write(f"{done}/{total} instances ({percent}%)")
        self.shown = percent

    def done(self) -> None:
        if self.tty and self.shown >= 0:
            self.stream.write("")
