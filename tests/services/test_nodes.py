"""Engine nodes: registration, heartbeats, ownership at launch, clean stops and takeover of dead nodes."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from administration.models import ServerParameter, User
from administration.parameters import forget_parameters, integer_parameter
from processes.models import EngineNode, ExternalCall, HistoryEntry, PendingEvent, ProcessInstance
from processes.services import instances, nodes, runtime
from processes.services.definitions import import_definition
from tests.external.support import runs_here  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

LAUNCH = "/api/processes/Expense%20Approval/launch"
TIMER = {"format": "ipa.process/v1", "name": "Timer", "variables": [], "start_state": "Main",
         "states": [{"name": "Main", "actions": [{"action": "wait", "duration": "P1D"}]}]}
MAILER = {"format": "ipa.process/v1", "name": "Mailer", "variables": [{"name": "failure", "type": "string"}],
          "start_state": "Main", "states": [{"name": "Main", "actions": [
              {"action": "send_email", "to": "\"a@example.com\"", "subject": "Hi", "body": "Hello",
               "on_error": [{"action": "assign", "variable": "failure", "value": "error[\"type\"]"}]}]}]}


@pytest.fixture
def admin(directory):
    import_definition(TIMER, publish=True)
    import_definition(MAILER, publish=True)
    return User.objects.get(username="admin")


def node(storage_id: str, *, age: float = 0, **fields) -> EngineNode:
    """A registered node whose last heartbeat was ``age`` seconds ago."""
    nodes.register_node(storage_id)
    EngineNode.objects.filter(storage_id=storage_id).update(
        heartbeat_at=timezone.now() - timedelta(seconds=age), **fields)
    nodes.forget_nodes()
    return EngineNode.objects.get(storage_id=storage_id)


def launch(admin, process: str, owner: str) -> ProcessInstance:
    instance = instances.launch_process(admin, process, {})
    ProcessInstance.objects.filter(pk=instance.pk).update(owner=owner)
    instance.refresh_from_db()
    return instance


def in_flight_mail(admin, owner: str) -> ProcessInstance:
    """A Mailer whose send_email a runner on ``owner`` started and never reported back."""
    instance = launch(admin, "Mailer", owner)
    assert (instance.status, instance.waiting_on) == ("waiting", "external")
    ExternalCall.objects.filter(instance=instance).update(status="running", node=owner, started_at=timezone.now())
    return instance


def set_parameter(name: str, value: str) -> None:
    ServerParameter.objects.update_or_create(name=name, defaults={"value": value})
    forget_parameters()


# ------------------------------------------------------------------ registration, heartbeats


def test_a_node_registers_with_its_host_and_pid_and_each_beat_moves_its_heartbeat():
    registered = nodes.register_node("n1")
    assert registered.hostname and registered.pid and registered.stopped_at is None
    EngineNode.objects.filter(pk=registered.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    nodes.beat("n1")
    assert EngineNode.objects.get(pk=registered.pk).heartbeat_at > timezone.now() - timedelta(seconds=5)
    nodes.beat("n2")  # a beat from a node whose row is gone registers it again
    assert EngineNode.objects.filter(storage_id="n2").exists()


def test_a_node_without_a_name_is_this_process_s_storage_id(settings):
    settings.ENGINE_STORAGE_ID = "engine-7"
    assert nodes.register_node().storage_id == "engine-7"


def test_a_node_is_live_only_while_its_heartbeat_is_younger_than_the_timeout(settings):
    settings.ENGINE_NODE_TIMEOUT = 30
    now = timezone.now()
    assert nodes.node_state(node("fresh", age=29), now) == "live"
    assert nodes.node_state(node("late", age=31), now) == "dead"
    assert nodes.node_state(node("gone", age=1, stopped_at=now), now) == "stopped"
    assert nodes.node_state(node("lost", age=99, stopped_at=now, taken_over_by="n2"), now) == "taken over"
    assert nodes.node_state(node("claimed", age=99, restoring_until=now + timedelta(seconds=9)), now) == "restoring"
    settings.ENGINE_NODE_TIMEOUT = 120
    assert nodes.node_state(node("late", age=31), now) == "live"


def test_the_embedded_engine_loop_registers_then_beats_once_per_interval(settings):
    settings.ENGINE_NODE_TIMEOUT = 30  # a beat every 5 seconds
    heartbeat = nodes.Heartbeat("embedded")
    heartbeat.beat_if_due()
    assert EngineNode.objects.filter(storage_id="embedded").exists()
    EngineNode.objects.filter(storage_id="embedded").update(heartbeat_at=timezone.now() - timedelta(seconds=20))
    heartbeat.beat_if_due()  # not due yet: no write
    assert nodes.node_state(EngineNode.objects.get(), timezone.now()) == "live"
    assert EngineNode.objects.get().heartbeat_at < timezone.now() - timedelta(seconds=19)
    heartbeat._last_beat -= 5
    heartbeat.beat_if_due()
    assert EngineNode.objects.get().heartbeat_at > timezone.now() - timedelta(seconds=5)


@pytest.mark.django_db(transaction=True)
def test_a_worker_node_beats_from_its_own_thread_and_hands_over_when_it_stops(directory, settings):
    settings.ENGINE_NODE_TIMEOUT = 1.2  # a beat every 0.2 seconds
    settings.ENGINE_STORAGE_ID = "worker-1"
    import_definition(TIMER, publish=True)
    node("worker-2")
    nodes.start_worker_node()
    first = EngineNode.objects.get(storage_id="worker-1").heartbeat_at
    instance = instances.launch_process(User.objects.get(username="admin"), "Timer", {})
    ProcessInstance.objects.filter(pk=instance.pk).update(owner="worker-1")
    time.sleep(0.7)
    EngineNode.objects.filter(storage_id="worker-2").update(heartbeat_at=timezone.now())
    assert EngineNode.objects.get(storage_id="worker-1").heartbeat_at > first
    nodes.stop_worker_node()
    stopped = EngineNode.objects.get(storage_id="worker-1")
    assert nodes.node_state(stopped, timezone.now()) == "stopped"
    assert ProcessInstance.objects.get(pk=instance.pk).owner == "worker-2"


def test_a_clean_stop_with_no_live_node_left_keeps_the_instances(admin):
    node("n1")
    instance = launch(admin, "Timer", "n1")
    assert nodes.stop_node("n1") == {}
    assert ProcessInstance.objects.get(pk=instance.pk).owner == "n1"
    assert nodes.node_state(EngineNode.objects.get(storage_id="n1"), timezone.now()) == "stopped"


# ---------------------------------------------------------------------- ownership at launch


def test_with_no_live_node_a_new_instance_belongs_to_this_process_s_storage_id(admin, settings):
    settings.ENGINE_STORAGE_ID = "web-1"
    node("dead", age=60)
    node("stopped", stopped_at=timezone.now())
    assert instances.launch_process(admin, "Timer", {}).owner == "web-1"


def test_a_new_instance_goes_to_the_least_loaded_live_node(admin):
    node("n1")
    node("n2")
    node("n3", age=60)  # dead: never chosen, however idle
    launch(admin, "Timer", "n1")
    launch(admin, "Timer", "n1")
    launch(admin, "Timer", "n2")
    ProcessInstance.objects.filter(owner="n2").update(status="completed")  # ended ones are no load
    nodes.forget_nodes()
    assert instances.launch_process(admin, "Timer", {}).owner == "n2"


def test_launches_within_one_view_of_the_nodes_spread_over_them_without_a_query(
        django_assert_num_queries, admin):
    node("n1")
    node("n2")
    integer_parameter("PAS_LoadBalanceThreshold")  # server parameters have their own cache
    with django_assert_num_queries(1):
        first = nodes.owner_for_new_instance()
    with django_assert_num_queries(0):
        others = [nodes.owner_for_new_instance() for _ in range(3)]
    assert sorted([first, *others]) == ["n1", "n1", "n2", "n2"]


def test_a_node_over_the_threshold_is_chosen_only_when_every_node_is_over():
    assert nodes.choose_owner({"a": 1001, "b": 999}, threshold=1000) == "b"
    assert nodes.choose_owner({"a": 1001, "b": 1002}, threshold=1000) == "a"  # all over: least-loaded
    assert nodes.choose_owner({"a": 7, "b": 7}, threshold=1000) == "a"  # ties: by storage id
    assert nodes.choose_owner({}, threshold=1000) is None


def test_the_threshold_is_the_pas_load_balance_threshold_parameter(admin):
    set_parameter("PAS_LoadBalanceThreshold", "1")
    node("n1")
    node("n2")
    launch(admin, "Timer", "n1")
    launch(admin, "Timer", "n1")
    launch(admin, "Timer", "n2")
    nodes.forget_nodes()
    assert [nodes.owner_for_new_instance() for _ in range(3)] == ["n2", "n1", "n2"]


# -------------------------------------------------------------------------------- takeover


def test_a_dead_node_s_instances_go_to_the_live_nodes_least_loaded_first(admin):
    node("dead", age=60)
    node("n2")
    node("n3")
    launch(admin, "Timer", "n3")
    moving = [launch(admin, "Timer", "dead") for _ in range(3)]
    ended = launch(admin, "Timer", "dead")
    ProcessInstance.objects.filter(pk=ended.pk).update(status="completed")
    [handover] = nodes.take_over_dead_nodes()
    assert (handover.source, handover.moved, handover.restored_in_error) == ("dead", {"n2": 2, "n3": 1}, [])
    owners = [ProcessInstance.objects.get(pk=i.pk).owner for i in moving]
    assert owners == ["n2", "n2", "n3"]
    assert ProcessInstance.objects.get(pk=ended.pk).owner == "dead"  # history stays where it was
    taken = EngineNode.objects.get(storage_id="dead")
    assert nodes.node_state(taken, timezone.now()) == "taken over"
    assert taken.taken_over_by == runtime.node_storage_id() and taken.restoring_until is None
    assert nodes.take_over_dead_nodes() == []  # once is enough


@pytest.mark.usefixtures("runs_here")  # the retried email runs in this process, after the commit
def test_an_external_action_in_flight_on_a_dead_node_is_restored_in_error(admin, api, engine_runs, mailoutbox,
                                                                         django_capture_on_commit_callbacks):
    node("dead", age=60)
    node("n2")
    mail = in_flight_mail(admin, "dead")
    timer = launch(admin, "Timer", "dead")
    engine_runs()  # the sweep hook takes over
    mail.refresh_from_db()
    assert (mail.owner, mail.status, mail.waiting_on) == ("n2", "restored_in_error", "external")
    assert "node dead stopped responding" in mail.error and "send_email" in mail.error
    entry = HistoryEntry.objects.get(instance=mail, what="restored_in_error")
    assert entry.detail == "node dead stopped responding"
    timer.refresh_from_db()
    assert (timer.owner, timer.status) == ("n2", "waiting")
    assert ExternalCall.objects.get(instance=mail).status == "lost"
    # the supervisor retries: the email goes out again, after the commit
    with django_capture_on_commit_callbacks(execute=True):
        assert api("sam").post(f"/api/instances/{mail.pk}/retry").status_code == 200
    mail.refresh_from_db()
    assert mail.status == "completed" and mail.execution["globals"]["failure"] is None
    assert [message.to for message in mailoutbox] == [["a@example.com"]]


def test_an_external_action_whose_result_is_recorded_is_not_in_flight(admin):
    node("dead", age=60)
    node("n2")
    mail = launch(admin, "Mailer", "dead")
    ExternalCall.objects.filter(instance=mail).update(status="finished")  # the runner answered:
    PendingEvent.objects.create(instance=mail, kind="external_finished", token="w1", due_at=timezone.now())
    [handover] = nodes.take_over_dead_nodes()
    assert handover.restored_in_error == []
    mail.refresh_from_db()
    assert (mail.owner, mail.status) == ("n2", "waiting")


def test_nothing_is_taken_over_when_no_node_is_live(admin):
    node("dead", age=60)
    node("also-dead", age=90)
    mail = in_flight_mail(admin, "dead")
    assert nodes.take_over_dead_nodes() == []
    mail.refresh_from_db()
    assert (mail.owner, mail.status) == ("dead", "waiting")
    assert EngineNode.objects.get(storage_id="dead").restoring_until is None


def test_a_node_another_node_is_restoring_is_left_to_it_until_its_claim_runs_out(admin):
    node("dead", age=60, restoring_until=timezone.now() + timedelta(seconds=20))
    node("n2")
    launch(admin, "Timer", "dead")
    assert nodes.take_over_dead_nodes() == []
    EngineNode.objects.filter(storage_id="dead").update(restoring_until=timezone.now() - timedelta(seconds=1))
    assert [h.total for h in nodes.take_over_dead_nodes()] == [1]


def test_a_node_that_beats_again_before_its_instances_move_keeps_them(admin, monkeypatch):
    node("slow", age=60)
    node("n2")
    instance = launch(admin, "Timer", "slow")
    claim = nodes._claim

    def claim_then_wake_up(storage_id):
        lease = claim(storage_id)
        nodes.beat(storage_id)
        return lease

    monkeypatch.setattr(nodes, "_claim", claim_then_wake_up)
    assert nodes.take_over_dead_nodes() == []
    assert ProcessInstance.objects.get(pk=instance.pk).owner == "slow"
    slow = EngineNode.objects.get(storage_id="slow")
    assert nodes.node_state(slow, timezone.now()) == "live" and slow.restoring_until is None


def test_a_failing_takeover_does_not_stop_the_sweep(admin, monkeypatch, engine_runs):
    node("dead", age=60)
    node("n2")

    def broken(storage_id):
        raise RuntimeError("database went away")

    monkeypatch.setattr(nodes, "take_over", broken)
    engine_runs()  # logged, not raised


# ------------------------------------------------------------------- launches during restore


def test_launches_are_refused_with_503_while_a_takeover_restores_if_the_parameter_says_so(demo, api):
    node("dead", age=60, restoring_until=timezone.now() + timedelta(seconds=20))
    node("n2")
    dave = api("dave")
    inputs = {"inputs": {"employee": "dave", "amount": "500"}}
    assert dave.post(LAUNCH, inputs, format="json").status_code == 201  # the parameter is off by default
    set_parameter("PAS_blockLaunchDuringRestore", "Yes")
    blocked = dave.post(LAUNCH, inputs, format="json")
    assert blocked.status_code == 503
    assert blocked["Retry-After"] == "5"
    assert "PAS_blockLaunchDuringRestore" in blocked.json()["detail"]
    EngineNode.objects.filter(storage_id="dead").update(restoring_until=None, stopped_at=timezone.now(),
                                                         taken_over_by="n2")
    nodes.forget_nodes()
    assert dave.post(LAUNCH, inputs, format="json").status_code == 201


def test_an_instance_launched_onto_a_node_just_after_it_stopped_goes_to_a_live_node(admin):
    node("n2")
    node("gone", stopped_at=timezone.now())  # a launch whose node list was read before the stop
    late = launch(admin, "Timer", "gone")
    [handover] = nodes.take_over_dead_nodes()
    assert (handover.source, handover.moved) == ("gone", {"n2": 1})
    assert ProcessInstance.objects.get(pk=late.pk).owner == "n2"
    assert nodes.take_over_dead_nodes() == []


def test_a_node_that_went_long_ago_is_not_looked_at_again(admin):
    node("n2")
    node("gone", stopped_at=timezone.now() - nodes.LATE_LAUNCH_WINDOW - timedelta(seconds=1))
    kept = launch(admin, "Timer", "gone")
    assert nodes.take_over_dead_nodes() == []
    assert ProcessInstance.objects.get(pk=kept.pk).owner == "gone"  # flow_admin transfer moves it by hand
