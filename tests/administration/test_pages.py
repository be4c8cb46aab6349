"""The administration pages: for administrators only, every change through the services' rules."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from administration import policy
from administration.models import AuditEntry, User, Workgroup

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(directory) -> Client:
    client = Client()
    client.force_login(User.objects.get(username="admin"))
    return client


def test_only_administrators_open_the_pages_and_see_the_link(directory, admin_client):
    alice = Client()
    alice.force_login(User.objects.get(username="alice"))
    assert alice.get("/administration/users/").status_code == 403
    assert "Administration" not in alice.get("/processes/").content.decode()
    assert 'href="/administration/"' in admin_client.get("/processes/").content.decode()
    for url in ("/administration/users/", "/administration/users/alice/", "/administration/users/new",
                "/administration/licenses/", "/administration/workgroups/", "/administration/workgroups/Managers/",
                "/administration/roles/", "/administration/roles/Supervisor/", "/administration/skills/",
                "/administration/security/", "/administration/security/Payroll/", "/administration/parameters/",
                "/administration/audit/", "/administration/workgroups/new", "/administration/rights/",
                "/administration/certification-authorities/", "/administration/data-sources/",
                "/administration/processes/"):
        assert admin_client.get(url).status_code == 200, url


def test_a_user_is_created_with_license_workgroup_skill_and_right(admin_client):
    response = admin_client.post("/administration/users/new", {
        "username": "erin", "password": "erin-pass", "first_name": "Erin", "license": "group_routed",
        "rights": ["launch"], "workgroups": ["Managers"], "skill:spanish": "5", "is_active": "on"})
    assert response.status_code == 302
    erin = User.objects.get(username="erin")
    assert erin.license == "group_routed" and erin.check_password("erin-pass")
    assert policy.rights_with_sources(erin) == [("launch", ["own", "workgroup Managers"])]
    page = admin_client.get("/administration/users/erin/").content.decode()
    assert "workgroup Managers" in page


def test_a_refused_change_shows_the_rule_and_keeps_what_was_typed(admin_client):
    admin_client.post("/administration/licenses/", {"license": "process_monitor", "seats": "1"})
    response = admin_client.post("/administration/users/new", {
        "username": "erin", "first_name": "Erin", "license": "process_monitor", "is_active": "on"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Process Monitor license has 1 seats" in page and "erin, sam" in page
    assert 'value="Erin"' in page
    response = admin_client.post("/administration/users/alice/", {"rights": ["fly"], "is_active": "on"})
    assert response.status_code == 400 and "must be a list of launch, view, manage" in response.content.decode()


def test_a_parameter_breaking_its_rule_is_refused_on_the_page(admin_client):
    response = admin_client.post("/administration/parameters/", {"name": "PAS_LoadBalanceThreshold", "value": "10"})
    assert response.status_code == 400
    assert "PAS_LoadBalanceThreshold must be a whole number, at least 1000" in response.content.decode()
    response = admin_client.post("/administration/parameters/", {"name": "PAS_LoadBalanceThreshold",
                                                                 "value": "2000"})
    assert response.status_code == 302


def test_a_workgroup_is_created_renamed_and_deleted(admin_client):
    admin_client.post("/administration/workgroups/", {"name": "Claims", "rights": ["launch", "view"],
                                                     "skills": ["auto"]})
    assert Workgroup.objects.get(name="Claims").rights == ["launch", "view"]
    admin_client.post("/administration/workgroups/Claims/", {"name": "Claims EU", "rights": ["launch"]})
    assert Workgroup.objects.get(name="Claims EU").rights == ["launch"]
    admin_client.post("/administration/workgroups/Claims%20EU/", {"delete": "1"})
    assert not Workgroup.objects.filter(name__startswith="Claims").exists()


def test_the_audit_trail_filters_and_exports_csv(admin_client):
    admin_client.post("/administration/skills/", {"name": "french"})
    admin_client.post("/administration/roles/", {"name": "Auditor", "rights": ["view"]})
    page = admin_client.get("/administration/audit/?kind=skill").content.decode()
    assert "<strong>french</strong>" in page and "<strong>Auditor</strong>" not in page
    response = admin_client.get("/administration/audit/?actor=admin&format=csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["at", "by", "action", "kind", "target", "before", "after"]
    assert {(r[3], r[4]) for r in rows[1:]} == {("skill", "french"), ("role", "Auditor")}
    assert AuditEntry.objects.count() >= 3  # and the demo directory's import


def test_a_security_specification_lists_the_variables_of_published_processes_using_it(admin_client):
    from processes.services.definitions import import_definition

    import_definition({"format": "ipa.process/v1", "name": "Payslip", "start_state": "S",
                       "variables": [{"name": "iban", "type": "string", "security": "Payroll"}],
                       "states": [{"name": "S", "actions": [{"action": "end_process"}]}]}, publish=True)
    page = admin_client.get("/administration/security/Payroll/").content.decode()
    assert "Payslip" in page and "iban" in page
    assert "Payslip v1: iban" in admin_client.get("/administration/security/").content.decode()


def test_a_data_source_is_saved_tested_and_its_password_never_shown(admin_client, tmp_path):
    import sqlite3

    sqlite3.connect(tmp_path / "crm.sqlite3").close()
    response = admin_client.post("/administration/data-sources/", {"name": "crm", "url": "ftp://x"})
    assert response.status_code == 400 and "must be a postgres://" in response.content.decode()
    admin_client.post("/administration/data-sources/", {"name": "crm", "url": f"sqlite:///{tmp_path}/crm.sqlite3"})
    page = admin_client.post("/administration/data-sources/", {"test": "crm"}).content.decode()
    assert "answers" in page
    admin_client.post("/administration/data-sources/", {"name": "gone",
                                                        "url": "postgres://reader:s3cret@127.0.0.1:1/crm"})
    page = admin_client.post("/administration/data-sources/", {"test": "gone"}).content.decode()
    assert "reader:***@127.0.0.1:1" in page and "s3cret" not in page
    assert "127.0.0.1" in page and 'role="alert"' in page
    assert "s3cret" not in str(list(AuditEntry.objects.values_list("before", "after")))


def test_the_access_rights_page_lists_who_holds_each_right_and_where(admin_client):
    from administration import services

    services.save_workgroup(None, {"name": "Loans team", "rights": [{"right": "manage", "categories": ["Loans"]}],
                                   "skills": []})
    page = admin_client.get("/administration/rights/").content.decode()
    manage = page[page.index('id="right-manage"'):]
    assert "all processes" in manage and 'href="/administration/roles/Supervisor/"' in manage
    assert "category Loans" in manage and "workgroup Loans team" in manage
    assert 'href="/administration/users/alice/"' not in manage  # alice holds launch only


def test_a_certification_authority_is_added_checked_and_deleted_on_its_page(admin_client):
    import trustme

    from administration.models import CertificateAuthority

    url = "/administration/certification-authorities/"
    refused = admin_client.post(url, {"name": "Typo", "certificate": "-----BEGIN CERTIFICATE-----\nxyz\n"})
    assert refused.status_code == 400 and "not a PEM certificate OpenSSL accepts" in refused.content.decode()
    assert not CertificateAuthority.objects.exists()
    pem = trustme.CA(organization_name="IPA test CA").cert_pem.bytes().decode()
    assert admin_client.post(url, {"name": "IPA test CA", "certificate": pem}).status_code == 302
    assert "IPA test CA" in admin_client.get(url).content.decode()
    assert AuditEntry.objects.filter(kind="certification authority", action="created").exists()
    assert admin_client.post(url, {"delete": "IPA test CA"}).status_code == 302
    assert not CertificateAuthority.objects.exists()
