"""The demo directory and processes that ``serve`` loads, so a newcomer can start at once."""

import json
from pathlib import Path

from django.conf import settings

from administration.directory import import_directory
from administration.models import User
from processes.engine.validation import load_document
from processes.models import ProcessDefinition
from processes.services.definitions import import_definition

DEMO_DIR = Path(settings.BASE_DIR) / "demo"
DEMO_LOGINS = [
    ("admin", "admin-pass", "administrator, Process Designer, every right"),
    ("alice", "alice-pass", "agent in Underwriters (group routed)"),
    ("bob", "bob-pass", "manager in Managers (group routed)"),
    ("carol", "carol-pass", "Payroll agent, on the Payroll security specification"),
    ("dave", "dave-pass", "direct-routed agent"),
    ("sam", "sam-pass", "supervisor (Process Monitor, view and manage)"),
]


def load_demo_into_empty_database() -> list[str]:
    """The demo, only when the directory has no user yet: a restart never undoes an administrator's changes."""
    if User.objects.exists():
        return ["skipped: the directory already has users (an administrator's changes are kept)"]
    return load_demo()


def load_demo() -> list[str]:
    """Import the demo directory and publish each demo process not imported yet; returns what was done."""
    done = []
    summary = import_directory(json.loads((DEMO_DIR / "directory.json").read_text()))
    done.append(f"directory: {summary}")
    for path in sorted((DEMO_DIR / "processes").glob("*.json")):
        document = load_document(path.read_text(), path.name)
        if not ProcessDefinition.objects.filter(name=document["name"]).exists():
            definition = import_definition(document, publish=True)
            done.append(f"process: {definition.name} v{definition.version}")
    return done
