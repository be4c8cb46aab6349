"""``flow_admin``: engine nodes, the instances each owns, orphans, and moving ownership by hand."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.core.paginator import EmptyPage, Paginator
from django.utils import timezone

from administration.parameters import integer_parameter
from processes.errors import ServiceError
from processes.models import INSTANCE_STATUSES, OPEN_STATUSES
from processes.services import nodes

STATUS_NAMES = [name for name, _ in INSTANCE_STATUSES]


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A plain-text table, each column as wide as its widest cell."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return ""
    return f"{moment:%Y-%m-%d %H:%M:%S} ({int((now - moment).total_seconds())}s ago)"


def load_cell(load: int, threshold: int) -> str:
    """A node's load (open instances that count: running, waiting, error), marked when over the threshold."""
    return f"{load} (over)" if load > threshold else str(load)


class Command(BaseCommand):
    help = "Engine nodes (storage ids), the instances each owns, orphaned instances, and transfers between nodes."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="subcommand", required=True, metavar="subcommand")
        commands.add_parser("nodes", help="list engine nodes, their state and the open instances each owns")
        listing = commands.add_parser("instances", help="list the instances one storage id owns")
        listing.add_argument("--owner", required=True, help="storage id")
        listing.add_argument("--status", choices=STATUS_NAMES)
        listing.add_argument("--page", type=int, default=1)
        listing.add_argument("--page-size", type=int, default=50)
        commands.add_parser("orphans", help="open instances owned by storage ids with no live node")
        transfer = commands.add_parser(
            "transfer", help="move open instances from one storage id to a live node",
            description="transfer SOURCE TARGET moves all of SOURCE's open instances (as --all); "
                        "TARGET any: each to the least-loaded live node. SOURCE import: imported instances.")
        transfer.add_argument("source_id", nargs="?", metavar="SOURCE", help="storage id that owns them now")
        transfer.add_argument("target_id", nargs="?", metavar="TARGET", help="storage id of a live node, or any")
        transfer.add_argument("--from", dest="source", help="storage id that owns them now")
        transfer.add_argument("--to", dest="target", help="storage id of a live node, or any")
        which = transfer.add_mutually_exclusive_group()
        which.add_argument("--all", action="store_true", help="every open instance of --from")
        which.add_argument("--instance", type=int, nargs="+", dest="instances", metavar="N", help="instance ids")
        commands.add_parser("takeover", help="take over from dead nodes now (the sweep does it too)")

    def handle(self, *args, subcommand: str, **options):
        try:
            getattr(self, f"do_{subcommand}")(**options)
        except ServiceError as error:
            raise CommandError(str(error))

    def do_nodes(self, **options) -> None:
        now, reports = timezone.now(), nodes.node_reports()
        if not reports:
            self.stdout.write("No engine node has registered yet.")
            return
        threshold = integer_parameter("PAS_LoadBalanceThreshold")
        rows = [(r.storage_id, r.node.hostname, r.node.pid, r.state, ago(r.node.heartbeat_at, now),
                 load_cell(sum(r.owned[status] for status in nodes.LOAD_STATUSES), threshold),
                 *(r.owned[status] for status in OPEN_STATUSES)) for r in reports if r.node]
        self.stdout.write(table(["storage id", "host", "pid", "state", "last heartbeat", "load", *OPEN_STATUSES],
                                rows))
        self.stdout.write(f"Load balance threshold (PAS_LoadBalanceThreshold): {threshold}. New instances go to the "
                          "least-loaded live node; one over the threshold gets none while another is under it.")

    def do_instances(self, owner: str, status: str | None, page: int, page_size: int, **options) -> None:
        if page_size < 1:
            raise CommandError("--page-size must be at least 1.")
        paginator = Paginator(nodes.owned_instances(owner, status), page_size)
        if paginator.count == 0:
            self.stdout.write(f"{owner} owns no {status + ' ' if status else ''}instances.")
            return
        try:
            shown = paginator.page(page)
        except EmptyPage:
            raise CommandError(f"There is no page {page}: {owner} has {paginator.num_pages} page(s) of instances.")
        rows = [(i.pk, i.process_name, i.status, i.current_state, i.waiting_on, f"{i.started_at:%Y-%m-%d %H:%M:%S}")
                for i in shown]
        self.stdout.write(table(["id", "process", "status", "state", "waiting on", "started"], rows))
        self.stdout.write(f"page {shown.number} of {paginator.num_pages} ({paginator.count} instances)")

    def do_orphans(self, **options) -> None:
        reports = nodes.orphan_reports()
        if not reports:
            self.stdout.write("No orphaned instances: every open instance belongs to a live node.")
            return
        rows = [(r.storage_id, r.state, *(r.owned[status] for status in OPEN_STATUSES)) for r in reports]
        self.stdout.write(table(["storage id", "node", *OPEN_STATUSES], rows))
        total = sum(sum(r.owned.values()) for r in reports)
        self.stdout.write(f"{total} orphaned instances. List them with: flow_admin instances --owner ID; "
                          "move them with: flow_admin transfer --from ID --to LIVE_ID --all")

    def do_transfer(self, source: str | None, target: str | None, source_id: str | None, target_id: str | None,
                    instances: list[int] | None, all: bool, **options) -> None:
        source, target = source or source_id, target or target_id
        if not source or not target:
            raise CommandError("Name the source and the target: transfer SOURCE TARGET, or --from A --to B.")
        if not (all or instances or source_id):
            raise CommandError("one of the arguments --all --instance is required "
                               "(or: transfer SOURCE TARGET, which moves all)")
        handover = nodes.transfer_instances(source, target, instances)
        shares = ", ".join(f"{count} to {node}" for node, count in sorted(handover.moved.items()))
        self.stdout.write(f"Moved {handover.total} instances from {source} to {target}"
                          f"{f' ({shares})' if target == 'any' and shares else ''}.")
        if handover.restored_in_error:
            ids = ", ".join(map(str, handover.restored_in_error))
            self.stdout.write(f"Restored in error (an external action was in flight on {source}): {ids}")

    def do_takeover(self, **options) -> None:
        handovers = nodes.take_over_dead_nodes()
        if not handovers:
            reports = nodes.node_reports()
            dead = [r.storage_id for r in reports if r.state == "dead"]
            if dead and not any(r.state == "live" for r in reports):
                raise CommandError(f"No node is live to take over from {', '.join(dead)}: start an engine node "
                                   "(it takes over by itself), or move the instances by hand once one is live.")
            self.stdout.write("No dead node to take over.")
            return
        for handover in handovers:
            shares = ", ".join(f"{count} to {target}" for target, count in sorted(handover.moved.items())) or "none"
            self.stdout.write(f"Took over {handover.source}: moved {handover.total} instances ({shares}); "
                              f"{len(handover.restored_in_error)} restored in error.")
