"""Django's /admin/ goes through the same rules: rights chosen, seats counted, parameters checked."""

from __future__ import annotations

import pytest
from django.test import Client

from administration.models import AuditEntry, LicenseAllocation, Role, ServerParameter, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(directory) -> Client:
    client = Client()
    client.force_login(User.objects.get(username="admin"))
    return client


def test_a_role_takes_only_known_rights(superuser):
    response = superuser.post("/admin/administration/role/add/", {"name": "Pilots", "rights": ["fly"]})
    assert response.status_code == 200 and "fly is not one of the available choices" in response.content.decode()
    response = superuser.post("/admin/administration/role/add/", {"name": "Pilots", "rights": ["view"]})
    assert response.status_code == 302 and Role.objects.get(name="Pilots").rights == ["view"]
    assert AuditEntry.objects.filter(kind="role", target="Pilots", action="created").exists()


def test_saving_a_role_in_the_django_admin_keeps_its_rights_for_some_processes(superuser):
    scoped = {"right": "manage", "processes": ["Car Loan"]}
    role = Role.objects.create(name="Loan desk", rights=["view", scoped])
    response = superuser.post(f"/admin/administration/role/{role.pk}/change/",
                              {"name": "Loan desk", "rights": ["launch"]})
    assert response.status_code == 302
    assert Role.objects.get(pk=role.pk).rights == ["launch", scoped]


def test_seats_and_parameter_rules_hold_in_the_django_admin(superuser):
    allocation = LicenseAllocation.objects.get(license="group_routed")
    response = superuser.post(f"/admin/administration/licenseallocation/{allocation.pk}/change/",
                              {"license": "group_routed", "seats": "1"})
    assert response.status_code == 200 and "alice, bob, carol" in response.content.decode()
    assert LicenseAllocation.objects.get(license="group_routed").seats == 40
    response = superuser.post("/admin/administration/serverparameter/add/",
                              {"name": "PAS_LoadBalanceThreshold", "value": "10"})
    assert response.status_code == 200 and "at least 1000" in response.content.decode()
    assert not ServerParameter.objects.filter(name="PAS_LoadBalanceThreshold").exists()


def test_a_user_past_the_seats_is_refused_in_the_django_admin(superuser):
    LicenseAllocation.objects.filter(license="process_monitor").update(seats=1)  # sam holds it
    alice = User.objects.get(username="alice")
    assert superuser.get(f"/admin/administration/user/{alice.pk}/change/").status_code == 200
    response = superuser.post(f"/admin/administration/user/{alice.pk}/change/", {
        "username": "alice", "license": "process_monitor", "rights": ["launch"], "is_active": "on",
        "presence": "offline", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
        "skill_levels-TOTAL_FORMS": "0", "skill_levels-INITIAL_FORMS": "0"})
    assert response.status_code == 200
    assert "Process Monitor license has 1 seats and 2 users would hold it: alice, sam" in response.content.decode()
    assert User.objects.get(username="alice").license == "group_routed"
