"""The engine's hot paths make a fixed, small number of SQL queries (deterministic, unlike timings).

A human step (launching, picking up, completing a work item) is one transaction of at most
six statements, BEGIN and COMMIT included: lock the instance, run the engine, write the
instance, its work items and history. Nothing is read again for the push after the commit.
On SQLite a launch takes one more: it has no sequence to name the instance's id beforehand,
so the row is inserted first and updated by the step.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from administration.models import User
from processes.services import instances
from processes.services.definitions import import_definition
from workitems import services as work_items
from workitems.models import WorkItem

pytestmark = pytest.mark.django_db(transaction=True)  # BEGIN and COMMIT are counted: real transactions

APPROVAL = {
    "format": "ipa.process/v1", "name": "Approval", "start_state": "Main",
    "variables": [{"name": "amount", "type": "decimal", "input": True},
                  {"name": "approved", "type": "boolean", "default": False}],
    "states": [{"name": "Main", "actions": [
        {"action": "send_work_item", "work_item": "Approve", "to": {"user": "{{ initiator }}"},
         "exits": {"approve": [{"action": "assign", "variable": "approved", "value": "true"}]}},
        {"action": "end_process"}]}],
    "work_items": [{"name": "Approve", "description": "Approve {{ amount }}", "fields": [],
                    "buttons": [{"id": "approve", "label": "Approve"}]}],
}


@pytest.fixture
def admin(directory, monkeypatch):
    # The node list and the published version are read at most once a second: counted here as
    # the cached reads they are for a busy process, whatever the machine's speed.
    from processes.services import definitions, nodes

    monkeypatch.setattr(definitions, "PUBLISHED_VIEW_SECONDS", 3600)
    monkeypatch.setattr(nodes, "LAUNCH_VIEW_SECONDS", 3600)
    import_definition(APPROVAL, publish=True)
    admin = User.objects.get(username="admin")
    instances.launch_process(admin, "Approval", {"amount": "1"})  # warm the caches: definitions, parameters
    return admin  # its rights, read once as for a request


def queries(block) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        block()
    return [q["sql"] for q in captured.captured_queries
            if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def test_a_launch_that_sends_a_work_item_takes_at_most_six_statements(admin):
    sql = queries(lambda: instances.launch_process(admin, "Approval", {"amount": "12.50"}))
    assert len(sql) <= (6 if connection.vendor == "postgresql" else 7), "\n".join(sql)
    assert sql[0].startswith("BEGIN") and sql[-1] == "COMMIT", "one transaction, nothing read around it"


def test_picking_up_a_work_item_takes_at_most_six_statements(admin):
    instance = instances.launch_process(admin, "Approval", {"amount": "12.50"})
    item = WorkItem.objects.get(instance=instance)
    sql = queries(lambda: work_items.pickup_work_item(admin, item.pk))
    assert len(sql) <= 6, "\n".join(sql)
    assert sql[0].startswith("BEGIN") and sql[-1] == "COMMIT", "one transaction, nothing read around it"
    item.refresh_from_db()
    assert item.status == "processing"


def test_completing_a_work_item_takes_at_most_six_statements(admin):
    instance = instances.launch_process(admin, "Approval", {"amount": "12.50"})
    item = WorkItem.objects.get(instance=instance)
    work_items.pickup_work_item(admin, item.pk)
    admin = User.objects.get(pk=admin.pk)
    sql = queries(lambda: work_items.complete_work_item(admin, item.pk, "approve", {}))
    assert len(sql) <= 6, "\n".join(sql)
    assert sql[0].startswith("BEGIN") and sql[-1] == "COMMIT", "one transaction, nothing read around it"
    instance.refresh_from_db()
    assert instance.status == "completed"


def test_over_the_api_a_pickup_and_a_completion_read_the_token_then_run_one_transaction(admin, api):
    """The answer is built from the rows the step holds: nothing is read again after the COMMIT."""
    instance = instances.launch_process(admin, "Approval", {"amount": "12.50"})
    item = WorkItem.objects.get(instance=instance)
    client = api("admin")
    token = Token.objects.get(user=admin).key
    for path, body in ((f"/api/workitems/{item.pk}/pickup", None), (f"/api/workitems/{item.pk}/complete",
                                                                     {"button": "approve"})):
        with CaptureQueriesContext(connection) as captured:
            response = client.post(path, body, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["user"] == "admin"
        sql = [q["sql"] for q in captured.captured_queries
               if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
        assert token in sql[0], "\n".join(sql)  # the token's read (a prepared statement on PostgreSQL)
        assert sql[1].startswith("BEGIN") and sql[-1] == "COMMIT", "\n".join(sql)
        assert len(sql) <= 7, "\n".join(sql)
    assert response.json()["status"] == "completed"
