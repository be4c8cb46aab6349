"""A Python client generated from the served schema runs the demo's flow with no hand edits.

``openapi-python-client`` reads ``/api/schema/`` from a live server and writes a package into a
temporary folder (never into the repository); ``--fail-on-warning`` makes any part of the
schema it cannot turn into code a failure. The flow then uses that package alone: log in,
set presence, launch *Expense Approval*, the manager picks up and approves, Payroll sees
*Pay Out*, the instance and its history are read; refusals arrive as the declared types.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from types import ModuleType

import pytest

GENERATOR = shutil.which("openapi-python-client") or str(Path(sys.executable).with_name("openapi-python-client"))
PACKAGE = "ipa_portal_client"
CONFIG = f"project_name_override: ipa-portal-client\npackage_name_override: {PACKAGE}\npost_hooks: []\n"

pytestmark = [
    pytest.mark.skipif(not Path(GENERATOR).exists(),
                       reason="openapi-python-client is not installed (pip install -r requirements-dev.txt)"),
]


class Generated:
    """The generated package's modules, imported by name: ``client.api("workitems.list_work_items")``."""

    def __init__(self, root: Path, base_url: str) -> None:
        sys.path.insert(0, str(root))
        self.root, self.base_url = root, base_url
        self.package = importlib.import_module(PACKAGE)
        self.models = importlib.import_module(f"{PACKAGE}.models")

    def api(self, name: str) -> ModuleType:
        return importlib.import_module(f"{PACKAGE}.api.{name}")

    def anonymous(self):
        return self.package.Client(base_url=self.base_url, raise_on_unexpected_status=True)

    def log_in(self, username: str):
        """A client authenticated with a token from ``POST /api/auth/token``."""
        answer = self.api("auth.create_token").sync(
            client=self.anonymous(), body=self.models.TokenRequestRequest(username=username,
                                                                          password=f"{username}-pass"))
        assert isinstance(answer, self.models.Token), answer
        return self.package.AuthenticatedClient(base_url=self.base_url, token=answer.token, prefix="Token",
                                                raise_on_unexpected_status=True)

    def forget(self) -> None:
        sys.path.remove(str(self.root))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def served_schema(base_url: str, token: str) -> bytes:
    """/api/schema/ as an integrator reads it: with a token, like every other endpoint."""
    request = urllib.request.Request(f"{base_url}/api/schema/?format=json",
                                     headers={"Authorization": f"Token {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


@pytest.fixture
def generated(live_server, tmp_path, directory):
    from rest_framework.authtoken.models import Token

    from administration.models import User

    token, _ = Token.objects.get_or_create(user=User.objects.get(username="admin"))
    schema = tmp_path / "openapi.json"
    schema.write_bytes(served_schema(live_server.url, token.key))
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    result = subprocess.run(
        [GENERATOR, "generate", "--path", str(schema), "--config", str(config),
         "--meta", "none", "--output-path", str(tmp_path / PACKAGE), "--fail-on-warning"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    client = Generated(tmp_path, live_server.url)
    yield client
    client.forget()


@pytest.fixture
def demo_offline(directory):
    """The demo directory and processes; every agent Offline until they set their presence."""
    from processes.services.demo import load_demo

    load_demo()


def test_the_generated_python_client_runs_the_expense_flow(demo_offline, generated):
    m = generated.models
    dave, bob, carol = generated.log_in("dave"), generated.log_in("bob"), generated.log_in("carol")
    for agent in (bob, carol):
        me = generated.api("me.set_presence").sync(
            client=agent, body=m.PresenceRequest(status=m.PresenceStatusEnum.AVAILABLE))
        assert isinstance(me, m.Me) and me.presence.status == m.PresenceStatusEnum.AVAILABLE

    processes = generated.api("processes.list_processes").sync(client=dave)
    assert "Expense Approval" in [p.name for p in processes.results]
    started = generated.api("processes.launch_process").sync(
        "Expense Approval", client=dave,
        body=m.LaunchRequest(inputs=m.LaunchRequestInputs.from_dict({"employee": "dave", "amount": 250})))
    assert isinstance(started, m.InstanceDetail), started
    assert (started.state, started.status) == ("Approval", m.InstanceStatusEnum.WAITING)
    [queued] = started.work_items
    assert queued.workgroup == "Managers"

    page = generated.api("workitems.list_work_items").sync(client=bob)
    assert isinstance(page, m.PaginatedWorkItemList)
    [offered] = [item for item in page.results if item.instance == started.id]
    assert (offered.name, offered.status) == ("Approve Expense", m.WorkItemStatusEnum.OFFERED)
    form = generated.api("workitems.pickup_work_item").sync(offered.id, client=bob)
    assert isinstance(form, m.WorkItemForm) and form.status == m.WorkItemStatusEnum.PROCESSING
    assert "approve" in [button.id for button in form.buttons]
    assert "comment" in [field.variable for field in form.fields]
    done = generated.api("workitems.complete_work_item").sync(
        offered.id, client=bob,
        body=m.CompleteRequest(button="approve", values=m.CompleteRequestValues.from_dict({"comment": "fine"})))
    assert isinstance(done, m.WorkItem) and done.status == m.WorkItemStatusEnum.COMPLETED

    payroll = generated.api("workitems.list_work_items").sync(client=carol).results
    assert [item.name for item in payroll if item.instance == started.id] == ["Pay Out"]

    instance = generated.api("instances.get_instance").sync(started.id, client=dave)
    assert isinstance(instance, m.InstanceDetail)
    assert instance.state == "Payment" and instance.variables["comment"] == "fine"
    assert instance.history and all(entry.what for entry in instance.history)
    assert [w.status for w in instance.work_items] == [m.WorkItemStatusEnum.COMPLETED, m.WorkItemStatusEnum.OFFERED]

    again = generated.api("workitems.complete_work_item").sync_detailed(
        offered.id, client=bob, body=m.CompleteRequest(button="approve"))
    assert again.status_code == 409 and isinstance(again.parsed, m.Problem)
    assert again.parsed.status == 409 and "completed" in again.parsed.detail

    refused = generated.api("instances.cancel_instance").sync_detailed(started.id, client=dave)
    assert refused.status_code == 403 and isinstance(refused.parsed, m.Problem)
    assert "Manage" in refused.parsed.detail

    invalid = generated.api("processes.launch_process").sync_detailed(
        "Expense Approval", client=dave,
        body=m.LaunchRequest(inputs=m.LaunchRequestInputs.from_dict({"employee": "dave", "amount": "lots"})))
    assert invalid.status_code == 400 and isinstance(invalid.parsed, m.ValidationProblem)
    assert list(invalid.parsed.errors.additional_properties) == ["amount"]
