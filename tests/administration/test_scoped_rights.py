"""Rights given for named processes or categories: the launch list, launch, search and API honour them."""

from __future__ import annotations

import pytest
from django.test import Client

from administration import policy, services
from administration.models import User
from processes.services import instances

pytestmark = pytest.mark.django_db


def give(username: str, rights: list) -> User:
    entry = services.user_entry(User.objects.get(username=username))
    services.save_user(None, {**entry, "rights": rights, "workgroups": [], "roles": []})
    return User.objects.get(username=username)


def test_a_launch_right_for_one_process_and_one_category_lists_only_those(demo, api):
    dave = give("dave", [{"right": "launch", "processes": ["Expense Approval"], "categories": ["Loans"]}])
    names = {definition.name for definition, _ in instances.launchable_processes(dave)}
    assert names == {"Expense Approval", "Car Loan", "Credit Check"}
    listed = {p["name"] for p in api("dave").get("/api/processes/").json()["results"]}
    assert listed == names
    response = api("dave").post("/api/processes/Customer Onboarding/launch",
                                {"inputs": {"customer_name": "X", "email": "x@example.com", "plan": "basic"}},
                                format="json")
    assert response.status_code == 403
    client = Client()
    client.force_login(dave)
    page = client.get("/processes/").content.decode()
    assert "Car Loan" in page and "Customer Onboarding" not in page


def test_a_view_right_for_a_category_shows_its_instances_in_search_and_api(demo, api):
    bob = User.objects.get(username="bob")
    ours = instances.launch_process(bob, "Credit Check", {"customer": "Ada", "amount": 100})
    other = instances.launch_process(bob, "Expense Approval", {"employee": "dave", "amount": 10})
    dave = give("dave", ["launch", {"right": "view", "categories": ["Loans"]}])
    visible = set(instances.visible_instances(dave).values_list("pk", flat=True))
    assert ours.pk in visible and other.pk not in visible
    assert api("dave").get(f"/api/instances/{ours.pk}/").status_code == 200
    assert api("dave").get(f"/api/instances/{other.pk}/").status_code == 404
    assert not policy.can_manage(dave, "Credit Check", "Loans")


def test_a_scoped_right_is_read_with_where_it_comes_from(directory):
    services.save_workgroup(None, {"name": "Loans team", "rights": [{"right": "manage", "categories": ["Loans"]}],
                                   "skills": []})
    entry = services.user_entry(User.objects.get(username="dave"))
    services.save_user(None, {**entry, "workgroups": ["Loans team"]})
    dave = User.objects.get(username="dave")
    assert ("manage for category Loans", ["workgroup Loans team"]) in policy.rights_with_sources(dave)
    assert policy.can_manage(dave, "Car Loan", "Loans") and not policy.can_manage(dave)


def test_a_malformed_scoped_right_is_refused(directory):
    with pytest.raises(services.ChangeInvalid) as refused:
        give("dave", [{"right": "launch"}])
    assert "names at least one process or category" in refused.value.errors["rights"]
    with pytest.raises(services.ChangeInvalid):
        give("dave", [{"right": "fly", "processes": ["Car Loan"]}])


def test_the_user_page_gives_a_right_for_one_process_by_ticking_it(demo):
    client = Client()
    client.force_login(User.objects.get(username="admin"))
    response = client.post("/administration/users/dave/", {
        "license": "direct_routed", "scope:launch": ["process:Car Loan"], "is_active": "on"})
    assert response.status_code == 302
    assert User.objects.get(username="dave").rights == [{"right": "launch", "processes": ["Car Loan"]}]
    page = client.get("/administration/users/dave/").content.decode()
    assert "launch for Car Loan" in page
