"""Process definitions: published versions are immutable, and a broken stored one takes no page down."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from administration.models import User
from processes.errors import DefinitionImmutable
from processes.models import ProcessDefinition
from processes.services import definitions

pytestmark = pytest.mark.django_db

SMALL = {"format": "ipa.process/v1", "name": "Small", "start_state": "S",
         "states": [{"name": "S", "actions": [{"action": "end_process"}]}]}


def test_a_broken_stored_definition_is_shown_as_broken_and_the_lists_still_work(demo, api):
    broken = definitions.import_definition(SMALL, publish=True)
    # As a raw write could have left it (the admin used to allow this): a document that does not load.
    ProcessDefinition.objects.filter(pk=broken.pk).update(document={"format": "ipa.process/v1", "name": "Small"})
    definitions.forget_compiled_processes()
    client = Client()
    client.force_login(User.objects.get(username="alice"))
    response = client.get("/processes/")
    assert response.status_code == 200
    assert "Expense Approval" in response.content.decode() and ">Small<" not in response.content.decode()
    response = api("alice").get("/api/processes/")
    assert response.status_code == 200
    assert "Expense Approval" in {p["name"] for p in response.json()["results"]}
    assert "Small" not in {p["name"] for p in response.json()["results"]}
    assert definitions.definition_problem(ProcessDefinition.objects.get(pk=broken.pk))


def test_a_published_version_cannot_be_changed_in_place(directory):
    published = definitions.import_definition(SMALL, publish=True)
    published.document = {"format": "ipa.process/v1", "name": "Small"}
    with pytest.raises(DefinitionImmutable):
        published.save()
    published.refresh_from_db()
    assert published.document == SMALL


@pytest.fixture
def admin_client(directory) -> Client:
    client = Client()
    client.force_login(User.objects.get(username="admin"))
    return client


def test_an_imported_file_shows_every_validation_error_by_its_json_path(admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = {"format": "ipa.process/v1", "name": "Bad", "start_state": "Nowhere",
           "states": [{"name": "S", "actions": [{"action": "fly"}]}]}
    response = admin_client.post("/administration/processes/import", {
        "document": SimpleUploadedFile("bad.json", json.dumps(bad).encode())})
    assert response.status_code == 400
    page = response.content.decode()
    assert "bad.json was not imported" in page and "<code>states[0].actions[0]" in page
    assert not ProcessDefinition.objects.filter(name="Bad").exists()
    response = admin_client.post("/administration/processes/import", {
        "document": SimpleUploadedFile("small.json", json.dumps(SMALL).encode()), "publish": "on"})
    assert response.status_code == 302
    assert ProcessDefinition.objects.get(name="Small").status == "published"


def test_versions_are_published_and_retired_from_the_page_and_a_broken_one_is_shown(admin_client):
    first = definitions.import_definition(SMALL, publish=True)
    second = definitions.import_definition(SMALL)
    admin_client.post(f"/administration/processes/{second.pk}/publish")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("retired", "published")
    admin_client.post(f"/administration/processes/{second.pk}/retire")
    assert definitions.published_version("Small") is None
    ProcessDefinition.objects.filter(pk=first.pk).update(document={"format": "ipa.process/v1", "name": "Small"})
    definitions.forget_compiled_processes()
    page = admin_client.get("/administration/processes/").content.decode()
    assert "broken" in page and "start_state" in page
