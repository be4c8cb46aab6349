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
