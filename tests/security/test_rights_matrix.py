"""The rights and licenses matrix: every API endpoint and page × a user holding each license
alone, each right alone, nothing, and an administrator (no license, no right).

One table (``EXPECTED``) says the status each must get; the test is generated from it. An
instance and a work item of someone else (dave's expense, offered to bob) are the targets.
"""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import launch

pytestmark = pytest.mark.django_db

LICENSES = ["direct_routed", "group_routed", "process_monitor", "process_designer"]
RIGHTS = ["launch", "view", "manage"]
# "right:view+manage" too; the Manage right alone implies seeing what one may manage (issue 9).
PRINCIPALS = ["none", *(f"license:{name}" for name in LICENSES), *(f"right:{name}" for name in RIGHTS),
              "right:view+manage", "admin"]

# Shorthands for the rows: who gets the first status, everyone else the second.
ANY = set(PRINCIPALS)
ANY_LICENSE = {f"license:{name}" for name in LICENSES}
GROUP_OR_MORE = {f"license:{name}" for name in LICENSES[1:]}
DESIGNER = {"license:process_designer"}
MONITOR = {"license:process_monitor", "license:process_designer"}
MANAGES = {"right:manage", "right:view+manage"}
SEES = {"right:view", *MANAGES}  # the Manage right implies seeing the instances one may manage


def user_of(principal: str) -> str:
    return "m_" + principal.replace(":", "_")


def row(allowed: set[str], yes: int, no: int) -> dict[str, int]:
    return {principal: yes if principal in allowed else no for principal in PRINCIPALS}


# (label, method, path, body) -> status per principal. {instance} and {item} are filled in.
EXPECTED: list[tuple[str, str, str, dict | None, dict[str, int]]] = [
    ("who am I", "get", "/api/me/", None, row(ANY, 200, 0)),
    ("presence", "put", "/api/me/presence", {"status": "away"}, row(ANY, 200, 0)),
    ("launchable processes", "get", "/api/processes/", None, row({"right:launch"}, 200, 403)),
    ("launch", "post", "/api/processes/Expense Approval/launch",
     {"inputs": {"employee": "dave", "amount": "5"}}, row({"right:launch"}, 201, 403)),
    ("instance list", "get", "/api/instances/", None, row(ANY, 200, 0)),
    ("someone else's instance", "get", "/api/instances/{instance}/", None, row(SEES, 200, 404)),
    ("cancel someone else's instance", "post", "/api/instances/{instance}/cancel", None,
     {**row(MANAGES, 200, 404), "right:view": 403}),
    ("retry an instance not in error", "post", "/api/instances/{instance}/retry", None,
     {**row(MANAGES, 409, 404), "right:view": 403}),
    ("relate an interaction", "post", "/api/instances/{instance}/interactions",
     {"type": "call", "reference": "c-1", "description": "called"}, row(SEES, 201, 404)),
    ("my work items", "get", "/api/workitems/", None, row(ANY_LICENSE, 200, 403)),
    ("someone else's work item", "get", "/api/workitems/{item}/", None, row(ANY_LICENSE, 404, 403)),
    ("pick up someone else's item", "post", "/api/workitems/{item}/pickup", None, row(ANY_LICENSE, 404, 403)),
    ("complete someone else's item", "post", "/api/workitems/{item}/complete", {"button": "approve"},
     row(ANY_LICENSE, 404, 403)),
    ("transfer someone else's item", "post", "/api/workitems/{item}/transfer", {"user": "carol"},
     row({"right:manage", "right:view+manage"}, 200, 404)),
    ("definitions", "get", "/api/definitions/", None, row(DESIGNER, 200, 403)),
    ("import a definition", "post", "/api/definitions/", {"format": "ipa.process/v1"}, row(DESIGNER, 400, 403)),
    ("a definition", "get", "/api/definitions/{definition}/", None, row(DESIGNER, 200, 403)),
    ("publish a published definition", "post", "/api/definitions/{definition}/publish", None,
     row(DESIGNER, 409, 403)),
    ("skip in an instance not in error", "post", "/api/instances/{instance}/skip", None,
     {**row(MANAGES, 409, 404), "right:view": 403}),
    ("move someone else's instance", "post", "/api/instances/{instance}/move", {"state": "Approval"},
     {**row(MANAGES, 200, 404), "right:view": 403}),
    ("a bulk skip", "post", "/api/instances/bulk", {"action": "skip", "ids": ["{instance}"]},
     row({"right:manage", "right:view+manage"}, 202, 403)),
    ("queues", "get", "/api/queues/", None, row(ANY_LICENSE, 200, 403)),
    ("variable report (rows filtered by View)", "get", "/api/reports/variables/", None, row(ANY, 200, 0)),
    ("the OpenAPI schema", "get", "/api/schema/", None, row(ANY, 200, 0)),
    ("save someone else's item", "post", "/api/workitems/{item}/save", {"values": {}}, row(ANY_LICENSE, 404, 403)),
    # pages
    ("home page (to the user's start page)", "page", "/", None, row(ANY, 302, 0)),
    ("My Work Items page", "page", "/workitems/", None, row(ANY_LICENSE, 200, 403)),
    ("someone else's work item page", "page", "/workitems/{item}/", None, row(ANY_LICENSE, 404, 403)),
    ("Launch page", "page", "/processes/", None, row({"right:launch"}, 200, 403)),
    ("Search page", "page", "/instances/", None, row(ANY, 200, 0)),
    ("someone else's instance page", "page", "/instances/{instance}/", None, row(SEES, 200, 404)),
    ("Django admin", "page", "/admin/", None, row({"admin"}, 200, 302)),
    ("My Queues page", "page", "/workitems/queues/", None, row(ANY_LICENSE, 200, 403)),
    ("Out of office page (one's own absences)", "page", "/workitems/away/", None, row(ANY, 200, 0)),
    ("Reports page (rows filtered by View)", "page", "/reports/variables/", None, row(ANY, 200, 0)),
    ("Process Monitor page", "page", "/monitor/", None, row(MONITOR, 200, 403)),
    ("monitor's Queues page", "page", "/monitor/queues/", None, row(MONITOR, 200, 403)),
    ("monitor's Trouble page", "page", "/monitor/trouble/", None, row(MONITOR, 200, 403)),
    ("monitor's page of someone else's instance", "page", "/monitor/instances/{instance}/", None,
     row(MONITOR, 404, 403)),
    ("Administration", "page", "/administration/", None, row({"admin"}, 302, 403)),
    ("Administration: users", "page", "/administration/users/", None, row({"admin"}, 200, 403)),
    ("Administration: server parameters", "page", "/administration/parameters/", None, row({"admin"}, 200, 403)),
    ("Administration: processes", "page", "/administration/processes/", None, row({"admin"}, 200, 403)),
    ("Administration: audit", "page", "/administration/audit/", None, row({"admin"}, 200, 403)),
]


