"""The lifecycle every external action shares: recorded with the step, run after the commit,
reported back as an event; stalled calls handed out again; on_error, retry, skip, cancel."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from administration.models import User
from processes.external import runner
from processes.models import ExternalCall, HistoryEntry, PendingEvent, ProcessInstance
from processes.services import instances, runtime
from processes.services.definitions import import_definition
from tests.external.sample_handlers import calls
from tests.external.support import definition, handlers_registered, launch, run_process, runs_here  # noqa: F401 - fixtures

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("handlers_registered", "runs_here")]

CUSTOMER = definition("Customer Lookup", [
    {"action": "run_handler", "handler": "customer", "inputs": {"id": "customer_id"},
     "outputs": {"name": "result.customer.name", "balance": "result.customer.balance",
                 "since": "result.customer.since", "first_item": "result.items.0"}},
], [{"name": "customer_id", "type": "string", "input": True}, {"name": "name", "type": "string"},
    {"name": "balance", "type": "decimal"}, {"name": "since", "type": "date"},
    {"name": "first_item", "type": "string"}])

FLAKY = definition("Flaky", [
    {"action": "run_handler", "handler": "flaky", "inputs": {"ok_file": "ok_file"},
     "outputs": {"answer": "result.answer"}},
    {"action": "assign", "variable": "after", "value": "true"},
], [{"name": "ok_file", "type": "string", "input": True}, {"name": "answer", "type": "integer"},
    {"name": "after", "type": "boolean", "default": False}])


@pytest.fixture
def admin(directory):
    return User.objects.get(username="admin")


def test_a_call_is_recorded_with_its_step_and_runs_only_after_the_commit(
        admin, django_capture_on_commit_callbacks):
    import_definition(CUSTOMER, publish=True)
    with django_capture_on_commit_callbacks() as after_commit:
        instance = instances.launch_process(admin, "Customer Lookup", {"customer_id": "7"})
    call = ExternalCall.objects.get(instance=instance)
    assert (call.kind, call.token, call.status, call.owner) == ("run_handler", "w1", "pending", instance.owner)
    assert call.params == {"handler": "customer", "inputs": {"id": "7"}, "timeout": 30}
    assert calls == []  # nothing ran inside the step's transaction
    for callback in after_commit:
        callback()
    call.refresh_from_db()
    assert (call.status, call.error_type, call.params) == ("finished", "", {})  # values are not kept
    assert call.node == runtime.node_storage_id() and call.started_at <= call.finished_at
    instance.refresh_from_db()
    assert instance.status == "completed"
    assert {k: instance.execution["globals"][k] for k in ("name", "balance", "since", "first_item")} == {
        "name": "Ada 7", "balance": "12.50", "since": "2020-02-29", "first_item": "book"}
    assert calls == ["customer 7"]


def test_the_api_shows_the_instance_waiting_on_the_action_until_it_reports(admin, api,
                                                                           django_capture_on_commit_callbacks):
    import_definition(CUSTOMER, publish=True)
    with django_capture_on_commit_callbacks() as after_commit:
        launched = launch(api("admin"), "Customer Lookup", {"customer_id": "9"})
    assert (launched["status"], launched["waiting_on"]) == ("waiting", "external")
    assert "run_handler customer" in launched["waiting_detail"]
    for callback in after_commit:
        callback()
    shown = api("admin").get(f"/api/instances/{launched['id']}/").json()
    assert shown["status"] == "completed" and shown["variables"]["name"] == "Ada 9"
    whats = [entry["what"] for entry in shown["history"]]
    assert whats.index("external_started") < whats.index("external_finished")


def test_a_redelivered_task_finds_the_call_taken_and_does_nothing(admin,
                                                                  django_capture_on_commit_callbacks):
    import_definition(CUSTOMER, publish=True)
    with django_capture_on_commit_callbacks(execute=True):
        instance = instances.launch_process(admin, "Customer Lookup", {"customer_id": "1"})
    call = ExternalCall.objects.get(instance=instance)
    runner.run_call(call.pk)  # the broker delivered the task again
    assert calls == ["customer 1"]
    assert runner.claim_call(call.pk) is None
    assert HistoryEntry.objects.filter(instance=instance, what="external_finished").count() == 1


def test_a_call_left_pending_is_handed_out_again_by_the_sweep_after_the_redispatch_delay(
        admin, settings, engine_runs, django_capture_on_commit_callbacks):
    settings.EXTERNAL_CALL_REDISPATCH_SECONDS = 60
    import_definition(CUSTOMER, publish=True)
    with django_capture_on_commit_callbacks():  # the message to the runner is lost
        instance = instances.launch_process(admin, "Customer Lookup", {"customer_id": "3"})
    with django_capture_on_commit_callbacks(execute=True):
        engine_runs()
    assert calls == []  # handed out a moment ago: still on its way
    ExternalCall.objects.filter(instance=instance).update(dispatched_at=timezone.now() - timedelta(seconds=61))
    with django_capture_on_commit_callbacks(execute=True):
        engine_runs()
    instance.refresh_from_db()
    assert instance.status == "completed" and calls == ["customer 3"]


def test_on_error_runs_with_error_in_scope(api, directory, django_capture_on_commit_callbacks):
    document = definition("Credit", [
        {"action": "run_handler", "handler": "refuse", "inputs": {"reason": "'no history'"},
         "on_error": [{"action": "assign", "variable": "kind", "value": "error['type']"},
                      {"action": "assign", "variable": "why", "value": "error['message']"}]},
        {"action": "assign", "variable": "after", "value": "true"},
    ], [{"name": "kind", "type": "string"}, {"name": "why", "type": "string"},
        {"name": "after", "type": "boolean", "default": False}])
    shown = run_process(api("admin"), django_capture_on_commit_callbacks, document)
    assert shown["status"] == "completed"
    assert shown["variables"] == {"kind": "credit_refused", "why": "the credit bureau refused: no history",
                                  "after": True}


def test_without_on_error_the_instance_stops_in_error_until_a_supervisor_retries(
        api, directory, tmp_path, django_capture_on_commit_callbacks):
    ok_file = tmp_path / "ok"
    shown = run_process(api("admin"), django_capture_on_commit_callbacks, FLAKY, {"ok_file": str(ok_file)})
    assert shown["status"] == "error"
    assert "run_handler flaky failed: the back office is down" in shown["error"]
    sam = api("sam")
    with django_capture_on_commit_callbacks(execute=True):
        assert sam.post(f"/api/instances/{shown['id']}/retry").json()["status"] == "waiting"
    assert sam.get(f"/api/instances/{shown['id']}/").json()["status"] == "error"  # failed again
    ok_file.touch()
    with django_capture_on_commit_callbacks(execute=True):
        sam.post(f"/api/instances/{shown['id']}/retry")
    shown = sam.get(f"/api/instances/{shown['id']}/").json()
    assert shown["status"] == "completed" and shown["variables"]["answer"] == 42 and shown["variables"]["after"]
    assert calls == ["flaky", "flaky", "flaky"]  # the action ran again on each retry
    tokens = list(ExternalCall.objects.filter(instance_id=shown["id"]).values_list("token", "status", "error_type"))
    assert tokens == [("w1", "finished", "unavailable"), ("w2", "finished", "unavailable"), ("w3", "finished", "")]


def test_skip_moves_past_the_failed_action_as_if_it_produced_nothing(api, directory, tmp_path,
                                                                     django_capture_on_commit_callbacks):
    shown = run_process(api("admin"), django_capture_on_commit_callbacks, FLAKY, {"ok_file": str(tmp_path / "no")})
    assert shown["status"] == "error"
    with django_capture_on_commit_callbacks(execute=True):
        skipped = api("sam").post(f"/api/instances/{shown['id']}/skip").json()
    assert skipped["status"] == "completed"
    assert skipped["variables"]["answer"] is None and skipped["variables"]["after"] is True
    assert ExternalCall.objects.filter(instance_id=shown["id"]).count() == 1  # skipping runs nothing


def test_a_result_arriving_for_a_cancelled_instance_is_dropped_and_recorded(
        admin, api, django_capture_on_commit_callbacks):
    import_definition(CUSTOMER, publish=True)
    with django_capture_on_commit_callbacks():
        instance = instances.launch_process(admin, "Customer Lookup", {"customer_id": "5"})
    call = runner.claim_call(ExternalCall.objects.get(instance=instance).pk)  # a runner started it ...
    assert api("sam").post(f"/api/instances/{instance.pk}/cancel").status_code == 200  # ... then this
    result, error = runner.perform(call.kind, call.params)
    event_id = runner.record_outcome(call, result, error)
    runtime.dispatch_events([event_id])
    instance.refresh_from_db()
    assert instance.status == "cancelled"
    assert not PendingEvent.objects.filter(instance=instance).exists()
    dropped = HistoryEntry.objects.get(instance=instance, what="event_dropped")
    assert dropped.detail == "external_finished w1 arrived after the instance ended"
    assert "Ada" not in dropped.detail  # names, never values


def test_a_call_not_yet_started_when_its_instance_is_cancelled_never_runs(
        admin, api, django_capture_on_commit_callbacks):
    import_definition(CUSTOMER, publish=True)
    with django_capture_on_commit_callbacks() as after_commit:
        instance = instances.launch_process(admin, "Customer Lookup", {"customer_id": "6"})
    api("sam").post(f"/api/instances/{instance.pk}/cancel")
    for callback in after_commit:
        callback()
    assert calls == []
    call = ExternalCall.objects.get(instance=instance)
    assert (call.status, call.params) == ("cancelled", {})


def test_an_unexpected_exception_in_a_runner_fails_the_action_as_internal_without_values(
        api, directory, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setitem(runner.RUNNERS, "send_email", "tests.external.sample_handlers.broken_runner")
    document = definition("Mailer", [
        {"action": "send_email", "to": "'s3cret@example.com'", "subject": "Hi", "body": "Hello",
         "on_error": [{"action": "assign", "variable": "failure", "value": "error"}]},
    ], [{"name": "failure", "type": "json"}])
    shown = run_process(api("admin"), django_capture_on_commit_callbacks, document)
    assert shown["variables"]["failure"] == {
        "type": "internal", "message": "send_email failed unexpectedly (KeyError); see the server log"}


def test_a_result_with_no_json_form_fails_the_action(api, directory, django_capture_on_commit_callbacks):
    document = definition("Odd", [{"action": "run_handler", "handler": "unserialisable",
                                   "on_error": [{"action": "assign", "variable": "kind", "value": "error['type']"}]}],
                          [{"name": "kind", "type": "string"}])
    shown = run_process(api("admin"), django_capture_on_commit_callbacks, document)
    assert shown["variables"]["kind"] == "bad_result"


def test_an_external_kind_without_its_module_fails_as_not_available(monkeypatch):
    monkeypatch.setitem(runner.RUNNERS, "invoke_web_service", "processes.external.nowhere.invoke")
    assert runner.perform("invoke_web_service", {"operation": "Add"}) == (
        None, {"type": "not_available", "message": "invoke_web_service is not available on this server"})


def test_the_web_service_runner_is_the_other_module_s_function():
    assert runner.RUNNERS["invoke_web_service"] == "processes.external.web_service.invoke_web_service"


# ------------------------------------------------------------- real commits, real threads


@pytest.mark.django_db(transaction=True)
def test_on_the_embedded_default_calls_run_in_a_pool_so_the_launch_does_not_wait(api, directory, settings,
                                                                                  tmp_path):
    settings.EXTERNAL_CALL_THREADS = 2
    document = definition("Nap", [{"action": "run_handler", "handler": "sleepy",
                                   "inputs": {"seconds": "1.5", "wake_file": "''"},
                                   "outputs": {"slept": "result.slept"}}],
                          [{"name": "slept", "type": "decimal"}])
    import_definition(document, publish=True)
    started = time.monotonic()
    launched = launch(api("admin"), "Nap", {})
    assert time.monotonic() - started < 1.0 and launched["waiting_on"] == "external"
    deadline = time.monotonic() + 20
    while ProcessInstance.objects.get(pk=launched["id"]).status != "completed":
        assert time.monotonic() < deadline, "the call in the pool never reported back"
        time.sleep(0.1)
    assert ProcessInstance.objects.get(pk=launched["id"]).execution["globals"]["slept"] >= "1.5"


@pytest.mark.django_db(transaction=True)
def test_a_long_chain_of_external_actions_runs_one_after_the_other_without_nesting(api, directory, settings):
    settings.EXTERNAL_CALL_THREADS = 0  # in the committing thread: each commit hands out the next call
    document = definition("Many Letters", [
        {"action": "for_each", "collection": "names", "item": "name", "actions": [
            {"action": "run_handler", "handler": "render_template",
             "inputs": {"template": "'Dear {{ who }}'", "values": "{'who': name}"},
             "outputs": {"letter": "result.text"}},
            {"action": "assign", "variable": "count", "value": "count + 1"},
        ]},
    ], [{"name": "names", "type": "list", "input": True}, {"name": "name", "type": "string"},
        {"name": "letter", "type": "string"}, {"name": "count", "type": "integer", "default": 0}])
    import_definition(document, publish=True)
    names = [f"n{i}" for i in range(150)]  # far deeper than the interpreter's recursion limit if nested
    launched = launch(api("admin"), "Many Letters", {"names": names})
    instance = ProcessInstance.objects.get(pk=launched["id"])
    assert instance.status == "completed", instance.error
    assert instance.execution["globals"]["count"] == 150 and instance.execution["globals"]["letter"] == "Dear n149"
