"""The engine's hot paths make a fixed, small number of SQL queries (deterministic, unlike timings).

A human step (launching, completing a work item) is one transaction: lock the instance,
run the engine, write the instance, its work items and history in a few statements.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from administration.models import User
from processes.services import instances
from processes.services.definitions import import_definition
from workitems import services as work_items
from workitems.models import WorkItem

pytestmark = pytest.mark.django_db

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
def admin(directory):
    import_definition(APPROVAL, publish=True)
    admin = User.objects.get(username="admin")
    instances.launch_process(admin, "Approval", {"amount": "1"})  # warm the caches: definitions, parameters
    return User.objects.get(username="admin")


def queries(block) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        block()
    return [q["sql"] for q in captured.captured_queries
            if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def test_a_launch_that_sends_a_work_item_takes_at_most_eight_queries(admin):
    sql = queries(lambda: instances.launch_process(admin, "Approval", {"amount": "12.50"}))
    assert len(sql) <= 8, "\n".join(sql)


def test_completing_a_work_item_takes_at_most_eight_queries(admin):
    instance = instances.launch_process(admin, "Approval", {"amount": "12.50"})
    item = WorkItem.objects.get(instance=instance)
    work_items.pickup_work_item(admin, item.pk)
    admin = User.objects.get(pk=admin.pk)
    sql = queries(lambda: work_items.complete_work_item(admin, item.pk, "approve", {}))
    assert len(sql) <= 8, "\n".join(sql)
    instance.refresh_from_db()
    assert instance.status == "completed"
