"""Variable-level logging: only ``log: true`` values reach the reporting table, read with View and security."""

from __future__ import annotations

import csv
import io
import logging

import pytest

from administration.models import User
from processes.models import VariableLogEntry
from processes.services import instances
from processes.services.definitions import import_definition

pytestmark = pytest.mark.django_db
SENTINEL = "SENTINEL-7f3a-unlogged"

PAYMENT = {
    "format": "ipa.process/v1", "name": "Payment", "category": "Finance",
    "variables": [
        {"name": "amount", "type": "decimal", "input": True, "log": True},
        {"name": "iban", "type": "string", "input": True, "log": True, "security": "Payroll"},
        {"name": "note", "type": "string", "input": True},
        {"name": "status", "type": "string", "log": True},
    ],
    "start_state": "Pay",
    "states": [{"name": "Pay", "actions": [
        {"action": "assign", "variable": "status", "value": "\"paid\""},
        {"action": "end_process"},
    ]}],
}


@pytest.fixture
def payments(directory):
    import_definition(PAYMENT, publish=True)
    carol = User.objects.get(username="carol")
    return [instances.launch_process(carol, "Payment", {"amount": 10 + i, "iban": "DE89370400440532013000",
                                                      "note": SENTINEL}) for i in range(2)]


def test_only_logged_variables_are_written_and_an_unlogged_sentinel_reaches_no_log_line(directory, caplog):
    caplog.set_level(logging.DEBUG)
    import_definition(PAYMENT, publish=True)
    instance = instances.launch_process(User.objects.get(username="carol"), "Payment",
                                        {"amount": 12, "iban": "DE89370400440532013000", "note": SENTINEL})
    rows = list(VariableLogEntry.objects.filter(instance=instance).values_list("variable", "value", "by"))
    assert sorted(r[0] for r in rows) == ["amount", "iban", "status"]
    assert ("status", "paid") in [(r[0], r[1]) for r in rows]
    assert all(SENTINEL not in str(r) for r in VariableLogEntry.objects.values_list("value", flat=True))
    assert all(SENTINEL not in record.getMessage() for record in caplog.records)


def test_the_report_applies_view_rights_and_security_specifications(payments, api):
    everything = api("carol").get("/api/reports/variables/?variable=iban").json()
    assert everything["count"] == 2 and everything["results"][0]["value"] == "DE89370400440532013000"
    # sam views every instance (Supervisor) but is not on Payroll: the iban rows come without their value.
    masked = api("sam").get("/api/reports/variables/?variable=iban").json()["results"]
    assert len(masked) == 2 and all("value" not in row for row in masked)
    # dave may view no instance he did not start.
    assert api("dave").get("/api/reports/variables/").json()["count"] == 0
    assert api(None).get("/api/reports/variables/").status_code in (401, 403)


