"""Rights given for named processes or categories: the launch list, launch, search, the monitor
(rows, filters, details, queues, repairs), ``GET /api/me/``, work item pages and the API honour them."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from administration import policy, services
from administration.models import User
from monitor import bulk
from monitor import services as monitor
from monitor.filters import parse_filter
from monitor.queues import queues as monitor_queues
from monitor.trouble import trouble as monitor_trouble
from processes.errors import NotFound
from processes.services import instances
from processes.services.definitions import import_definition
from tests.monitor.conftest import PROBE, complete_check
from workitems import services as work_items
from workitems.models import WorkItem

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


# ------------------------------------------------------------------ the monitor, /api/me, work items

PROBE_B = {**PROBE, "name": "Probe Claims", "category": "Claims"}


@pytest.fixture
def two_processes(directory, agents_available):
    """Probe (process A) and Probe Claims (process B, category Claims); lena may view and manage A only,
    vera may view A only (both hold the Process Monitor license)."""
    import_definition(PROBE, publish=True)
    import_definition(PROBE_B, publish=True)
    User.objects.create_user("lena", password="lena-pass", license="process_monitor", rights=[
        {"right": "view", "processes": ["Probe"]}, {"right": "manage", "processes": ["Probe"]}])
    User.objects.create_user("vera", password="vera-pass", license="process_monitor", rights=[
        {"right": "view", "processes": ["Probe"]}])


def launch(process: str, divisor: int = 1):
    return instances.launch_process(User.objects.get(username="alice"), process,
                                    {"customer": "Acme", "divisor": divisor})


def in_error(process: str):
    instance = launch(process, divisor=0)
    complete_check(instance)  # the approve exit divides by 0
    instance.refresh_from_db()
    assert instance.status == "error"
    return instance


def logged_in(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def test_the_monitor_shows_and_repairs_only_the_instances_of_the_process_a_right_names(two_processes):
    a, b = in_error("Probe"), in_error("Probe Claims")
    lena = User.objects.get(username="lena")
    assert [row["id"] for row in monitor.snapshot(lena, parse_filter({}))] == [a.pk]
    assert monitor.changed_row(a.pk).visible_to(lena) and not monitor.changed_row(b.pk).visible_to(lena)
    page = logged_in("lena").get("/monitor/").content.decode()
    assert '<option value="Probe">' in page and "Probe Claims" not in page  # the filter offers A only
    assert logged_in("lena").get(f"/monitor/instances/{b.pk}/").status_code == 404
    details = logged_in("lena").get(f"/monitor/instances/{a.pk}/").content.decode()
    assert "Cancel instance" in details
    trouble = monitor_trouble(lena, timezone.now())
    assert [group["ids"] for group in trouble["errors"]] == [[a.pk]]
    with pytest.raises(policy.NotVisible):
        monitor.repair(lena, b.pk, "cancel")
    job = bulk.start_bulk_job(lena, "retry", ids=[a.pk, b.pk])
    assert job.instance_ids == [a.pk]
    assert monitor.repair(lena, a.pk, "cancel").status == "cancelled"
    b.refresh_from_db()
    assert b.status == "error"


def test_a_view_right_for_one_process_shows_it_in_the_monitor_without_repairs(two_processes):
    a, b = in_error("Probe"), in_error("Probe Claims")
    vera = User.objects.get(username="vera")
    assert [row["id"] for row in monitor.snapshot(vera, parse_filter({}))] == [a.pk]
    details = logged_in("vera").get(f"/monitor/instances/{a.pk}/").content.decode()
    assert "Cancel instance" not in details
    assert logged_in("vera").get(f"/monitor/instances/{b.pk}/").status_code == 404
    with pytest.raises(policy.NotAllowed):
        monitor.repair(vera, a.pk, "cancel")
    with pytest.raises(policy.NotAllowed):
        bulk.start_bulk_job(vera, "cancel", ids=[a.pk])
    assert not monitor_trouble(vera, timezone.now())["errors"][0]["can_repair"]


def test_the_queues_show_and_move_only_the_items_of_the_process_a_right_names(two_processes):
    a, b = launch("Probe"), launch("Probe Claims")
    lena = User.objects.get(username="lena")
    shown = [row for q in monitor_queues(lena, timezone.now()) for row in q["items"]]
    assert [(row["item"].instance_id, row["can_move"]) for row in shown] == [(a.pk, True)]
    item_of_b = WorkItem.objects.get(instance=b)
    with pytest.raises(NotFound):
        work_items.transfer_work_item(lena, item_of_b.pk, to_workgroup="Payroll")
    response = logged_in("lena").post(f"/monitor/queues/items/{item_of_b.pk}/move", {"to": "workgroup:Payroll"})
    assert response.status_code == 404
    assert WorkItem.objects.get(pk=item_of_b.pk).workgroup.name == "Managers"
    item_of_a = WorkItem.objects.get(instance=a)
    response = logged_in("lena").post(f"/monitor/queues/items/{item_of_a.pk}/move", {"to": "workgroup:Payroll"})
    assert response.status_code == 302
    assert WorkItem.objects.get(pk=item_of_a.pk).workgroup.name == "Payroll"


def test_api_me_reports_the_rights_for_named_processes_and_categories(demo, api):
    give("dave", ["launch", {"right": "view", "processes": ["Car Loan"], "categories": ["Finance"]}])
    me = api("dave").get("/api/me/").json()
    assert me["rights"] == ["launch"]
    assert me["scoped_rights"] == [{"right": "view", "processes": ["Car Loan"], "categories": ["Finance"]}]


def test_the_work_item_page_links_to_its_instance_only_for_a_viewer_of_its_process(two_processes):
    a, b = launch("Probe"), launch("Probe Claims")
    give("bob", [{"right": "view", "processes": ["Probe"]}])
    services.save_user(None, {**services.user_entry(User.objects.get(username="bob")), "workgroups": ["Managers"]})
    bob = logged_in("bob")
    page_a = bob.get(f"/workitems/{WorkItem.objects.get(instance=a).pk}/").content.decode()
    page_b = bob.get(f"/workitems/{WorkItem.objects.get(instance=b).pk}/").content.decode()
    assert f'href="/instances/{a.pk}/"' in page_a
    assert f'href="/instances/{b.pk}/"' not in page_b and f"Probe Claims #{b.pk}" in page_b


def test_a_bulk_job_on_picked_rows_says_which_ones_the_user_may_not_manage(two_processes):
    a, b = in_error("Probe"), in_error("Probe Claims")
    mixed = User.objects.create_user("mia", password="mia-pass", license="process_monitor", rights=[
        {"right": "view", "processes": ["Probe", "Probe Claims"]}, {"right": "manage", "processes": ["Probe"]}])
    job = bulk.start_bulk_job(mixed, "cancel", ids=[a.pk, b.pk])
    bulk.run_bulk_job(job.pk)
    job.refresh_from_db()
    assert [(r["id"], r["ok"]) for r in job.results] == [(a.pk, True), (b.pk, False)]
    assert "manage" in job.results[1]["detail"].lower()
    b.refresh_from_db()
    assert b.status == "error"


def test_a_manage_right_alone_for_one_process_shows_and_repairs_its_instances(two_processes):
    a, b = in_error("Probe"), in_error("Probe Claims")
    User.objects.create_user("max", password="max-pass", license="process_monitor",
                             rights=[{"right": "manage", "processes": ["Probe"]}])
    manager = User.objects.get(username="max")
    assert [row["id"] for row in monitor.snapshot(manager, parse_filter({}))] == [a.pk]
    assert set(instances.visible_instances(manager).values_list("pk", flat=True)) == {a.pk}
    assert logged_in("max").get(f"/monitor/instances/{a.pk}/").status_code == 200
    assert logged_in("max").get(f"/monitor/instances/{b.pk}/").status_code == 404
    assert monitor.repair(manager, a.pk, "cancel").status == "cancelled"
