"""export_directory writes what import_directory takes back unchanged; the demo never overwrites changes."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from administration import services
from administration.directory import export_directory, import_directory
from administration.models import DataSource, User
from processes.services.demo import load_demo_into_empty_database

pytestmark = pytest.mark.django_db


def test_the_exported_directory_imports_back_unchanged(directory, tmp_path):
    DataSource.objects.create(name="crm", url="postgres://reader@db.example.com:5432/crm")
    services.save_user(None, {**services.user_entry(User.objects.get(username="alice")), "skills": {"auto": 9}})
    path = tmp_path / "directory.json"
    call_command("export_directory", str(path))
    exported = json.loads(path.read_text())
    assert exported["format"] == "ipa.directory/v1"
    assert "password" not in json.dumps(exported)
    assert next(u for u in exported["users"] if u["username"] == "alice")["skills"] == {"auto": 9}
    passwords = dict(User.objects.values_list("username", "password"))
    call_command("import_directory", str(path))
    assert export_directory() == exported
    assert dict(User.objects.values_list("username", "password")) == passwords  # users keep theirs


def test_an_export_loads_into_an_empty_database_whole(directory):
    exported = export_directory()
    User.objects.all().delete()
    import_directory(exported)
    assert export_directory() == exported


def test_the_demo_loads_only_into_an_empty_database(db):
    assert any(line.startswith("directory:") for line in load_demo_into_empty_database())
    alice = services.user_entry(User.objects.get(username="alice"))
    services.save_user(None, {**alice, "license": "direct_routed", "workgroups": []})
    assert load_demo_into_empty_database()[0].startswith("skipped")
    assert services.user_entry(User.objects.get(username="alice"))["license"] == "direct_routed"
