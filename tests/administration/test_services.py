"""The directory's rules, as the administration pages and import_directory both apply them."""

from __future__ import annotations

import pytest

from administration import policy, services
from administration.directory import DirectoryInvalid, import_directory
from administration.models import AuditEntry, LicenseAllocation, ServerParameter, User
from administration.parameters import PARAMETERS, integer_parameter, parameter_problem

pytestmark = pytest.mark.django_db


def entry(username: str, **changes) -> dict:
    return {"username": username, "license": "", "rights": [], "workgroups": [], "roles": [], "skills": {},
            "is_admin": False, "is_active": True, **changes}


def admin() -> User:
    return User.objects.get(username="admin")


def test_an_unknown_right_is_refused_by_the_page_service_and_by_the_import(directory):
    with pytest.raises(services.ChangeInvalid) as refused:
        services.save_user(admin(), entry("erin", rights=["launch", "fly"]), create=True)
    assert refused.value.errors == {"rights": "must be a list of launch, view, manage"}
    with pytest.raises(DirectoryInvalid) as invalid:
        import_directory({"format": "ipa.directory/v1", "roles": [{"name": "Pilots", "rights": ["fly"]}]})
    assert [str(e) for e in invalid.value.errors] == ["roles[0].rights: must be a list of launch, view, manage"]
    assert not User.objects.filter(username="erin").exists()


def test_assigning_past_the_seats_is_refused_naming_the_license_and_its_holders(directory):
    services.set_license_seats(admin(), "process_monitor", 1)  # sam holds it
    with pytest.raises(services.ChangeInvalid) as refused:
        services.save_user(admin(), entry("erin", license="process_monitor"), create=True)
    message = refused.value.errors["license"]
    assert "Process Monitor license has 1 seats" in message and "erin, sam" in message
    assert not User.objects.filter(username="erin").exists()


def test_seats_cannot_drop_below_the_users_holding_them(directory):
    with pytest.raises(services.ChangeInvalid) as refused:
        services.set_license_seats(admin(), "group_routed", 2)
    assert "alice, bob, carol" in refused.value.errors["seats"]
    assert LicenseAllocation.objects.get(license="group_routed").seats == 40


def test_an_inactive_user_holds_no_seat(directory):
    services.set_license_seats(admin(), "process_monitor", 1)
    sam = services.user_entry(User.objects.get(username="sam"))
    services.save_user(admin(), {**sam, "is_active": False})
    services.save_user(admin(), entry("erin", license="process_monitor"), create=True)
    with pytest.raises(services.ChangeInvalid):
        services.save_user(admin(), {**sam, "is_active": True})


def test_skill_levels_are_whole_numbers_from_0_to_100(directory):
    with pytest.raises(services.ChangeInvalid) as refused:
        services.save_user(admin(), entry("erin", skills={"auto": 101, "chess": 3}), create=True)
    assert refused.value.errors == {"skills.auto": "level must be a whole number from 0 to 100",
                                    "skills.chess": "no skill named 'chess'"}
    user = services.save_user(admin(), entry("erin", skills={"auto": 7}), create=True)
    assert services.user_entry(user)["skills"] == {"auto": 7}


def test_a_parameter_breaking_its_rule_is_refused_with_the_rule(directory):
    with pytest.raises(services.ChangeInvalid) as refused:
        services.set_server_parameter(admin(), "PAS Maximum Monitored Flows", "99")
    assert refused.value.errors["value"] == (
        "PAS Maximum Monitored Flows must be a whole number, at least 100 (default 5000).")
    assert parameter_problem("PAS_LoadBalanceThreshold", "999")
    assert parameter_problem("PAS_HandlerResponseTimeout", "0") is None
    assert parameter_problem("PAS_blockLaunchDuringRestore", "maybe")
    with pytest.raises(DirectoryInvalid):
        import_directory({"format": "ipa.directory/v1", "server_parameters": {"PAS_DepthThreshold": "0"}})


def test_a_saved_parameter_applies_without_a_restart(directory):
    assert integer_parameter("PAS_HandlerResponseTimeout") == 30
    services.set_server_parameter(admin(), "PAS_HandlerResponseTimeout", "45")
    assert integer_parameter("PAS_HandlerResponseTimeout") == 45
    services.set_server_parameter(admin(), "PAS_HandlerResponseTimeout", "")
    assert not ServerParameter.objects.filter(name="PAS_HandlerResponseTimeout").exists()
    assert integer_parameter("PAS_HandlerResponseTimeout") == 30


def test_every_parameter_default_keeps_its_own_rule():
    assert all(parameter_problem(p.name, p.default) is None for p in PARAMETERS.values())


def test_effective_rights_say_where_each_comes_from(directory):
    admin_user = admin()
    assert policy.rights_with_sources(admin_user) == [
        ("launch", ["own", "role Supervisor"]), ("view", ["own", "role Supervisor"]),
        ("manage", ["own", "role Supervisor"])]
    assert policy.rights_with_sources(User.objects.get(username="alice")) == [
        ("launch", ["own", "workgroup Underwriters"])]


def test_workgroups_roles_and_specifications_are_saved_renamed_and_deleted(directory):
    services.save_workgroup(admin(), {"name": "Claims", "rights": ["launch"], "skills": ["auto"]})
    with pytest.raises(services.ChangeInvalid) as refused:
        services.save_workgroup(admin(), {"name": "Managers", "rights": [], "skills": []})
    assert "already exists" in refused.value.errors["name"]
    services.save_workgroup(admin(), {"name": "Claims EU", "rights": ["view"], "skills": []}, "Claims")
    services.save_specification(admin(), {"name": "Claims data", "users": ["alice"], "workgroups": ["Claims EU"],
                                          "roles": []})
    alice = User.objects.get(username="alice")
    assert policy.may_see(alice, "Claims data")
    services.delete_named(admin(), "security specification", "Claims data")
    assert [e.action for e in AuditEntry.objects.filter(actor__username="admin").order_by("id")] == [
        "created", "changed", "created", "deleted"]


def test_the_audit_trail_keeps_before_and_after_but_never_a_password(directory):
    services.save_user(admin(), entry("erin", password="s3cret-pass", license="direct_routed"), create=True)
    services.save_user(admin(), entry("erin", password="other-pass", license="group_routed"))
    change = AuditEntry.objects.filter(kind="user", target="erin").first()
    assert change.action == "changed" and change.actor_name == "admin"
    assert change.before["license"] == "direct_routed" and change.after["license"] == "group_routed"
    recorded = " ".join(str(e.before) + str(e.after) for e in AuditEntry.objects.all())
    assert "password" not in recorded and "s3cret" not in recorded and "other-pass" not in recorded
    assert User.objects.get(username="erin").check_password("other-pass")
