"""The durable runtime against the real database: events, timers, faults, retry, skip, cancel."""

import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from administration.models import ServerParameter, User
from processes.models import HistoryEntry, PendingEvent, ProcessInstance
from processes.services import instances, runtime
from processes.services.definitions import import_definition
from tests.external.support import runs_here  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def definition(name: str, actions: list, variables: list | None = None, **extra) -> dict:
    return {"format": "ipa.process/v1", "name": name, "variables": variables or [],
            "start_state": "Main", "states": [{"name": "Main", "actions": actions}], **extra}


@pytest.fixture
def admin(directory):
    return User.objects.get(username="admin")


def run(admin, document: dict, inputs: dict | None = None) -> ProcessInstance:
    import_definition(document, publish=True)
    instance = instances.launch_process(admin, document["name"], inputs or {})
    instance.refresh_from_db()
    return instance


def test_a_timer_fires_only_when_due_and_is_consumed_once(admin, engine_runs, time_passes):
    instance = run(admin, definition("Timer", [{"action": "wait", "duration": "PT1H"}]))
    assert (instance.status, instance.waiting_on) == ("waiting", "timer")
    timer = PendingEvent.objects.get(instance=instance, kind="timer")
    assert timer.due_at > timezone.now() + timedelta(minutes=59)
    assert engine_runs() == 0
    time_passes(timedelta(hours=1))
    assert engine_runs() == 1
    instance.refresh_from_db()
    assert instance.status == "completed"
    assert runtime.process_pending_event(timer.pk) is False  # a redelivered task finds nothing to do
    assert HistoryEntry.objects.filter(instance=instance, what="timer_fired").count() == 1


def test_a_division_by_zero_stops_the_instance_in_error_with_a_message_a_supervisor_can_act_on(admin):
    document = definition("Faulty", [{"action": "assign", "variable": "x", "value": "1 / zero"}],
                          [{"name": "x", "type": "decimal"}, {"name": "zero", "type": "integer", "default": 0,
                                                              "input": True}])
    instance = run(admin, document)
    assert instance.status == "error"
    assert "division by zero" in instance.error
    assert "Main" in instance.error and "1 / zero" in instance.error


def test_retry_runs_the_failed_action_again_and_skip_moves_past_it(admin, api):
    document = definition("Faulty", [
        {"action": "assign", "variable": "x", "value": "10 / zero"},
        {"action": "assign", "variable": "done", "value": "true"},
    ], [{"name": "x", "type": "decimal"}, {"name": "zero", "type": "integer", "default": 0, "input": True},
        {"name": "done", "type": "boolean", "default": False}])
    instance = run(admin, document)
    sam = api("sam")
    retried = sam.post(f"/api/instances/{instance.pk}/retry").json()
    assert retried["status"] == "error"  # the same fault again
    skipped = sam.post(f"/api/instances/{instance.pk}/skip").json()
    assert skipped["status"] == "completed"
    assert skipped["variables"]["done"] is True
    assert skipped["variables"]["x"] is None
    whats = [h["what"] for h in skipped["history"]]
    assert whats.count("error") == 2 and "skipped" in whats


def test_spawning_deeper_than_the_depth_threshold_is_an_error(admin, engine_runs):
    ServerParameter.objects.update_or_create(name="PAS_DepthThreshold", defaults={"value": "3"})
    from administration.parameters import forget_parameters

    forget_parameters()
    document = definition("Recursive", [
        {"action": "launch_process", "process": "Recursive", "wait": True},
    ])
    top = run(admin, document)
    engine_runs()
    chain = list(ProcessInstance.objects.filter(process_name="Recursive").order_by("depth"))
    assert [i.depth for i in chain] == [0, 1, 2, 3]
    assert chain[-1].status == "error"
    assert "PAS_DepthThreshold" in chain[-1].error
    assert top.pk == chain[0].pk


def test_a_subprocess_that_does_not_exist_stops_the_parent_in_error(admin, engine_runs):
    instance = run(admin, definition("Orphan", [{"action": "launch_process", "process": "Nowhere", "wait": True}]))
    engine_runs()
    instance.refresh_from_db()
    assert instance.status == "error"
    assert "Nowhere" in instance.error


def test_cancelling_a_parent_cancels_the_child_it_waits_for(admin, api, engine_runs):
    child = definition("Slow Child", [{"action": "wait", "duration": "P1D"}])
    import_definition(child, publish=True)
    parent = run(admin, definition("Parent", [{"action": "launch_process", "process": "Slow Child", "wait": True}]))
    engine_runs()
    kid = ProcessInstance.objects.get(parent=parent)
    assert kid.status == "waiting"
    assert api("sam").post(f"/api/instances/{parent.pk}/cancel").status_code == 200
    kid.refresh_from_db()
    assert kid.status == "cancelled"
    assert not PendingEvent.objects.filter(instance__in=[parent, kid]).exists()


