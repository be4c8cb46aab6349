"""``flow_admin``: nodes, the instances each owns, orphans, transfers and takeovers from the command line."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from administration.models import User
from processes.management.commands.flow_admin import Command
from processes.models import ExternalCall, HistoryEntry, ProcessInstance
from processes.services import instances
from processes.services.definitions import import_definition
from tests.services.test_nodes import node

pytestmark = pytest.mark.django_db

TIMER = {"format": "ipa.process/v1", "name": "Timer", "variables": [], "start_state": "Main",
         "states": [{"name": "Main", "actions": [{"action": "wait", "duration": "P1D"}]}]}
MAILER = {"format": "ipa.process/v1", "name": "Mailer", "variables": [], "start_state": "Main",
          "states": [{"name": "Main", "actions": [
              {"action": "send_email", "to": "\"a@example.com\"", "subject": "Hi", "body": "Hello"}]}]}


@pytest.fixture
def admin(directory):
    import_definition(TIMER, publish=True)
    import_definition(MAILER, publish=True)
    return User.objects.get(username="admin")


def owned(admin, owner: str, count: int = 1, process: str = "Timer") -> list[ProcessInstance]:
    made = [instances.launch_process(admin, process, {}) for _ in range(count)]
    ProcessInstance.objects.filter(pk__in=[i.pk for i in made]).update(owner=owner)
    return made


def flow_admin(*args: str) -> list[str]:
    out = StringIO()
    call_command("flow_admin", *args, stdout=out)
    return out.getvalue().splitlines()


def test_nodes_lists_each_node_with_its_state_heartbeat_and_instances_per_status(admin):
    node("n1")
    node("n2", age=90)
    node("n3", stopped_at=timezone.now())
    owned(admin, "n1", 2)
    failing = owned(admin, "n2")
    ProcessInstance.objects.filter(pk=failing[0].pk).update(status="error")
    lines = flow_admin("nodes")
    assert lines[0].split() == ["storage", "id", "host", "pid", "state", "last", "heartbeat", "load", "running",
                                "waiting", "error", "restored_in_error"]
    assert set(lines[1]) == {"-", " "}
    rows = {line.split()[0]: line for line in lines[2:-1]}
    assert set(rows) == {"n1", "n2", "n3"}
    assert " live " in rows["n1"] and rows["n1"].split()[-4:] == ["0", "2", "0", "0"]
    assert " dead " in rows["n2"] and "(90s ago)" in rows["n2"] and rows["n2"].split()[-4:] == ["0", "0", "1", "0"]
    assert " stopped " in rows["n3"]
    assert rows["n1"].split()[-5] == "2" and rows["n2"].split()[-5] == "1"  # the load: running, waiting, error
    assert lines[-1].startswith("Load balance threshold (PAS_LoadBalanceThreshold): 5000.")


def test_nodes_marks_a_node_over_the_load_balance_threshold(admin, monkeypatch):
    from processes.management.commands import flow_admin as command

    monkeypatch.setattr(command, "integer_parameter", lambda name: 1)  # the rule keeps the real one >= 1000
    node("n1")
    owned(admin, "n1", 2)
    lines = flow_admin("nodes")
    assert lines[2].split()[-5:-4] == ["(over)"] and lines[2].split()[-6] == "2"
    assert "threshold (PAS_LoadBalanceThreshold): 1." in lines[-1]


def test_nodes_says_so_when_no_node_has_registered(db):
    assert flow_admin("nodes") == ["No engine node has registered yet."]


def test_instances_lists_an_owner_s_instances_a_page_at_a_time(admin):
    node("n1")
    made = owned(admin, "n1", 3)
    owned(admin, "n2")
    lines = flow_admin("instances", "--owner", "n1", "--page-size", "2")
    assert lines[0].split()[:5] == ["id", "process", "status", "state", "waiting"]
    assert [line.split()[0] for line in lines[2:4]] == [str(made[0].pk), str(made[1].pk)]
    assert lines[4] == "page 1 of 2 (3 instances)"
    second = flow_admin("instances", "--owner", "n1", "--page-size", "2", "--page", "2")
    assert second[2].split()[:4] == [str(made[2].pk), "Timer", "waiting", "Main"]
    assert second[-1] == "page 2 of 2 (3 instances)"
    with pytest.raises(CommandError, match="There is no page 3: n1 has 2 page"):
        flow_admin("instances", "--owner", "n1", "--page-size", "2", "--page", "3")


def test_instances_filters_by_status(admin):
    made = owned(admin, "n1", 2)
    ProcessInstance.objects.filter(pk=made[1].pk).update(status="error")
    lines = flow_admin("instances", "--owner", "n1", "--status", "error")
    assert [line.split()[0] for line in lines[2:-1]] == [str(made[1].pk)]
    assert flow_admin("instances", "--owner", "n1", "--status", "cancelled") == ["n1 owns no cancelled instances."]
    with pytest.raises(CommandError, match="invalid choice: 'broken'"):
        flow_admin("instances", "--owner", "n1", "--status", "broken")


def test_orphans_are_open_instances_of_storage_ids_with_no_live_node(admin):
    node("live")
    node("dead", age=90)
    node("gone", stopped_at=timezone.now())
    owned(admin, "live", 2)
    owned(admin, "dead", 1)
    owned(admin, "gone", 2)
    owned(admin, "web-7", 1)  # launched while no node was live
    ended = owned(admin, "old", 1)
    ProcessInstance.objects.filter(pk=ended[0].pk).update(status="completed")
    lines = flow_admin("orphans")
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:-1]}
    assert rows == {"dead": ["dead", "0", "1", "0", "0"], "gone": ["stopped", "0", "2", "0", "0"],
                    "web-7": ["unknown", "0", "1", "0", "0"]}
    assert lines[-1].startswith("4 orphaned instances.")


def test_orphans_says_so_when_there_are_none(admin):
    node("live")
    owned(admin, "live")
    assert flow_admin("orphans") == ["No orphaned instances: every open instance belongs to a live node."]


def test_transfer_moves_all_or_some_instances_to_a_live_node(admin):
    node("a")
    node("b")
    made = owned(admin, "a", 3)
    assert flow_admin("transfer", "--from", "a", "--to", "b", "--instance", str(made[0].pk)) == [
        "Moved 1 instances from a to b."]
    assert ProcessInstance.objects.get(pk=made[0].pk).owner == "b"
    assert flow_admin("transfer", "--from", "a", "--to", "b", "--all") == ["Moved 2 instances from a to b."]
    assert set(ProcessInstance.objects.values_list("owner", flat=True)) == {"b"}


def test_transfer_from_a_dead_node_restores_its_external_actions_in_error(admin):
    node("dead", age=90)
    node("b")
    [mail] = owned(admin, "dead", process="Mailer")
    ExternalCall.objects.filter(instance=mail).update(status="running", node="dead")  # it never answered
    lines = flow_admin("transfer", "--from", "dead", "--to", "b", "--all")
    assert lines == ["Moved 1 instances from dead to b.",
                     f"Restored in error (an external action was in flight on dead): {mail.pk}"]
    mail.refresh_from_db()
    assert (mail.owner, mail.status) == ("b", "restored_in_error")
    assert HistoryEntry.objects.filter(instance=mail, what="restored_in_error").exists()


def test_transfer_refuses_an_unknown_or_dead_target_and_instances_it_does_not_own(admin):
    node("a")
    node("dead", age=90)
    made = owned(admin, "a")
    with pytest.raises(CommandError, match=r"No engine node has registered with storage id 'nowhere' \(known: a, "):
        flow_admin("transfer", "--from", "a", "--to", "nowhere", "--all")
    with pytest.raises(CommandError, match="Engine node 'dead' is dead; move instances only to a live node"):
        flow_admin("transfer", "--from", "a", "--to", "dead", "--all")
    with pytest.raises(CommandError, match="same storage id"):
        flow_admin("transfer", "--from", "a", "--to", "a", "--all")
    node("b")
    with pytest.raises(CommandError, match="Not open instances owned by 'a': 999999"):
        flow_admin("transfer", "--from", "a", "--to", "b", "--instance", str(made[0].pk), "999999")
    assert ProcessInstance.objects.get(pk=made[0].pk).owner == "a"  # all or nothing
    with pytest.raises(CommandError, match="one of the arguments --all --instance is required"):
        flow_admin("transfer", "--from", "a", "--to", "b")


def test_takeover_moves_the_instances_of_dead_nodes_now(admin):
    node("dead", age=90)
    node("n1")
    node("n2")
    owned(admin, "dead", 3)
    assert flow_admin("takeover") == ["Took over dead: moved 3 instances (2 to n1, 1 to n2); 0 restored in error."]
    assert flow_admin("takeover") == ["No dead node to take over."]


def test_takeover_fails_when_no_node_is_live(admin):
    node("dead", age=90)
    with pytest.raises(CommandError, match="No node is live to take over from dead"):
        flow_admin("takeover")


def test_a_failing_subcommand_exits_non_zero_with_its_message(admin, capsys, monkeypatch):
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)  # keep the test's
    with pytest.raises(SystemExit) as exit_:
        Command().run_from_argv(["manage.py", "flow_admin", "transfer", "--from", "a", "--to", "b", "--all"])
    assert exit_.value.code == 1
    assert "No engine node has registered with storage id 'b'" in capsys.readouterr().err
