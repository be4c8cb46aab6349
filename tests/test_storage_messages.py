"""The startup and storage messages 41043-41046, each provoked for real by ``manage.py check_storage``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def check_storage(**environment: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(environment)
    return subprocess.run([sys.executable, "manage.py", "check_storage"], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_41043_no_storage_configured_in_production_mode_refuses():
    done = check_storage(REDIS_URL="redis://127.0.0.1:6379/10")
    assert done.returncode != 0
    assert "41043" in done.stderr and "Fix: set DATABASE_URL" in done.stderr


def test_41044_the_default_embedded_storage_is_named(tmp_path):
    done = check_storage(SQLITE_TEST_DATABASE=str(tmp_path / "unused.sqlite3"))
    assert "41044" in done.stdout and "default embedded workflow storage" in done.stdout


def test_41045_a_wrong_port_is_a_failed_connection():
    done = check_storage(DATABASE_URL="postgres://postgres@127.0.0.1:1/ipa")
    assert done.returncode != 0
    assert "41045" in done.stderr and "127.0.0.1:1" in done.stderr and "Fix:" in done.stderr


def test_41046_an_unmigrated_database_is_reachable_but_missing_its_tables(tmp_path):
    done = check_storage(DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert done.returncode != 0
    assert "41046" in done.stderr and "manage.py migrate" in done.stderr


def test_administrators_see_a_banner_while_a_migration_is_missing(directory):
    from django.db import connection
    from django.test import Client

    from administration.models import User
    from processes import storage

    with connection.cursor() as cursor:  # as after deploying code whose migration was not run
        cursor.execute("DELETE FROM django_migrations WHERE app = 'administration' AND name = '0004_auditentry'")
    storage._banner = (-storage._BANNER_SECONDS * 2, None)
    try:
        admin, alice = Client(), Client()
        admin.force_login(User.objects.get(username="admin"))
        alice.force_login(User.objects.get(username="alice"))
        page = admin.get("/processes/").content.decode()
        assert "41046" in page and "administration.0004_auditentry" in page
        assert "41046" not in alice.get("/processes/").content.decode()
    finally:
        storage._banner = (-storage._BANNER_SECONDS * 2, None)
