"""A description that reads a protected local (of a state or a task) is masked like one
that reads a protected global: in the list, the item, the ``added`` push and both pages."""

import pytest
from django.test import Client

from tests.conftest import launch, my_items
from tests.security.conftest import SENTINEL

pytestmark = pytest.mark.django_db


def look_items(api, username: str) -> dict[str, dict]:
    launch(api("carol"), "Leak Probe", {"who": username, "secret": SENTINEL})
    items = {i["name"]: i for i in my_items(api(username))}
    assert set(items) == {"Look", "Look Closer"}
    return items


def test_a_user_off_the_specification_sees_no_protected_local_in_a_description(leak_probe, api):
    items = look_items(api, "bob")
    assert items["Look"]["description"] == "S=••• G=••• P=visible"
    assert items["Look Closer"]["description"] == "T=••• P=visible"
    for item in items.values():
        form = api("bob").get(f"/api/workitems/{item['id']}/").json()
        assert SENTINEL not in str(form)


def test_a_user_on_the_specification_sees_the_locals_in_a_description(leak_probe, api):
    items = look_items(api, "carol")
    assert items["Look"]["description"] == f"S={SENTINEL}-S G={SENTINEL} P=visible"
    assert items["Look Closer"]["description"] == f"T={SENTINEL}-T P=visible"


def test_the_pages_show_no_protected_local_in_a_description(leak_probe, api):
    items = look_items(api, "bob")
    browser = Client()
    browser.login(username="bob", password="bob-pass")
    for path in ("/workitems/", *(f"/workitems/{item['id']}/" for item in items.values())):
        page = browser.get(path)
        assert page.status_code == 200, path
        assert SENTINEL not in page.content.decode(), path
        assert "=•••" in page.content.decode(), path


def test_a_completed_item_keeps_its_locals_masked(leak_probe, api):
    from administration.models import User
    from processes.services.definitions import compiled_process
    from workitems.forms import description_for
    from workitems.models import WorkItem

    item = look_items(api, "bob")["Look Closer"]
    row = WorkItem.objects.get(pk=item["id"])
    row.instance.execution = {**row.instance.execution, "scopes": {}, "locals": {}, "threads": {}}
    assert compiled_process(row.instance.definition_id)
    assert SENTINEL not in description_for(User.objects.get(username="bob"), row)
