"""Each external action runs end to end on the production stack, in a separate Celery node.

A process launched through the API calls the spyne calculator over HTTPS (its test CA trusted
through a CertificateAuthority row, no public CAs, no bundle file), runs a sample handler,
inserts and reads back a row of a PostgreSQL data source, and emails the results to two
recipients through an aiosmtpd server. The test process only launches: one real
``celery -A ipa_portal worker -B`` node, started against the test database and Redis, runs
every call and every step after the launch (issue 5, "Done when").
"""

import psycopg2
import pytest
from django.conf import settings
from django.db import connection

from administration.models import CertificateAuthority, DataSource
from processes.models import EngineNode, ExternalCall, HistoryEntry, ProcessInstance
from processes.services import runtime
from processes.services.definitions import import_definition
from tests.external import peers
from tests.external.support import definition, handlers_registered  # noqa: F401 - fixture
from tests.external.test_crash_recovery import celery_node, kill, status, wait_until
from tests.external.test_database import postgres_url as scratch_database_url
from tests.external.test_email import smtp, text  # noqa: F401 - fixture

_quiet_spyne, test_ca, https_peer = peers._quiet_spyne, peers.test_ca, peers.https_peer

pytestmark = [
    pytest.mark.celery,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(settings.EMBEDDED or connection.vendor != "postgresql",
                       reason="needs a real Celery node: PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)"),
]

NODE = "production-node"
TABLE = "ipa_production_orders"
ACTIONS = ["invoke_web_service add", "run_handler customer", "database orders", "send_email"]


def order_process(wsdl: str) -> dict:
    return definition("Production Order", [
        {"action": "invoke_web_service", "wsdl": wsdl, "operation": "add", "inputs": {"a": "a", "b": "b"},
         "timeout": 20, "outputs": {"sum": "result"}},
        {"action": "run_handler", "handler": "customer", "inputs": {"id": "sum"}, "timeout": 20,
         "outputs": {"customer_name": "result.customer.name", "balance": "result.customer.balance",
                     "first_item": "result.items.0"}},
        {"action": "database", "data_source": "orders",
         "sql": f"INSERT INTO {TABLE} (customer, quantity, price) VALUES (%(customer)s, %(quantity)s, %(price)s) "
                "RETURNING id, customer, quantity, price",
         "params": {"customer": "customer_name", "quantity": "sum", "price": "balance"},
         "result": {"mode": "first_row", "into": "order"}},
        {"action": "send_email", "to": "[email, 'archive@example.com']",
         "subject": "Order {{ order['id'] }} for {{ customer_name }}",
         "body": "Dear {{ customer_name }},\n{{ a }} + {{ b }} = {{ sum }} x {{ first_item }} at {{ balance }} "
                 "is order {{ order['id'] }}."},
    ], [{"name": "a", "type": "integer", "input": True}, {"name": "b", "type": "integer", "input": True},
        {"name": "email", "type": "string", "input": True}, {"name": "sum", "type": "integer"},
        {"name": "customer_name", "type": "string"}, {"name": "balance", "type": "decimal"},
        {"name": "first_item", "type": "string"}, {"name": "order", "type": "json"}])


@pytest.fixture
def orders_data_source():
    """The data source ``orders``: a table in the scratch PostgreSQL database of the database tests."""
    url = scratch_database_url()
    scratch = psycopg2.connect(url)
    with scratch, scratch.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id SERIAL PRIMARY KEY, customer VARCHAR(100), "
                       "quantity INTEGER, price NUMERIC(10, 2))")
    scratch.close()
    DataSource.objects.create(name="orders", url=url)
    return url


def stored_order(url: str, order_id: int) -> tuple:
    scratch = psycopg2.connect(url)
    try:
        with scratch.cursor() as cursor:
            cursor.execute(f"SELECT customer, quantity, price::text FROM {TABLE} WHERE id = %s", (order_id,))
            return cursor.fetchone()
    finally:
        scratch.close()


def test_every_external_action_runs_end_to_end_on_a_separate_celery_node(
        directory, handlers_registered, api, https_peer, test_ca, smtp, orders_data_source,  # noqa: F811
        monkeypatch, tmp_path):
    from ipa_portal.celery import app

    CertificateAuthority.objects.create(name="IPA test CA", certificate=test_ca.cert_pem.bytes().decode())
    import_definition(order_process(https_peer.wsdl), publish=True)
    app.control.purge()
    for name, value in {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(settings.EMAIL_PORT), "EMAIL_USE_TLS": "false",
                        "DEFAULT_FROM_EMAIL": "portal@example.com", "IPA_TRUST_PUBLIC_CAS": "false",
                        "IPA_CA_BUNDLE": ""}.items():
        monkeypatch.setenv(name, value)  # the node's environment: celery_node passes this process's on
    log = tmp_path / f"{NODE}.log"
    node = celery_node(tmp_path, NODE)
    try:
        wait_until(lambda: EngineNode.objects.filter(storage_id=NODE).exists(), 60, "the node to register", node, log)
        launched = api("admin").post("/api/processes/Production%20Order/launch",
                                     {"inputs": {"a": 19, "b": 23, "email": "ada@example.com"}}, format="json")
        assert launched.status_code == 201, launched.json()
        instance_id = launched.json()["id"]
        wait_until(lambda: status(instance_id) not in ("running", "waiting"), 60, "the instance to end", node, log)
    finally:
        kill(node)

    instance = ProcessInstance.objects.get(pk=instance_id)
    assert instance.status == "completed", f"{instance.status}: {instance.error}\n{log.read_text()[-3000:]}"
    shown = api("admin").get(f"/api/instances/{instance_id}/").json()["variables"]
    order = shown["order"]
    assert (shown["sum"], shown["customer_name"], shown["balance"], shown["first_item"]) == (42, "Ada 42", "12.50",
                                                                                            "book")
    assert order == {"id": order["id"], "customer": "Ada 42", "quantity": 42, "price": "12.50"}
    assert stored_order(orders_data_source, order["id"]) == ("Ada 42", 42, "12.50")

    [envelope] = smtp.envelopes
    assert envelope.mail_from == "portal@example.com"
    assert envelope.rcpt_tos == ["ada@example.com", "archive@example.com"]
    [message] = smtp.messages()
    assert message["To"] == "ada@example.com, archive@example.com"
    assert message["Subject"] == f"Order {order['id']} for Ada 42"
    assert text(message) == f"Dear Ada 42,\n19 + 23 = 42 x book at 12.50 is order {order['id']}."

    calls = ExternalCall.objects.filter(instance_id=instance_id).order_by("id")
    assert [(call.kind, call.status, call.error_type, call.node) for call in calls] == [
        (kind, "finished", "", NODE) for kind in ("invoke_web_service", "run_handler", "database", "send_email")]
    assert runtime.node_storage_id() != NODE
    assert {call.worker.split()[1] for call in calls} == {str(node.pid)}  # the node's process, not this one
    assert https_peer.count("POST", "/") == 1

    history = HistoryEntry.objects.filter(instance_id=instance_id).order_by("id")
    external = [(entry.what, entry.detail) for entry in history if entry.what.startswith("external_")]
    assert external == [(what, action) for action in ACTIONS for what in ("external_started", "external_finished")]
    assert history.last().what == "completed"
