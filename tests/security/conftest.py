"""A process whose protected globals and locals hold a sentinel, for the leak tests.

``secret`` (a global), ``slocal`` (a state local) and ``tlocal`` (a task local) are all
under the ``Payroll`` specification: carol is on it (through her workgroup), bob is not;
``snote`` and ``tnote``, a state and a task local under none, are seen by all who see locals.
``Look`` (sent in the state) and ``Look Closer`` (sent in the task) go to the user named
at launch, so each of them gets both.
"""

from __future__ import annotations

import pytest

SENTINEL = "ZANZIBAR77"

LEAK_PROBE = {
    "format": "ipa.process/v1",
    "name": "Leak Probe",
    "variables": [
        {"name": "who", "type": "user", "input": True, "required": True},
        {"name": "secret", "type": "string", "input": True, "security": "Payroll", "log": True},
        {"name": "plain", "type": "string", "default": "visible", "log": True},
    ],
    "start_state": "Review",
    "states": [
        {"name": "Review",
         "variables": [{"name": "slocal", "type": "string", "security": "Payroll"},
                       {"name": "snote", "type": "string", "default": "state-note"}],
         "actions": [
             {"action": "assign", "variable": "slocal", "value": "secret + '-S'"},
             {"action": "parallel", "branches": [
                 [{"action": "send_work_item", "work_item": "Look", "to": {"user": "{{ who }}"},
                   "exits": {"done": []}}],
                 [{"action": "call_task", "task": "Check", "inputs": {"tlocal": "secret + '-T'"}}],
             ]},
         ]},
    ],
    "tasks": [
        {"name": "Check",
         "variables": [{"name": "tlocal", "type": "string", "security": "Payroll"},
                       {"name": "tnote", "type": "string", "default": "task-note"}],
         "inputs": ["tlocal"],
         "actions": [{"action": "send_work_item", "work_item": "Look Closer", "to": {"user": "{{ who }}"},
                      "exits": {"done": []}}]},
    ],
    "work_items": [
        {"name": "Look", "description": "S={{ slocal }} G={{ secret }} P={{ plain }}",
         "fields": [{"variable": "slocal", "readonly": True}, {"variable": "plain"}],
         "buttons": [{"id": "done", "label": "Done"}]},
        {"name": "Look Closer", "description": "T={{ tlocal }} P={{ plain }}",
         "fields": [{"variable": "tlocal", "readonly": True}],
         "buttons": [{"id": "done", "label": "Done"}]},
    ],
}


def probe_process(**changes) -> dict:
    """The leak probe with some top-level keys replaced (another name, other states...)."""
    return {**LEAK_PROBE, **changes}


@pytest.fixture
def leak_probe(demo):
    from processes.services.definitions import import_definition

    return import_definition(LEAK_PROBE, publish=True)


@pytest.fixture
def publish():
    """``publish(document)``: imports and publishes a process definition."""
    from processes.services.definitions import import_definition

    return lambda document: import_definition(document, publish=True)
