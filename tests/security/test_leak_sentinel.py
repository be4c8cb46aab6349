"""The leak test: a sentinel in protected globals and locals, driven through every exit.

carol (on the Payroll specification, through her workgroup) launches instances whose
protected global ``secret`` and protected state and task locals hold a sentinel: work
items with descriptions and fields reading them, an instance in error on a protected
global and one on a protected local, a timer until a protected time, a work item sent to a
protected name. Then every other demo user reads everything they can reach: the API,
the pages, what a socket is pushed (the same serializer, per recipient), history, errors,
the Process Monitor (rows, instance pages with their timeline and locals, the snapshot
and changes /ws/monitor/ pushes, and a real monitor socket), the variable report (page,
API, CSV), Django's admin; and the log records of the whole run. The sentinel appears
nowhere for them, and does for carol (and for an administrator put on the specification).
"""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from tests.conftest import launch
from tests.security.conftest import SENTINEL, probe_process

pytestmark = pytest.mark.django_db

PROTECTED_TIME = "2031-07-07T07:07:00Z"
NOT_ON_PAYROLL = ["admin", "alice", "bob", "dave", "sam"]
PASSWORDS = {name: f"{name}-pass" for name in [*NOT_ON_PAYROLL, "carol"]}
SECRET = {"name": "secret", "type": "string", "input": True, "security": "Payroll", "log": True}


def single_state(name: str, *actions, variables=(SECRET,), locals_=(), work_items=()) -> dict:
    return probe_process(name=name, variables=list(variables), tasks=[], work_items=list(work_items),
                         start_state="Only",
                         states=[{"name": "Only", "variables": list(locals_), "actions": list(actions)}])


PROBES = [
    single_state("Error On Global", {"action": "assign", "variable": "n", "value": "int(secret)"},
                 variables=[SECRET, {"name": "n", "type": "integer"}]),
    single_state("Error On Local",
                 {"action": "assign", "variable": "kept", "value": "secret"},
                 {"action": "assign", "variable": "n", "value": "kept_book[kept]"},
                 locals_=[{"name": "kept", "type": "string", "security": "Payroll"},
                          {"name": "kept_book", "type": "json", "default": {}},
                          {"name": "n", "type": "integer"}]),
    single_state("Protected Timer", {"action": "wait", "until": "when"},
                 variables=[SECRET, {"name": "when", "type": "datetime", "input": True, "security": "Payroll"}]),
    single_state("Protected Recipient",
                 {"action": "send_work_item", "work_item": "Look", "to": {"user": "{{ secret }}"},
                  "exits": {"done": []}},
                 work_items=[{"name": "Look", "description": "{{ secret }}", "fields": [{"variable": "secret"}],
                              "buttons": [{"id": "done", "label": "Done"}]}]),
]


@pytest.fixture
def driven(leak_probe, publish, api, caplog):
    """Every probe launched by carol; the Leak Probe once for bob, once for carol, once for alice."""
    caplog.set_level(logging.DEBUG)
    for document in PROBES:
        publish(document)
    carol = api("carol")
    ids = [launch(carol, "Leak Probe", {"who": who, "secret": SENTINEL})["id"] for who in ("bob", "carol", "alice")]
    ids.append(launch(carol, "Error On Global", {"secret": SENTINEL})["id"])
    ids.append(launch(carol, "Error On Local", {"secret": SENTINEL})["id"])
    ids.append(launch(carol, "Protected Timer", {"secret": SENTINEL, "when": PROTECTED_TIME})["id"])
    ids.append(launch(carol, "Protected Recipient", {"secret": SENTINEL})["id"])
    return ids


def text_of(response) -> str:
    """A response's body, streamed (the CSV report) or not."""
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def monitor_pushes(user, instance_ids: list[int]) -> list[str]:
    """What /ws/monitor/ pushes to ``user``: the snapshot of a filter matching everything, and a
    ``changed`` row per instance (built as the consumer builds them; the real socket is below)."""
    from administration import policy
    from monitor import services
    from monitor.filters import parse_filter

    if not policy.can_monitor(user):
        return []
    pushed = [str(services.snapshot(user, parse_filter({})))]
    return pushed + [str(services.current_row(user, pk)) for pk in instance_ids]