def test_a_child_cancelled_alone_puts_its_waiting_parent_in_error(admin, api, engine_runs):
    import_definition(definition("Slow Child", [{"action": "wait", "duration": "P1D"}]), publish=True)
    parent = run(admin, definition("Parent", [{"action": "launch_process", "process": "Slow Child", "wait": True}]))
    engine_runs()
    kid = ProcessInstance.objects.get(parent=parent)
    api("sam").post(f"/api/instances/{kid.pk}/cancel")
    engine_runs()
    parent.refresh_from_db()
    assert parent.status == "error"
    assert "cancelled" in parent.error


def test_an_event_for_an_ended_instance_is_dropped_and_recorded(admin, api):
    instance = run(admin, definition("Timer", [{"action": "wait", "duration": "PT1H"}]))
    event = PendingEvent.objects.create(instance=instance, kind="timer", token="w99", due_at=timezone.now())
    api("sam").post(f"/api/instances/{instance.pk}/cancel")
    # cancel removes pending events; one that arrives afterwards (a late result) is dropped
    late = PendingEvent.objects.create(instance=instance, kind="timer", token="w1", due_at=timezone.now())
    assert runtime.process_pending_event(late.pk) is True
    assert not PendingEvent.objects.filter(pk__in=[event.pk, late.pk]).exists()
    assert HistoryEntry.objects.filter(instance=instance, what="event_dropped").count() == 1


def test_events_of_an_instance_in_error_wait_for_the_supervisor(admin, api, engine_runs, time_passes):
    document = definition("Two Threads", [{"action": "parallel", "branches": [
        [{"action": "wait", "duration": "PT1M"}],
        [{"action": "assign", "variable": "x", "value": "1 / zero"}],
    ]}], [{"name": "x", "type": "decimal"}, {"name": "zero", "type": "integer", "default": 0}])
    instance = run(admin, document)
    assert instance.status == "error"
    time_passes(timedelta(minutes=2))
    assert engine_runs() == 0  # the timer stays pending while the instance is in error
    assert PendingEvent.objects.filter(instance=instance, kind="timer").exists()
    api("sam").post(f"/api/instances/{instance.pk}/skip")
    engine_runs()
    instance.refresh_from_db()
    assert instance.status == "completed"


@pytest.mark.usefixtures("runs_here")  # the runner runs in this process, after the commit
def test_an_external_action_runs_after_the_commit_and_on_error_handles_its_failure(
        admin, settings, mailoutbox, django_capture_on_commit_callbacks):
    document = definition("Mailer", [
        {"action": "send_email", "to": "\"a@example.com\"", "subject": "Hi", "body": "Hello",
         "on_error": [{"action": "assign", "variable": "failure", "value": "error[\"type\"]"}]},
    ], [{"name": "failure", "type": "string"}])
    import_definition(document, publish=True)
    with django_capture_on_commit_callbacks() as callbacks:
        instance = instances.launch_process(admin, "Mailer", {})
    instance.refresh_from_db()
    assert (instance.waiting_on, mailoutbox) == ("external", [])  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    instance.refresh_from_db()
    assert (instance.status, instance.execution["globals"]["failure"]) == ("completed", None)
    assert [message.subject for message in mailoutbox] == ["Hi"]

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        settings.EMAIL_HOST, settings.EMAIL_PORT = probe.getsockname()
    with django_capture_on_commit_callbacks(execute=True):
        failed = instances.launch_process(admin, "Mailer", {})
    failed.refresh_from_db()
    assert (failed.status, failed.execution["globals"]["failure"]) == ("completed", "connection_failed")


def test_an_unexpected_failure_parks_the_instance_in_error_and_keeps_its_event(admin, api, engine_runs,
                                                                                monkeypatch):
    from processes import engine

    instance = run(admin, definition("Two Timers", [{"action": "wait", "duration": "PT0S"},
                                                     {"action": "wait", "duration": "PT1H"}]))

    def broken_timer_store(*args):
        raise RuntimeError("disk on fire, value 4711")

    monkeypatch.setitem(runtime._appliers, engine.StartTimer, broken_timer_store)
    engine_runs()
    instance.refresh_from_db()
    assert instance.status == "error"
    assert "RuntimeError" in instance.error and "4711" not in instance.error
    assert PendingEvent.objects.filter(instance=instance, kind="timer").count() == 1  # nothing lost

    monkeypatch.undo()
    assert api("sam").post(f"/api/instances/{instance.pk}/retry").json()["status"] == "waiting"
    engine_runs()
    instance.refresh_from_db()
    assert instance.waiting_on == "timer"
    assert instance.execution["counters"]["w"] == 2  # the second wait started, once
