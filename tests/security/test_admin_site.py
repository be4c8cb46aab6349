"""Django's admin shows no protected value to an administrator off its specification,
lets nobody edit an instance's execution state, and lists no API key in clear."""

import pytest
from django.test import Client

from tests.conftest import launch
from tests.security.conftest import SENTINEL

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_site() -> Client:
    client = Client()
    assert client.login(username="admin", password="admin-pass")
    return client


def test_the_instance_page_shows_only_the_values_the_administrator_may_see(leak_probe, api, admin_site):
    instance = launch(api("carol"), "Leak Probe", {"who": "bob", "secret": SENTINEL})
    page = admin_site.get(f"/admin/processes/processinstance/{instance['id']}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert SENTINEL not in text
    assert "visible" in text  # the unprotected global is shown


def test_the_instance_page_shows_the_state_and_task_locals_the_administrator_may_see(leak_probe, api, admin_site):
    from administration.models import User, Workgroup

    instance = launch(api("carol"), "Leak Probe", {"who": "bob", "secret": SENTINEL})
    path = f"/admin/processes/processinstance/{instance['id']}/change/"
    text = admin_site.get(path).content.decode()
    assert "state Review" in text and "state-note" in text
    assert "task Check (s1)" in text and "task-note" in text
    assert SENTINEL not in text
    # On the specification (through the Payroll workgroup), the protected locals are shown too.
    User.objects.get(username="admin").workgroups.add(Workgroup.objects.get(name="Payroll"))
    text = admin_site.get(path).content.decode()
    assert f"{SENTINEL}-S" in text and f"{SENTINEL}-T" in text


def test_the_instance_page_does_not_edit_the_execution_state(leak_probe, api, admin_site):
    from processes.models import ProcessInstance

    instance = launch(api("carol"), "Leak Probe", {"who": "bob", "secret": SENTINEL})
    before = ProcessInstance.objects.get(pk=instance["id"]).execution
    response = admin_site.post(f"/admin/processes/processinstance/{instance['id']}/change/",
                               {"execution": '{"globals": {}}', "status": "completed"})
    assert response.status_code == 403
    row = ProcessInstance.objects.get(pk=instance["id"])
    assert (row.execution, row.status) == (before, "waiting")


def test_the_tokens_page_lists_no_key(demo, api, admin_site):
    from rest_framework.authtoken.models import Token

    api("bob")  # bob has a token now
    key = Token.objects.get(user__username="bob").key
    page = admin_site.get("/admin/authtoken/tokenproxy/")
    assert page.status_code == 200
    assert "bob" in page.content.decode()
    assert key not in page.content.decode()
