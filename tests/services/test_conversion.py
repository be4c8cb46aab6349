"""The conversion tool: export running instances, import them under ``import``, hand them to a node.

The round trip runs on whichever database the suite runs on (SQLite by default, PostgreSQL in
CI): the instances are exported, deleted with their definitions, imported again, handed to a
live node, and each must carry on to its end.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from administration.models import User
from processes.models import (
    IMPORT_STORAGE_ID,
    ExternalCall,
    HistoryEntry,
    ImportedInstance,
    PendingEvent,
    ProcessDefinition,
    ProcessInstance,
    RelatedInteraction,
)
from processes.services import conversion, instances
from processes.services.definitions import import_definition
from tests.conftest import complete
from tests.external.support import runs_here  # noqa: F401 - fixture
from tests.services.test_nodes import node
from workitems import services as workitems
from workitems.models import WorkItem

pytestmark = pytest.mark.django_db


def definition(name: str, actions: list, variables: list | None = None, **extra) -> dict:
    return {"format": "ipa.process/v1", "name": name, "variables": variables or [], "start_state": "Main",
            "states": [{"name": "Main", "actions": actions}], **extra}


FORM = definition(
    "Form",
    [{"action": "send_work_item", "work_item": "Check", "to": {"user": "{{ who }}"}, "exits": {"done": []}}],
    [{"name": "who", "type": "string", "input": True},
     {"name": "pin", "type": "string", "default": "4711", "security": "Payroll"},
     {"name": "note", "type": "string"}],
    work_items=[{"name": "Check", "fields": [{"variable": "note"}], "buttons": [{"id": "done", "label": "Done"}]}])
QUEUE = definition(
    "Queue",
    [{"action": "send_work_item", "work_item": "Triage", "to": {"workgroup": "Managers"}, "exits": {"done": []}}],
    work_items=[{"name": "Triage", "fields": [], "buttons": [{"id": "done", "label": "Done"}]}])
TIMER = definition("Timer", [{"action": "wait", "duration": "P1D"}])
MAILER = definition("Mailer", [{"action": "send_email", "to": "\"a@example.com\"", "subject": "Hi", "body": "Hi"}])
PARENT = definition("Parent", [{"action": "launch_process", "process": "Timer", "inputs": {}, "wait": True}])


@pytest.fixture
def published(directory, agents_available):
    for document in (FORM, QUEUE, TIMER, MAILER, PARENT):
        import_definition(document, publish=True)


def launch(name: str, inputs: dict | None = None, user: str = "admin") -> ProcessInstance:
    return instances.launch_process(User.objects.get(username=user), name, inputs or {})


@pytest.fixture
def running(published, engine_runs, api):
    """One instance in each kind of wait the round trip must carry."""
    dave, bob = User.objects.get(username="dave"), User.objects.get(username="bob")
    made = {"offered": launch("Form", {"who": "dave"}), "processing": launch("Form", {"who": "dave"}),
            "held": launch("Form", {"who": "dave"}), "group": launch("Queue"), "timer": launch("Timer"),
            "external": launch("Mailer"), "in_flight": launch("Mailer"), "restored": launch("Mailer"),
            "parent": launch("Parent")}
    engine_runs()  # the child starts and waits on its timer
    made["child"] = ProcessInstance.objects.get(parent=made["parent"])
    item = {key: WorkItem.objects.get(instance=made[key]) for key in ("processing", "held", "group")}
    workitems.pickup_work_item(dave, item["processing"].pk)
    workitems.save_work_item(dave, item["processing"].pk, {"note": "half done"})
    workitems.pickup_work_item(dave, item["held"].pk)
    workitems.hold_work_item(dave, item["held"].pk)
    workitems.pickup_work_item(bob, WorkItem.objects.get(pk=item["group"].pk, user=bob).pk)
    ExternalCall.objects.filter(instance__in=[made["in_flight"], made["restored"]]).update(
        status="running", node="old-node", started_at=timezone.now())
    from processes.external import recovery

    recovery.restore_calls_of_node("old-node", [made["restored"].pk])
    instances.relate_interaction(User.objects.get(username="sam"), made["timer"],
                                 {"type": "call", "reference": "C-1", "description": "asked about it"})
    return made


def snapshot(instance_id: int) -> dict:
    """What must survive the move: every column and row that is not an id or the owner."""
    instance = ProcessInstance.objects.select_related("definition", "started_by").get(pk=instance_id)
    return {
        "row": (instance.process_name, instance.definition.version, instance.status, instance.current_state,
                instance.waiting_on, instance.waiting_detail, instance.error, instance.started_by.username,
                instance.initiator, instance.started_at, instance.ended_at, instance.depth, instance.parent_token,
                instance.parent.process_name if instance.parent else None, instance.execution),
        "history": list(HistoryEntry.objects.filter(instance=instance).exclude(what="imported").order_by("id")
                        .values_list("at", "what", "detail", "user")),
        "events": list(PendingEvent.objects.filter(instance=instance).order_by("id")
                       .values_list("kind", "token", "payload", "due_at")),
        "calls": list(ExternalCall.objects.filter(instance=instance).order_by("id")
                      .values_list("token", "kind", "params", "status", "node", "created_at", "started_at")),
        "items": list(WorkItem.objects.filter(instance=instance).order_by("id").values_list(
            "token", "name", "status", "user__username", "workgroup__name", "draft", "created_at", "offered_at")),
        "interactions": list(RelatedInteraction.objects.filter(instance=instance).values_list(
            "type", "reference", "description", "created_by__username", "created_at")),
    }


def export(**filters) -> tuple[str, conversion.ExportReport]:
    out = io.StringIO()
    report = conversion.export_instances(out, **filters)
    return out.getvalue(), report


def forget_everything() -> None:
    """The target installation: same directory, none of these instances or definitions."""
    ProcessInstance.objects.all().delete()
    ProcessDefinition.objects.all().delete()


def imported(source_id: int) -> int:
    return ImportedInstance.objects.get(source_id=source_id).instance_id


# ------------------------------------------------------------------------------- the round trip


@pytest.mark.usefixtures("runs_here")
def test_a_round_trip_loses_nothing_and_every_instance_carries_on_after_the_hand_over(
        running, api, engine_runs, time_passes, settings, mailoutbox, django_capture_on_commit_callbacks):
    ids = {key: instance.pk for key, instance in running.items()}
    before = {pk: snapshot(pk) for pk in ids.values()}
    text, report = export()
    assert {pk: snapshot(pk) for pk in ids.values()} == before  # the source is unchanged
    assert (report.instances, report.definitions, report.skipped) == (10, 5, [])
    assert [pk for pk, _ in report.notes] == [ids["in_flight"]]

    forget_everything()
    result = conversion.import_instances(io.StringIO(text), file="moved.jsonl")
    assert (result.instances, result.definitions_created, result.definitions_reused) == (10, 5, 0)
    assert result.rows["work_items"] == 4 and result.rows["pending_events"] == 2
    assert result.restored_in_error == [imported(ids["in_flight"])]
    for key, source_id in ids.items():
        after = snapshot(imported(source_id))
        if key == "in_flight":  # it may have run at the source: a person decides here
            assert after["row"][2] == "restored_in_error" and after["calls"][0][3] == "lost"
            continue
        assert after == before[source_id], key
    assert set(ProcessInstance.objects.values_list("owner", flat=True)) == {IMPORT_STORAGE_ID}
    assert ProcessDefinition.objects.get(name="Form").published

    # Parked: no engine touches them before the hand-over, and nobody can move them on.
    settings.EXTERNAL_CALL_REDISPATCH_SECONDS = 0
    time_passes(timedelta(days=2))
    engine_runs()
    assert snapshot(imported(ids["timer"]))["row"][2] == "waiting"
    assert ExternalCall.objects.get(instance_id=imported(ids["external"])).status == "pending"
    dave = api("dave")
    held = WorkItem.objects.get(instance_id=imported(ids["held"]))
    refused = dave.post(f"/api/workitems/{held.pk}/complete", {"button": "done", "values": {}}, format="json")
    assert refused.status_code == 409 and "flow_admin transfer" in refused.json()["detail"]

    node("n1")
    out = io.StringIO()
    call_command("flow_admin", "transfer", IMPORT_STORAGE_ID, "any", stdout=out)
    assert out.getvalue().startswith("Moved 10 instances from import to any (10 to n1)")
    # The seed's restore rules: picked-up direct items come back held, a group item goes back to its queue.
    statuses = {key: WorkItem.objects.get(instance_id=imported(ids[key])).status
                for key in ("offered", "processing", "held")}
    assert statuses == {"offered": "offered", "processing": "held", "held": "held"}
    assert WorkItem.objects.get(instance_id=imported(ids["processing"])).draft == {"note": "half done"}
    assert HistoryEntry.objects.filter(instance_id=imported(ids["processing"]), what="work_item_restored").exists()

    with django_capture_on_commit_callbacks(execute=True):
        for key in ("offered", "processing", "held"):
            complete(dave, WorkItem.objects.get(instance_id=imported(ids[key])).pk, "done")
        engine_runs()  # the ACD offers the group item again; the email goes out; timers fire
        complete(api("bob"), WorkItem.objects.get(instance_id=imported(ids["group"])).pk, "done")
        for key in ("in_flight", "restored"):
            assert api("sam").post(f"/api/instances/{imported(ids[key])}/retry").status_code == 200
        engine_runs()
    ended = dict(ProcessInstance.objects.values_list("pk", "status"))
    assert ended == {imported(pk): "completed" for pk in ids.values()}
    assert len(mailoutbox) == 3


def test_the_file_is_versioned_json_lines_with_definitions_before_their_instances(running):
    text, _ = export()
    records = [json.loads(line) for line in text.splitlines()]
    assert records[0]["format"] == "ipa.instances/v1" and records[0]["instances"] == 10
    assert records[-1] == {"type": "end", "instances": 10, "definitions": 5, "skipped": []}
    seen = set()
    for record in records[1:-1]:
        if record["type"] == "definition":
            seen.add((record["name"], record["version"]))
        else:
            assert (record["process"], record["version"]) in seen
    form = next(r for r in records if r["type"] == "instance" and r["process"] == "Form")
    assert form["execution"]["globals"]["pin"] == "4711"  # protected values travel: the file is sensitive


def test_a_process_filter_brings_the_instance_s_family_along(running):
    _, report = export(processes=["Parent"])
    assert report.instances == 2  # the parent and the child it waits for
    _, report = export(processes=["Form"], statuses=["waiting"])
    assert report.instances == 3


# ----------------------------------------------------------------------------- what is refused


def test_definitions_already_here_with_the_same_content_are_reused(running):
    text, _ = export(processes=["Timer"])
    ProcessInstance.objects.filter(process_name__in=["Timer", "Parent"]).delete()
    result = conversion.import_instances(io.StringIO(text))
    assert (result.definitions_created, result.definitions_reused) == (0, 2)


def test_a_definition_here_with_other_content_is_refused_by_name_and_nothing_is_imported(running):
    text, _ = export(processes=["Timer"])
    forget_everything()
    import_definition({**TIMER, "description": "another timer"}, publish=True)
    with pytest.raises(conversion.ImportRefused, match="'Timer' version 1 is here already with other content"):
        conversion.import_instances(io.StringIO(text))
    assert not ProcessInstance.objects.exists()


def test_people_missing_from_the_directory_are_named_and_nothing_is_imported(running):
    text, _ = export(processes=["Form"])
    forget_everything()
    User.objects.filter(username="dave").delete()
    with pytest.raises(conversion.ImportRefused, match=r"users: dave\).*import_directory"):
        conversion.import_instances(io.StringIO(text))
    assert not ProcessInstance.objects.exists() and not ProcessDefinition.objects.exists()


def test_a_cut_file_or_another_format_is_refused(running):
    text, _ = export()
    forget_everything()
    with pytest.raises(conversion.ImportRefused, match="stops before its last line"):
        conversion.import_instances(io.StringIO("".join(text.splitlines(keepends=True)[:-1])))
    with pytest.raises(conversion.ImportRefused, match="not an ipa.instances/v1 file"):
        conversion.import_instances(io.StringIO('{"format": "ipa.directory/v1"}\n'))
    assert not ProcessInstance.objects.exists()


# ----------------------------------------------------------------------------------- back out


def test_a_batch_backs_out_whole_until_part_of_it_is_handed_to_a_node(running):
    text, _ = export()
    forget_everything()
    first = conversion.import_instances(io.StringIO(text)).batch
    out = io.StringIO()
    call_command("import_instances", "--back-out", str(first), stdout=out)
    assert "removed 10 instances and 5 definition versions" in out.getvalue()
    assert not ProcessInstance.objects.exists() and not ProcessDefinition.objects.exists()
    with pytest.raises(CommandError, match="backed out already"):
        call_command("import_instances", "--back-out", str(first))

    second = conversion.import_instances(io.StringIO(text)).batch
    node("n1")
    call_command("flow_admin", "transfer", "--from", IMPORT_STORAGE_ID, "--to", "n1", "--instance",
                 str(imported(running["timer"].pk)), stdout=io.StringIO())
    with pytest.raises(CommandError, match="1 instances of import batch .* were handed to engine nodes already"):
        call_command("import_instances", "--back-out", str(second))
    assert ProcessInstance.objects.count() == 10


# ----------------------------------------------------------------------------------- commands


def test_the_commands_write_a_private_file_and_a_log_then_import_it(running, tmp_path):
    path = tmp_path / "instances.jsonl"
    err = io.StringIO()
    call_command("export_instances", str(path), "--process", "Timer", stderr=err)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert "Exported 3 instances of 2 definition versions" in err.getvalue()  # the child brings its parent
    assert (tmp_path / "instances.jsonl.log").read_text().startswith("3 instances exported, 0 left out.")
    ProcessInstance.objects.filter(process_name__in=["Timer", "Parent"]).delete()
    out = io.StringIO()
    call_command("import_instances", str(path), stdout=out, stderr=io.StringIO())
    assert "3 instances" in out.getvalue() and "flow_admin transfer import any" in out.getvalue()
    orphans = io.StringIO()
    call_command("flow_admin", "orphans", stdout=orphans)
    assert any(line.split()[:2] == ["import", "imported"] for line in orphans.getvalue().splitlines())


def test_an_instance_that_cannot_be_written_is_left_out_and_logged_and_the_others_are_exported(
        running, tmp_path, monkeypatch):
    from processes.services.conversion import export as exporting

    broken = running["timer"].pk
    record = exporting._instance_record

    def fails_for_one(instance, parts):
        if instance.pk == broken:
            raise ValueError("state unreadable")
        return record(instance, parts)

    monkeypatch.setattr(exporting, "_instance_record", fails_for_one)
    path = tmp_path / "out.jsonl"
    err = io.StringIO()
    call_command("export_instances", str(path), stderr=err)
    assert "Exported 9 instances" in err.getvalue() and "1 instances could not be exported" in err.getvalue()
    log = (tmp_path / "out.jsonl.log").read_text()
    assert f"not exported: instance {broken}: ValueError: state unreadable" in log
    assert f"note: instance {running['in_flight'].pk}: an external action was running" in log
    last = json.loads(path.read_text().splitlines()[-1])
    assert last["instances"] == 9 and last["skipped"] == [{"id": broken, "reason": "ValueError: state unreadable"}]
    forget_everything()
    assert conversion.import_instances(path.open()).instances == 9  # the rest of the file is whole


def test_the_export_reads_a_chunk_of_instances_in_a_fixed_number_of_queries(published):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for(count: int) -> int:
        ProcessInstance.objects.all().delete()
        for _ in range(count):
            launch("Form", {"who": "dave"})
        with CaptureQueriesContext(connection) as captured:
            export()
        return len(captured)

    assert queries_for(3) == queries_for(30)  # one query per part and chunk, never one per instance