def everything(username: str, api, instance_ids: list[int]) -> str:
    """All that ``username`` can read: API, pages, pushes, reports, the monitor, admin."""
    from administration.models import User
    from workitems import delivery
    from workitems.models import WorkItem

    client = api(username)
    texts = [text_of(client.get(path)) for path in (
        "/api/me/", "/api/processes/", "/api/instances/", "/api/workitems/", "/api/queues/",
        "/api/reports/variables/", "/api/reports/variables/?format=csv")]
    texts += [client.get(f"/api/instances/{pk}/").content.decode() for pk in instance_ids]
    items = list(WorkItem.objects.all())
    texts += [client.get(f"/api/workitems/{item.pk}/").content.decode() for item in items]
    user = User.objects.get(username=username)
    # What /ws/workitems/ pushes: each item serialized for its recipient (snapshot, added, changed).
    texts += [str(delivery.serialize_for(user, item)) for item in items if item.user_id == user.pk]
    texts += monitor_pushes(user, instance_ids)
    browser = Client()
    assert browser.login(username=username, password=PASSWORDS[username])
    pages = ["/", "/workitems/", "/processes/", "/instances/", *(f"/instances/{pk}/" for pk in instance_ids),
             *(f"/workitems/{item.pk}/" for item in items),
             "/reports/variables/", "/reports/variables/?format=csv",
             "/monitor/", "/monitor/queues/", "/monitor/trouble/",
             *(f"/monitor/instances/{pk}/" for pk in instance_ids)]
    if user.is_superuser:
        pages += ["/admin/processes/processinstance/", "/admin/authtoken/tokenproxy/",
                  *(f"/admin/processes/processinstance/{pk}/change/" for pk in instance_ids)]
    texts += [text_of(browser.get(path)) for path in pages]
    return "\n".join(texts)


@pytest.mark.parametrize("username", NOT_ON_PAYROLL)
def test_the_sentinel_reaches_no_user_off_the_specification(driven, api, username):
    read = everything(username, api, driven)
    assert SENTINEL not in read
    assert "2031-07-07" not in read


def test_the_sentinel_reaches_the_user_on_the_specification(driven, api):
    read = everything("carol", api, driven)
    assert f"S={SENTINEL}-S" in read  # a state local in a description
    assert f"T={SENTINEL}-T" in read  # a task local in a description
    assert f'"value":"{SENTINEL}"' in read.replace(" ", "")  # the variable report, API
    assert f',secret,"""{SENTINEL}""",' in read  # the CSV report (a JSON string, quoted)
    detail = api("carol").get(f"/api/instances/{driven[0]}/").json()
    assert detail["variables"]["secret"] == SENTINEL


def test_the_monitor_shows_an_administrator_on_the_specification_the_protected_values(driven, api):
    from administration.models import User, Workgroup

    User.objects.get(username="admin").workgroups.add(Workgroup.objects.get(name="Payroll"))
    browser = Client()
    assert browser.login(username="admin", password=PASSWORDS["admin"])
    page = browser.get(f"/monitor/instances/{driven[1]}/").content.decode()
    assert SENTINEL in page  # the global
    assert f"{SENTINEL}-S" in page and f"{SENTINEL}-T" in page  # the state and task locals


def test_the_log_records_of_the_whole_run_hold_no_value(driven, api, caplog):
    for username in [*NOT_ON_PAYROLL, "carol"]:
        everything(username, api, driven)
    logged = caplog.text  # every record as a handler writes it, tracebacks included
    assert SENTINEL not in logged
    assert "2031-07-07" not in logged


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("live_engine_node")
def test_the_monitor_socket_pushes_no_sentinel_to_a_supervisor_off_the_specification(leak_probe, publish, api):
    """The real /ws/monitor/: sam (Process Monitor, not on Payroll) watches every instance while
    carol launches the probes; no snapshot or change pushed to him holds the sentinel."""
    from asgiref.sync import sync_to_async

    from tests.monitor.test_socket import run, socket_of

    for document in PROBES:
        publish(document)
    carol = api("carol")
    launches = [("Leak Probe", {"who": "bob", "secret": SENTINEL}), ("Error On Global", {"secret": SENTINEL}),
                ("Error On Local", {"secret": SENTINEL}),
                ("Protected Timer", {"secret": SENTINEL, "when": PROTECTED_TIME}),
                ("Protected Recipient", {"secret": SENTINEL})]

    received: list[dict] = []

    async def scenario():
        socket = await socket_of("sam")
        assert (await socket.subscribe({}))["type"] == "snapshot"
        launched = {(await sync_to_async(launch)(carol, name, inputs))["id"] for name, inputs in launches}
        pushed: set[int] = set()
        while not launched <= pushed:
            message = await socket.receive_until(lambda m: m["type"] == "changed")
            pushed.add(message["instance"]["id"])
        await socket.close()
        received.extend(socket.received)

    run(scenario)
    assert received and any(m["type"] == "changed" and m["instance"]["status"] == "error" for m in received)
    read = json.dumps(received)
    assert SENTINEL not in read
    assert "2031-07-07" not in read