def test_the_report_filters_and_streams_csv(payments, api):
    response = api("admin").get("/api/reports/variables/?process=Payment&variable=amount&format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["instance", "process", "version", "variable", "value", "at", "by"]
    assert sorted(r[4] for r in rows[1:]) == ["\"10\"", "\"11\""]  # JSON values: decimals are text
    assert {(r[1], r[3]) for r in rows[1:]} == {("Payment", "amount")}  # each field in its own column
    assert api("admin").get("/api/reports/variables/?after=2999-01-01T00:00:00Z").json()["count"] == 0
    assert api("admin").get("/api/reports/variables/?after=yesterday").status_code == 400


def test_the_report_page_shows_values_and_masks_protected_ones(payments):
    from django.test import Client

    client = Client()
    client.force_login(User.objects.get(username="sam"))
    page = client.get("/reports/variables/?process=Payment").content.decode()
    assert "amount" in page and "protected" in page and "DE89370400440532013000" not in page
    response = client.get("/reports/variables/?process=Payment&format=csv")
    assert response["Content-Type"].startswith("text/csv")


# A state's and a task's locals flagged log: true are written too; unlogged locals never are.
TRANSFER = {
    "format": "ipa.process/v1", "name": "Transfer", "category": "Finance",
    "variables": [{"name": "amount", "type": "decimal", "input": True},
                  {"name": "note", "type": "string", "input": True},
                  {"name": "fee_paid", "type": "decimal"}],
    "start_state": "Review",
    "states": [
        {"name": "Review",
         "variables": [{"name": "verdict", "type": "string", "log": True},
                       {"name": "account", "type": "string", "log": True, "security": "Payroll"},
                       {"name": "scratch", "type": "string"}],
         "actions": [
             {"action": "assign", "variable": "scratch", "value": "note"},
             {"action": "assign", "variable": "verdict", "value": "\"checked\""},
             {"action": "assign", "variable": "account", "value": "\"DE89370400440532013000\""},
             {"action": "call_task", "task": "Fee", "inputs": {"base": "amount"}, "outputs": {"fee_paid": "fee"}},
             {"action": "send_work_item", "work_item": "Approve", "to": {"workgroup": "Managers"},
              "exits": {"approve": [{"action": "change_state", "state": "Done"}]}},
         ]},
        {"name": "Done", "actions": [{"action": "end_process"}]},
    ],
    "tasks": [
        {"name": "Fee", "inputs": ["base"], "outputs": ["fee"],
         "variables": [{"name": "base", "type": "decimal", "log": True},
                       {"name": "fee", "type": "decimal", "log": True},
                       {"name": "memo", "type": "string"}],
         "actions": [{"action": "assign", "variable": "memo", "value": "note"},
                     {"action": "assign", "variable": "fee", "value": "base / 100"}]},
    ],
    "work_items": [
        {"name": "Approve", "description": "Approve a transfer",
         "fields": [{"variable": "verdict", "label": "Verdict"}, {"variable": "scratch", "label": "Scratch"}],
         "buttons": [{"id": "approve", "label": "Approve"}]},
    ],
}


@pytest.fixture
def transfer(directory):
    import_definition(TRANSFER, publish=True)
    return instances.launch_process(User.objects.get(username="carol"), "Transfer",
                                    {"amount": 250, "note": SENTINEL})


def test_logged_state_and_task_locals_are_written_with_their_new_values(transfer):
    rows = list(VariableLogEntry.objects.filter(instance=transfer).order_by("id").values_list("variable", "value"))
    # The state's locals start empty (null) on entry, then take their values; the task's input
    # arrives with the call (the task returned within the step: its locals are gone from the state).
    assert rows == [("verdict", None), ("account", None), ("verdict", "checked"),
                    ("account", "DE89370400440532013000"), ("base", "250"), ("fee", None), ("fee", "2.5")]
    from workitems import services as work_items
    from workitems.models import WorkItem

    bob = User.objects.get(username="bob")
    item = WorkItem.objects.get(instance=transfer)
    work_items.pickup_work_item(bob, item.pk)
    work_items.complete_work_item(bob, item.pk, "approve", {"verdict": "approved by bob", "scratch": SENTINEL})
    latest = VariableLogEntry.objects.filter(instance=transfer).order_by("id").last()
    assert (latest.variable, latest.value, latest.by) == ("verdict", "approved by bob", "bob")


def test_an_unlogged_local_holding_a_sentinel_reaches_no_log_line_and_no_report_row(directory, caplog):
    caplog.set_level(logging.DEBUG)
    import_definition(TRANSFER, publish=True)
    instances.launch_process(User.objects.get(username="carol"), "Transfer", {"amount": 250, "note": SENTINEL})
    assert {r.variable for r in VariableLogEntry.objects.all()} == {"verdict", "account", "base", "fee"}
    assert all(SENTINEL not in str(value) for value in VariableLogEntry.objects.values_list("value", flat=True))
    assert all(SENTINEL not in record.getMessage() for record in caplog.records)


def test_a_logged_local_under_a_specification_is_masked_on_the_api_the_csv_and_the_page(transfer, api):
    # sam views every instance (Supervisor role) but is not on Payroll; carol is.
    assert {row["value"] for row in api("carol").get("/api/reports/variables/?variable=account").json()["results"]
            if row["value"]} == {"DE89370400440532013000"}
    masked = api("sam").get("/api/reports/variables/?variable=account").json()["results"]
    assert len(masked) == 2 and all("value" not in row for row in masked)
    response = api("sam").get("/api/reports/variables/?process=Transfer&format=csv")
    text = b"".join(response.streaming_content).decode()
    assert "account" in text and "DE89370400440532013000" not in text and "\"2.5\"" in text
    from django.test import Client

    client = Client()
    client.force_login(User.objects.get(username="sam"))
    page = client.get("/reports/variables/?process=Transfer").content.decode()
    assert "account" in page and "protected" in page and "DE89370400440532013000" not in page
