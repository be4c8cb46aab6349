"""Seed many waiting instances in bulk, for measurements at scale (``bench/``) and load tests.

For each process named, one instance is launched for real (so its execution state, work
item and history are what the engine makes); then ``--count`` copies of those rows are
inserted in batches, spread over the users named and over time (one a second, newest
last), each waiting on its own work item offered to its initiator.

    python manage.py seed_instances --count 100000 --process "Expense Approval" --users bob,carol
"""

from __future__ import annotations

import contextlib
import json
import time
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from administration.models import User
from processes.models import HistoryEntry, ProcessInstance
from processes.services import instances
from workitems.models import WorkItem


@contextlib.contextmanager
def explicit_timestamps(*fields):
    """Let bulk_create keep the timestamps it is given (auto_now/auto_now_add off meanwhile)."""
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f, _, _ in saved:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


class Command(BaseCommand):
    help = "Insert many waiting instances (copies of one real launch per process) in bulk."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=100_000, help="instances to insert (default 100000)")
        parser.add_argument("--process", action="append", required=True,
                            help="a published process to copy (repeat for several; the count is shared)")
        parser.add_argument("--users", required=True,
                            help="comma-separated users who launch the instances and receive their work items")
        parser.add_argument("--inputs", default="{}", help="launch inputs as JSON (default {})")
        parser.add_argument("--batch", type=int, default=5000, help="rows per INSERT (default 5000)")

    def handle(self, *args, **options):
        names = [n.strip() for n in options["users"].split(",") if n.strip()]
        users = list(User.objects.filter(username__in=names, is_active=True))
        if len(users) != len(set(names)):
            missing = sorted(set(names) - {u.username for u in users})
            raise CommandError(f"no active user named {', '.join(missing)}")
        users.sort(key=lambda u: names.index(u.username))
        try:
            inputs = json.loads(options["inputs"])
        except json.JSONDecodeError as exc:
            raise CommandError(f"--inputs is not JSON: {exc}") from exc
        templates = [self.template(users[0], process, inputs) for process in options["process"]]
        started = time.monotonic()
        count, batch = options["count"], max(1, options["batch"])
        oldest = timezone.now() - timedelta(seconds=count)
        made = 0
        while made < count:
            size = min(batch, count - made)
            self.insert(templates, users, made, size, oldest)
            made += size
            self.stdout.write(f"  {made} / {count}", ending="\r")
            self.stdout.flush()
        self.stdout.write(f"Seeded {count} waiting instances of {', '.join(options['process'])} for "
                          f"{len(users)} users in {time.monotonic() - started:.1f} s.")

    def template(self, user: User, process: str, inputs: dict) -> dict:
        """One real launch: the rows every copy repeats."""
        instance = instances.launch_process(user, process, inputs)
        instance.refresh_from_db()
        if instance.status != "waiting":
            raise CommandError(f"{process} does not wait after its launch (it is {instance.status})")
        items = list(WorkItem.objects.filter(instance=instance))
        if len(items) != 1 or items[0].user_id is None:
            raise CommandError(f"{process} must wait on one work item offered to a user to be seeded")
        history = list(HistoryEntry.objects.filter(instance=instance).values("what", "detail", "user"))
        return {"instance": instance, "item": items[0], "history": history}

    def insert(self, templates: list[dict], users: list[User], first: int, size: int, oldest) -> None:
        rows, positions = [], []
        for n in range(first, first + size):
            template = templates[n % len(templates)]
            user = users[n % len(users)]
            at = oldest + timedelta(seconds=n)
            source = template["instance"]
            rows.append(ProcessInstance(
                definition_id=source.definition_id, process_name=source.process_name, status="waiting",
                current_state=source.current_state, waiting_on=source.waiting_on,
                waiting_detail=source.waiting_detail, started_by=user, initiator=user.username,
                started_at=at, updated_at=at, owner=source.owner, execution=source.execution,
            ))
            positions.append((template, user, at))
        with transaction.atomic(), explicit_timestamps(*self.timestamp_fields()):
            ProcessInstance.objects.bulk_create(rows)
            items, history = [], []
            for instance, (template, user, at) in zip(rows, positions, strict=True):
                item = template["item"]
                items.append(WorkItem(
                    instance=instance, token=item.token, process_name=item.process_name, name=item.name,
                    category=item.category, description=item.description, priority=item.priority,
                    status=item.status, user=user, skills=item.skills, created_at=at, updated_at=at,
                    offered_at=at,
                ))
                history.extend(HistoryEntry(instance=instance, at=at, what=h["what"], detail=h["detail"],
                                            user=user.username if h["user"] else "") for h in template["history"])
            WorkItem.objects.bulk_create(items)
            HistoryEntry.objects.bulk_create(history)

    @staticmethod
    def timestamp_fields():
        return [ProcessInstance._meta.get_field("started_at"), ProcessInstance._meta.get_field("updated_at"),
                WorkItem._meta.get_field("created_at"), WorkItem._meta.get_field("updated_at")]