@pytest.fixture
def principals(demo):
    """One user per column of the matrix, and a target instance and item of other people."""
    from administration.models import User

    for principal in PRINCIPALS:
        kind, _, name = principal.partition(":")
        User.objects.create_user(
            username=user_of(principal), password="matrix-pass-1",
            license=name if kind == "license" else "", rights=name.split("+") if kind == "right" else [],
            is_superuser=kind == "admin", is_staff=kind == "admin")
    from processes.models import ProcessDefinition

    instance = launch(APIClient_for("dave"), "Expense Approval", {"employee": "dave", "amount": "250.00"})
    definition = ProcessDefinition.objects.get(name="Expense Approval", published=True)
    return {"instance": instance["id"], "item": instance["work_items"][0]["id"], "definition": definition.pk}


def filled_in(body: dict | None, targets: dict[str, int]) -> dict | None:
    """A body with its ``"{instance}"`` ids replaced by the target's id."""
    if body is None or "ids" not in body:
        return body
    return {**body, "ids": [int(str(value).format(**targets)) for value in body["ids"]]}


def APIClient_for(username: str) -> APIClient:  # noqa: N802 - reads as the class it makes
    from rest_framework.authtoken.models import Token

    from administration.models import User

    client = APIClient()
    token, _ = Token.objects.get_or_create(user=User.objects.get(username=username))
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.mark.parametrize("label", [entry[0] for entry in EXPECTED])
def test_each_principal_gets_the_status_the_table_says(principals, label):
    from django.db import transaction

    from administration.models import User

    _, method, path, body, statuses = next(entry for entry in EXPECTED if entry[0] == label)
    path, body = path.format(**principals), filled_in(body, principals)
    wrong = []
    for principal in PRINCIPALS:
        with transaction.atomic():  # each request on the same data: what one changes is rolled back
            if method == "page":
                browser = Client()
                browser.force_login(User.objects.get(username=user_of(principal)))
                status = browser.get(path).status_code
            else:
                status = getattr(APIClient_for(user_of(principal)), method)(path, body, format="json").status_code
            transaction.set_rollback(True)
        expected = statuses[principal] or 200
        if status != expected:
            wrong.append(f"{principal}: {status}, expected {expected}")
    assert not wrong, f"{label}: " + "; ".join(wrong)


def test_anonymous_requests_are_refused_everywhere(principals):
    for label, method, path, body, _ in EXPECTED:
        path, body = path.format(**principals), filled_in(body, principals)
        if method == "page":
            expected = 200 if path == "/" else 302  # the welcome page; the others go to the login page
            assert Client().get(path).status_code == expected, label
        else:
            assert getattr(APIClient(), method)(path, body, format="json").status_code == 401, label


def test_the_table_covers_every_principal_for_every_exit():
    assert all(set(statuses) == set(PRINCIPALS) for *_, statuses in EXPECTED)
    assert len(EXPECTED) * len(PRINCIPALS) == 44 * 10  # the closing note of the issue cites this size
