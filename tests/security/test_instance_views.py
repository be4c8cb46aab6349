"""What a viewer not on a specification reads about an instance: its error, its history,
its waiting detail, in the API and on the Search and instance pages. No protected value.
"""

import pytest
from django.test import Client

from tests.conftest import launch
from tests.security.conftest import SENTINEL, probe_process

pytestmark = pytest.mark.django_db

SECRET = {"name": "secret", "type": "string", "input": True, "security": "Payroll"}


def one_state(*actions, variables=(SECRET,)) -> dict:
    return probe_process(name="Probe", variables=list(variables), work_items=[], tasks=[], start_state="Only",
                         states=[{"name": "Only", "actions": list(actions)}])


def everything_admin_reads(api, instance_id: int) -> str:
    """The instance as admin (View right, not on Payroll) reads it through every exit."""
    client = api("admin")
    texts = [client.get(f"/api/instances/{instance_id}/").content.decode(),
             client.get("/api/instances/").content.decode()]
    browser = Client()
    browser.login(username="admin", password="admin-pass")
    for path in ("/instances/", f"/instances/{instance_id}/"):
        page = browser.get(path)
        assert page.status_code == 200, path
        texts.append(page.content.decode())
    return "\n".join(texts)


def test_an_error_quoting_a_protected_value_does_not_reach_a_viewer(demo, publish, api):
    publish(one_state({"action": "assign", "variable": "n", "value": "int(secret)"},
                      variables=[SECRET, {"name": "n", "type": "integer"}]))
    instance = launch(api("carol"), "Probe", {"secret": SENTINEL})
    detail = api("admin").get(f"/api/instances/{instance['id']}/").json()
    assert detail["status"] == "error"
    assert "int(secret)" in detail["error"]
    assert SENTINEL not in everything_admin_reads(api, instance["id"])


def test_a_work_item_sent_to_a_protected_name_is_undeliverable_without_naming_it(demo, publish, api):
    publish(one_state({"action": "send_work_item", "work_item": "Look", "to": {"user": "{{ secret }}"},
                       "exits": {"done": []}}) | {
        "work_items": [{"name": "Look", "fields": [], "buttons": [{"id": "done", "label": "Done"}]}]})
    instance = launch(api("carol"), "Probe", {"secret": SENTINEL})
    history = api("admin").get(f"/api/instances/{instance['id']}/").json()["history"]
    assert any(entry["what"] == "work_item_undeliverable" for entry in history), history
    assert SENTINEL not in everything_admin_reads(api, instance["id"])


def test_a_timer_until_a_protected_time_shows_no_time(demo, publish, api):
    when = {"name": "when", "type": "datetime", "input": True, "security": "Payroll"}
    publish(one_state({"action": "wait", "until": "when"}, variables=[when]))
    instance = launch(api("carol"), "Probe", {"when": "2031-07-07T07:07:00Z"})
    detail = api("admin").get(f"/api/instances/{instance['id']}/").json()
    assert detail["waiting_on"] == "timer"
    read = everything_admin_reads(api, instance["id"])
    assert "2031" not in read
