"""Validation of process definitions: every rule of docs/process-format-validation.md.

Each rule test starts from a small valid definition, breaks exactly one rule and checks
the path of the error and the words of its message.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from processes.engine.references import ACTION_KINDS
from processes.engine.validation import (
    _VALIDATOR,
    PROCESS_SCHEMA,
    DefinitionError,
    DefinitionInvalid,
    load_document,
    validate_definition,
)

ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS = Path(__file__).with_name("definitions")

SEND_PATH = "states[0].actions[0]"  # the send_work_item of the base definition
STATE_END = "states[1].actions[1]"  # where add_to_state puts an action
TASK_END = "tasks[0].actions[1]"  # where add_to_task puts an action


def base() -> dict[str, Any]:
    """A small valid definition using globals, state and task locals, a work item and a task."""
    return {
        "format": "ipa.process/v1",
        "name": "Loan",
        "description": "Approve a loan",
        "category": "Loans",
        "variables": [
            {"name": "amount", "type": "decimal", "input": True, "required": True, "min": 0},
            {"name": "approved", "type": "boolean", "default": False},
            {"name": "items", "type": "list", "default": []},
            {"name": "color", "type": "string", "choices": ["red", "green"]},
        ],
        "start_state": "Intake",
        "states": [
            {
                "name": "Intake",
                "variables": [{"name": "reason", "type": "string"}],
                "actions": [
                    {
                        "action": "send_work_item",
                        "work_item": "Review",
                        "to": {"user": "{{ initiator }}"},
                        "exits": {
                            "approve": [
                                {"action": "assign", "variable": "approved", "value": "true"},
                                {"action": "change_state", "state": "Done", "inputs": {"note": "reason"}},
                            ],
                            "deny": [{"action": "end_process"}],
                        },
                    }
                ],
            },
            {
                "name": "Done",
                "variables": [{"name": "note", "type": "string"}],
                "inputs": ["note"],
                "actions": [
                    {
                        "action": "call_task",
                        "task": "Check",
                        "inputs": {"value": "amount"},
                        "outputs": {"approved": "ok"},
                    },
                ],
            },
        ],
        "tasks": [
            {
                "name": "Check",
                "variables": [{"name": "value", "type": "decimal"}, {"name": "ok", "type": "boolean"}],
                "inputs": ["value"],
                "outputs": ["ok"],
                "actions": [{"action": "assign", "variable": "ok", "value": "value > 0"}],
            }
        ],
        "work_items": [
            {
                "name": "Review",
                "category": "Loans",
                "description": "Review the loan of {{ amount }}",
                "fields": [
                    {"variable": "amount", "label": "Amount", "readonly": True},
                    {"variable": "reason", "control": "textarea", "required": True},
                    {"variable": "color", "control": "select"},
                ],
                "buttons": [{"id": "approve", "label": "Approve"}, {"id": "deny", "label": "Deny"}],
            }
        ],
    }


def add_to_state(document: dict[str, Any], action: dict[str, Any]) -> dict[str, Any]:
    """Append ``action`` to the actions of state "Done" (path STATE_END)."""
    document["states"][1]["actions"].append(action)
    return document


def add_to_task(document: dict[str, Any], action: dict[str, Any]) -> dict[str, Any]:
    """Append ``action`` to the actions of task "Check" (path TASK_END)."""
    document["tasks"][0]["actions"].append(action)
    return document


def errors(document: Any) -> list[tuple[str, str]]:
    return [(error.path, error.message) for error in validate_definition(document)]


def assert_error(document: Any, path: str, *words: str) -> None:
    """There is an error at ``path`` whose message has every one of ``words``."""
    found = errors(document)
    messages = [message for where, message in found if where == path]
    assert any(all(word in message for word in words) for message in messages), (
        f"no error at {path} with {words}; got {found}"
    )


# --------------------------------------------------------------------------- baseline


def test_base_definition_is_valid():
    assert errors(base()) == []


def test_expense_approval_example_of_the_format_page_is_valid():
    text = (DEFINITIONS / "expense_approval.json").read_text(encoding="utf-8")
    assert errors(load_document(text, "expense_approval.json")) == []


def test_every_external_action_and_optional_key_validates_when_well_formed():
    document = base()
    document["variables"].append({"name": "reply", "type": "json"})
    document["variables"].append({"name": "rows", "type": "integer"})
    document["work_items"].append(
        {
            "name": "Notice",
            "description": "{{ rows }} rows",
            "fields": [{"variable": "rows"}],
            "buttons": [{"id": "ok"}],
        }
    )
    for action in (
        {
            "action": "invoke_web_service",
            "wsdl": "https://crm.example/crm?wsdl",
            "operation": "Find",
            "service": "Crm",
            "port": "CrmSoap",
            "inputs": {"id": "instance_id"},
            "outputs": {"reply": "result.customer.name", "items": "result.items"},
            "timeout": 20,
            "on_error": [{"action": "assign", "variable": "reply", "value": "error"}],
        },
        {
            "action": "run_handler",
            "handler": "score",
            "inputs": {"amount": "amount"},
            "outputs": {"reply": "result"},
            "timeout": 0,
            "on_error": [],
        },
        {
            "action": "database",
            "data_source": "crm",
            "sql": "SELECT * FROM t WHERE id = %(id)s",
            "params": {"id": "instance_id"},
            "result": {"mode": "rowcount", "into": "rows"},
            "on_error": [{"action": "assign", "variable": "reply", "value": "error['message']"}],
        },
        {
            "action": "send_email",
            "to": "initiator + '@example.com'",
            "subject": "Loan {{ instance_id }}",
            "body": "Amount {{ amount }}",
            "html_body": "<b>{{ amount }}</b>",
            "on_error": [],
        },
        {
            "action": "launch_process",
            "process": "Other",
            "inputs": {"amount": "amount"},
            "wait": True,
            "outputs": {"reply": "result"},
        },
        {"action": "wait", "duration": "PT30M"},
        {"action": "wait", "until": "now() + days(1)"},
        {
            "action": "loop",
            "while": "rows < 3",
            "max_iterations": 5,
            "actions": [{"action": "assign", "variable": "rows", "value": "rows + 1"}],
        },
        {"action": "for_each", "collection": "items", "item": "reply", "actions": []},
        {"action": "parallel", "branches": [[], [{"action": "assign", "variable": "rows", "value": "1"}]]},
        {
            "action": "decision",
            "branches": [{"when": "rows > 1", "actions": []}],
            "otherwise": [{"action": "end_process"}],
        },
        {
            "action": "send_work_item",
            "work_item": "Notice",
            "to": {"workgroup": "Managers", "skills": [{"name": "auto", "min_level": 3}], "priority": "2"},
            "exits": {"ok": []},
            "timeout": "P2D",
            "on_timeout": [{"action": "end_process"}],
        },
    ):
        add_to_state(document, action)
    assert errors(document) == []


# ------------------------------------------------------------------------------ loading


def test_json_text_loads():
    assert load_document(json.dumps(base())) == base()


YAML_DEFINITION = """
format: ipa.process/v1
name: Yes or no
variables:
  - {name: due, type: date, default: 2024-05-01}
start_state: Ask
states:
  - name: Ask
    actions:
      - action: send_work_item
        work_item: Question
        to: {user: "{{ initiator }}"}
        exits:
          yes: []
          no: [{action: end_process}]
work_items:
  - name: Question
    buttons: [{id: "yes"}, {id: "no"}]
"""


@pytest.mark.parametrize("filename", ["question.yaml", "QUESTION.YML", ""])
def test_yaml_loads_by_file_name_or_when_the_text_is_not_json(filename):
    document = load_document(YAML_DEFINITION, filename)
    assert document["name"] == "Yes or no"
    assert errors(document) == []


def test_yaml_keeps_yes_no_and_dates_as_they_would_be_in_json():
    document = load_document(YAML_DEFINITION, "question.yaml")
    assert list(document["states"][0]["actions"][0]["exits"]) == ["yes", "no"]
    assert document["variables"][0]["default"] == "2024-05-01"


def test_invalid_json_is_reported_at_the_root_with_line_and_column():
    with pytest.raises(DefinitionInvalid) as caught:
        load_document('{\n  "format": "ipa.process/v1",\n  "name": "x"\n  "states": []\n}')
    assert caught.value.errors == [
        DefinitionError("$", "not valid JSON: line 4 column 3: Expecting ',' delimiter")
    ]


def test_invalid_yaml_is_reported_at_the_root_with_line_and_column():
    with pytest.raises(DefinitionInvalid) as caught:
        load_document("name: x\nstates:\n  - a\n - b\n", "broken.yaml")
    [error] = caught.value.errors
    assert error.path == "$"
    assert error.message.startswith("not valid YAML: line 4 column 2:")


@pytest.mark.parametrize("text", ["[1, 2]", '"text"', "42", "just words"])
def test_a_top_level_that_is_not_an_object_is_refused(text):
    with pytest.raises(DefinitionInvalid) as caught:
        load_document(text)
    [error] = caught.value.errors
    assert error.path == "$"
    assert "not an object" in error.message or "not valid JSON" in error.message


def test_empty_text_is_refused():
    with pytest.raises(DefinitionInvalid, match="empty"):
        load_document("  \n")


def test_yaml_aliases_that_explode_in_size_are_refused():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 10)]
    with pytest.raises(DefinitionInvalid, match="more than 100000 values"):
        load_document("\n".join(lines), "bomb.yaml")


def test_definition_invalid_lists_every_error_one_per_line():
    error = DefinitionInvalid([DefinitionError("$", "a"), DefinitionError("states[0].name", "b")])
    assert str(error) == "$: a\nstates[0].name: b"
    assert error.errors[1].to_dict() == {"path": "states[0].name", "message": "b"}


# ------------------------------------------------------------------------------- schema


def test_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(PROCESS_SCHEMA)


def test_published_schema_in_docs_is_the_same_file_as_the_packaged_one():
    packaged = ROOT / "processes" / "engine" / "process.schema.json"
    assert (ROOT / "docs" / "process.schema.json").read_bytes() == packaged.read_bytes()


def _object_schemas(schema: Any):
    """Every subschema that declares properties, leaving out the conditions of if/then."""
    if isinstance(schema, dict):
        if "properties" in schema:
            yield schema
        for key, sub in schema.items():
            if key != "if":
                yield from _object_schemas(sub)
    elif isinstance(schema, list):
        for sub in schema:
            yield from _object_schemas(sub)


def test_every_property_of_the_schema_has_a_title_and_a_description():
    missing = [
        name
        for schema in _object_schemas(PROCESS_SCHEMA)
        for name, sub in schema["properties"].items()
        if "title" not in sub or "description" not in sub
    ]
    assert missing == []


def test_every_object_of_the_schema_refuses_unknown_keys():
    # the action dispatcher leaves that to the schema of each action kind
    open_objects = [
        schema["title"]
        for schema in _object_schemas(PROCESS_SCHEMA)
        if schema.get("additionalProperties") is not False and schema["title"] != "Action"
    ]
    assert open_objects == []


def test_schema_knows_every_action_of_the_format():
    assert set(PROCESS_SCHEMA["$defs"]["action"]["properties"]["action"]["enum"]) == ACTION_KINDS
    assert PROCESS_SCHEMA["$defs"]["action"]["properties"]["action"]["enum"] == [
        "assign",
        "decision",
        "loop",
        "for_each",
        "call_task",
        "change_state",
        "end_process",
        "send_work_item",
        "invoke_web_service",
        "run_handler",
        "database",
        "send_email",
        "launch_process",
        "wait",
        "parallel",
    ]


# ------------------------------------------------------------------------- structure


def test_missing_format_is_reported_at_the_root():
    document = base()
    del document["format"]
    assert_error(document, "$", 'required key "format" is missing')


def test_wrong_format_names_the_one_that_is_expected():
    document = base()
    document["format"] = "ipa.process/v2"
    assert_error(document, "format", 'must be "ipa.process/v1"')


def test_unknown_top_level_key_suggests_the_close_one():
    document = base()
    document["discription"] = "typo"
    assert_error(document, "$", 'unknown key "discription" (did you mean "description"?)')


def test_unknown_key_of_an_action_suggests_a_key_of_that_action_kind():
    document = base()
    document["states"][1]["actions"][0]["taks"] = "Check"
    assert_error(document, "states[1].actions[0]", 'unknown key "taks"', 'did you mean "task"?')


def test_unknown_key_without_a_close_match_lists_the_allowed_keys():
    document = add_to_state(base(), {"action": "end_process", "zzz": 1})
    assert_error(document, STATE_END, 'unknown key "zzz"', "allowed keys: action")


def test_unknown_action_kind_suggests_the_close_one_and_lists_the_known_ones():
    document = base()
    document["states"][0]["actions"][0]["action"] = "send_workitem"
    assert_error(
        document,
        "states[0].actions[0].action",
        'unknown action "send_workitem"',
        'did you mean "send_work_item"?',
        "known actions: assign, decision",
    )
    assert len(errors(document)) == 1  # no wall of errors about the keys of other kinds


def test_unknown_variable_type_lists_the_types():
    document = base()
    document["variables"][3]["type"] = "money"
    assert_error(document, "variables[3].type", 'unknown type "money"', "types are string, integer")


def test_unknown_control_lists_the_controls():
    document = base()
    document["work_items"][0]["fields"][1]["control"] = "textbox"
    assert_error(document, "work_items[0].fields[1].control", 'unknown control "textbox"', "textarea")


def test_unknown_database_result_mode():
    document = base()
    document["variables"].append({"name": "rows", "type": "integer"})
    add_to_state(
        document,
        {
            "action": "database",
            "data_source": "crm",
            "sql": "SELECT 1",
            "result": {"mode": "first", "into": "rows"},
        },
    )
    assert_error(document, f"{STATE_END}.result.mode", 'unknown mode "first"', "first_row")


@pytest.mark.parametrize("bad_name", ["1st", "my var", "a-b", ""])
def test_a_variable_name_must_be_an_identifier(bad_name):
    document = base()
    document["variables"][0]["name"] = bad_name
    assert_error(document, "variables[0].name", f'"{bad_name}" is not a valid name', "letters, digits and _")


def test_a_key_that_must_be_a_name_is_reported_at_its_own_path():
    document = base()
    document["states"][1]["actions"][0]["outputs"] = {"1x": "ok"}
    assert_error(document, 'states[1].actions[0].outputs["1x"]', '"1x" is not a valid name')


def test_missing_required_key_of_an_action_is_named():
    document = add_to_state(base(), {"action": "assign", "variable": "approved"})
    assert_error(document, STATE_END, 'required key "value" is missing')


def test_missing_action_key_is_named():
    document = add_to_state(base(), {"variable": "approved", "value": "true"})
    assert_error(document, STATE_END, 'required key "action" is missing')


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("states", {}, "must be a list, not an object"),
        ("name", 12, "must be a string, not 12"),
        ("variables", "amount", "must be a list, not a string"),
    ],
)
def test_a_value_of_the_wrong_json_type_says_what_was_expected(key, value, words):
    document = base()
    document[key] = value
    assert_error(document, key, words)


def test_a_process_needs_a_state():
    document = base()
    document["states"] = []
    assert_error(document, "states", "must not be empty")


@pytest.mark.parametrize(
    ("to", "words"),
    [
        ({"user": "ann", "workgroup": "Managers"}, "not both"),
        ({}, "one is needed"),
        ({"priority": "1"}, "one is needed"),
    ],
)
def test_send_work_item_goes_to_a_user_or_a_workgroup(to, words):
    document = base()
    document["states"][0]["actions"][0]["to"] = to
    assert_error(document, f"{SEND_PATH}.to", 'either "user"', '"workgroup"', words)


def test_skills_belong_to_group_routing():
    document = base()
    document["states"][0]["actions"][0]["to"] = {"user": "ann", "skills": []}
    assert_error(document, f"{SEND_PATH}.to", 'unknown key "skills"')


def test_skill_level_is_a_whole_number():
    document = base()
    document["states"][0]["actions"][0]["to"] = {
        "workgroup": "Managers",
        "skills": [{"name": "auto", "min_level": "high"}],
    }
    assert_error(document, f"{SEND_PATH}.to.skills[0].min_level", "must be a whole number")


@pytest.mark.parametrize(
    ("wait", "words"), [({"duration": "PT1H", "until": "now()"}, "not both"), ({}, "one is needed")]
)
def test_wait_has_exactly_one_of_duration_and_until(wait, words):
    document = add_to_state(base(), {"action": "wait", **wait})
    assert_error(document, STATE_END, 'exactly one of "duration" and "until"', words)


def test_on_timeout_needs_a_timeout():
    document = base()
    document["states"][0]["actions"][0]["on_timeout"] = [{"action": "end_process"}]
    assert_error(document, SEND_PATH, '"on_timeout" is given without "timeout"')


@pytest.mark.parametrize("value", [0, -1, 1.5, "3"])
def test_loop_max_iterations_is_a_whole_number_from_1(value):
    document = add_to_state(
        base(), {"action": "loop", "while": "false", "actions": [], "max_iterations": value}
    )
    assert_error(document, f"{STATE_END}.max_iterations", "must be")


def test_an_output_path_walks_into_result():
    document = add_to_state(
        base(), {"action": "run_handler", "handler": "h", "outputs": {"amount": "reply.x"}}
    )
    assert_error(document, f"{STATE_END}.outputs.amount", '"reply.x" is not a result path')


def test_a_field_names_its_variable():
    document = base()
    document["work_items"][0]["fields"][0] = {"label": "Amount"}
    assert_error(document, "work_items[0].fields[0]", 'required key "variable" is missing')


def test_a_work_item_has_buttons():
    document = base()
    document["work_items"][0]["buttons"] = []
    assert_error(document, "work_items[0].buttons", "must not be empty")


def test_a_schema_key_for_editors_is_allowed():
    document = base()
    document["$schema"] = "./process.schema.json"
    assert errors(document) == []


# --------------------------------------------------------------------- declarations


def test_duplicate_global_variable():
    document = base()
    document["variables"].append({"name": "amount", "type": "integer"})
    assert_error(document, "variables[4].name", 'duplicate variable "amount"', "variables[0]")


def test_duplicate_local_variable_in_one_state():
    document = base()
    document["states"][0]["variables"].append({"name": "reason", "type": "string"})
    assert_error(document, "states[0].variables[1].name", 'duplicate variable "reason"')


def test_a_local_may_shadow_a_global():
    document = base()
    document["tasks"][0]["variables"].append({"name": "amount", "type": "integer"})
    assert errors(document) == []


@pytest.mark.parametrize(
    ("key", "what"), [("states", "state"), ("tasks", "task"), ("work_items", "work item")]
)
def test_duplicate_state_task_and_work_item_names(key, what):
    document = base()
    document[key].append(copy.deepcopy(document[key][-1]))
    path = f"{key}[{len(document[key]) - 1}].name"
    assert_error(document, path, f"duplicate {what} name")


def test_duplicate_button_ids():
    document = base()
    document["work_items"][0]["buttons"].append({"id": "deny", "label": "No"})
    assert_error(document, "work_items[0].buttons[2].id", 'duplicate button id "deny"')


def test_duplicate_fields_for_one_variable():
    document = base()
    document["work_items"][0]["fields"].append({"variable": "amount"})
    assert_error(document, "work_items[0].fields[3].variable", 'duplicate field for variable "amount"')


@pytest.mark.parametrize("name", ["initiator", "instance_id"])
def test_a_variable_cannot_take_a_built_in_name(name):
    document = base()
    document["variables"][0]["name"] = name
    assert_error(document, "variables[0].name", f'"{name}" is a built-in name')


def test_only_a_global_can_be_a_launch_input():
    document = base()
    document["states"][0]["variables"][0]["input"] = True
    assert_error(document, "states[0].variables[0].input", "only a global can be a launch input")


@pytest.mark.parametrize(
    ("type_name", "default", "words"),
    [
        ("integer", "abc", "must be a whole number"),
        ("boolean", "maybe", "must be true or false"),
        ("date", "tomorrow", "ISO 8601 date"),
        ("decimal", [1], "decimal number"),
        ("list", "a", "must be a list"),
    ],
)
def test_a_default_must_fit_its_type(type_name, default, words):
    document = base()
    document["variables"].append({"name": "x", "type": type_name, "default": default})
    assert_error(document, "variables[4].default", f"does not fit type {type_name}", words)


def test_a_local_default_is_checked_too():
    document = base()
    document["tasks"][0]["variables"][0]["default"] = "lots"
    assert_error(document, "tasks[0].variables[0].default", "does not fit type decimal")


def test_choices_must_fit_the_type():
    document = base()
    document["variables"].append({"name": "size", "type": "integer", "choices": [1, "two"]})
    assert_error(document, "variables[4].choices[1]", '"two" does not fit type integer')


@pytest.mark.parametrize(
    ("type_name", "low", "high"),
    [("integer", 10, 5), ("decimal", "2.5", "1.5"), ("date", "2024-05-02", "2024-05-01")],
)
def test_min_must_not_be_greater_than_max(type_name, low, high):
    document = base()
    document["variables"].append({"name": "x", "type": type_name, "min": low, "max": high})
    assert_error(document, "variables[4].min", "is greater than max")


def test_a_bound_must_fit_the_type():
    document = base()
    document["variables"].append({"name": "due", "type": "date", "max": "soon"})
    assert_error(document, "variables[4].max", '"soon" does not fit type date')


@pytest.mark.parametrize(("key", "value"), [("min", 1), ("max", 5)])
def test_min_and_max_apply_to_numbers_and_dates_only(key, value):
    document = base()
    document["variables"].append({"name": "x", "type": "string", key: value})
    assert_error(
        document, f"variables[4].{key}", f"{key} applies only to integer, decimal, date and datetime"
    )


@pytest.mark.parametrize(("key", "value"), [("max_length", 3), ("pattern", "[0-9]+")])
def test_text_restrictions_apply_to_text_only(key, value):
    document = base()
    document["variables"].append({"name": "x", "type": "integer", key: value})
    assert_error(document, f"variables[4].{key}", f"{key} applies only to string", "not integer")


def test_a_pattern_must_be_a_regular_expression():
    document = base()
    document["variables"].append({"name": "code", "type": "string", "pattern": "[A-Z"})
    assert_error(document, "variables[4].pattern", "not a valid regular expression")


# ----------------------------------------------------------------------- references


def test_start_state_must_name_a_state():
    document = base()
    document["start_state"] = "Intak"
    assert_error(document, "start_state", 'no state is named "Intak"', 'did you mean "Intake"?')


def test_change_state_must_name_a_state():
    document = base()
    document["states"][0]["actions"][0]["exits"]["approve"][1]["state"] = "Don"
    assert_error(
        document, f"{SEND_PATH}.exits.approve[1].state", 'no state is named "Don"', 'did you mean "Done"?'
    )


def test_call_task_must_name_a_task():
    document = base()
    document["states"][1]["actions"][0]["task"] = "Chek"
    assert_error(document, "states[1].actions[0].task", 'no task is named "Chek"', 'did you mean "Check"?')


def test_send_work_item_must_name_a_work_item():
    document = base()
    document["states"][0]["actions"][0]["work_item"] = "Reveiw"
    assert_error(document, f"{SEND_PATH}.work_item", 'no work item is named "Reveiw"', '"Review"')


def test_change_state_inputs_must_be_inputs_of_the_target_state():
    document = base()
    document["states"][0]["actions"][0]["exits"]["approve"][1]["inputs"] = {"notes": "reason"}
    assert_error(
        document,
        f"{SEND_PATH}.exits.approve[1].inputs.notes",
        '"notes" is not an input of state "Done"',
        'did you mean "note"?',
    )


def test_state_inputs_must_be_locals_of_the_state():
    document = base()
    document["states"][1]["inputs"].append("amount")
    assert_error(document, "states[1].inputs[1]", 'input "amount" is not a local variable of state "Done"')


@pytest.mark.parametrize("key", ["inputs", "outputs"])
def test_task_inputs_and_outputs_must_be_locals_of_the_task(key):
    document = base()
    document["tasks"][0][key].append("missing")
    assert_error(document, f"tasks[0].{key}[1]", '"missing" is not a local variable of task "Check"')


def test_call_task_inputs_must_be_inputs_of_the_task():
    document = base()
    document["states"][1]["actions"][0]["inputs"]["ok"] = "true"
    assert_error(document, "states[1].actions[0].inputs.ok", '"ok" is not an input of task "Check"')


def test_call_task_outputs_must_be_outputs_of_the_task():
    document = base()
    document["states"][1]["actions"][0]["outputs"] = {"approved": "value"}
    assert_error(
        document, "states[1].actions[0].outputs.approved", '"value" is not an output of task "Check"'
    )


def test_call_task_outputs_must_go_to_variables_in_the_callers_scope():
    document = base()
    document["states"][1]["actions"][0]["outputs"] = {"aproved": "ok"}
    assert_error(
        document,
        "states[1].actions[0].outputs.aproved",
        'unknown variable "aproved"',
        'did you mean "approved"?',
    )


@pytest.mark.parametrize(
    ("action", "path"),
    [
        ({"action": "assign", "variable": "total", "value": "1"}, "variable"),
        ({"action": "for_each", "collection": "items", "item": "total", "actions": []}, "item"),
        (
            {"action": "launch_process", "process": "P", "wait": True, "outputs": {"total": "x"}},
            "outputs.total",
        ),
        (
            {"action": "invoke_web_service", "wsdl": "w", "operation": "o", "outputs": {"total": "result"}},
            "outputs.total",
        ),
        ({"action": "run_handler", "handler": "h", "outputs": {"total": "result"}}, "outputs.total"),
        (
            {
                "action": "database",
                "data_source": "d",
                "sql": "SELECT 1",
                "result": {"mode": "rowcount", "into": "total"},
            },
            "result.into",
        ),
    ],
)
def test_variables_that_are_set_must_be_in_scope(action, path):
    assert_error(
        add_to_state(base(), action), f"{STATE_END}.{path}", 'unknown variable "total" in state "Done"'
    )


def test_a_built_in_cannot_be_set():
    document = add_to_state(base(), {"action": "assign", "variable": "initiator", "value": "'x'"})
    assert_error(document, f"{STATE_END}.variable", '"initiator" is built in and cannot be set')


def test_a_task_does_not_see_the_calling_states_locals():
    document = add_to_task(base(), {"action": "assign", "variable": "ok", "value": "note == ''"})
    assert_error(
        document,
        f"{TASK_END}.value",
        'unknown variable "note" in task "Check"',
        "does not see the calling state's locals",
    )


def test_a_state_does_not_see_another_states_locals():
    document = add_to_state(base(), {"action": "assign", "variable": "approved", "value": "reason == ''"})
    assert_error(document, f"{STATE_END}.value", 'unknown variable "reason" in state "Done"')


@pytest.mark.parametrize(
    ("action", "path"),
    [
        ({"action": "assign", "variable": "approved", "value": "amout > 1"}, "value"),
        ({"action": "decision", "branches": [{"when": "amout > 1", "actions": []}]}, "branches[0].when"),
        ({"action": "loop", "while": "amout > 1", "actions": []}, "while"),
        ({"action": "for_each", "collection": "amout", "item": "approved", "actions": []}, "collection"),
        ({"action": "wait", "until": "amout"}, "until"),
        ({"action": "call_task", "task": "Check", "inputs": {"value": "amout"}}, "inputs.value"),
        ({"action": "change_state", "state": "Done", "inputs": {"note": "amout"}}, "inputs.note"),
        (
            {"action": "invoke_web_service", "wsdl": "w", "operation": "o", "inputs": {"Id": "amout"}},
            "inputs.Id",
        ),
        ({"action": "run_handler", "handler": "h", "inputs": {"n": "amout"}}, "inputs.n"),
        (
            {"action": "database", "data_source": "d", "sql": "SELECT %(n)s", "params": {"n": "amout"}},
            "params.n",
        ),
        ({"action": "send_email", "to": "amout", "subject": "s", "body": "b"}, "to"),
        ({"action": "send_email", "to": "'a@b.c'", "subject": "{{ amout }}", "body": "b"}, "subject"),
        ({"action": "send_email", "to": "'a@b.c'", "subject": "s", "body": "{{ amout }}"}, "body"),
        (
            {
                "action": "send_email",
                "to": "'a@b.c'",
                "subject": "s",
                "body": "b",
                "html_body": "{{ amout }}",
            },
            "html_body",
        ),
        ({"action": "launch_process", "process": "P", "inputs": {"n": "amout"}}, "inputs.n"),
        (
            {
                "action": "send_work_item",
                "work_item": "Review",
                "to": {"user": "{{ amout }}"},
                "exits": {"approve": [], "deny": []},
            },
            "to.user",
        ),
        (
            {
                "action": "send_work_item",
                "work_item": "Review",
                "to": {"workgroup": "G{{ amout }}"},
                "exits": {"approve": [], "deny": []},
            },
            "to.workgroup",
        ),
        (
            {
                "action": "send_work_item",
                "work_item": "Review",
                "to": {"workgroup": "G", "priority": "amout"},
                "exits": {"approve": [], "deny": []},
            },
            "to.priority",
        ),
    ],
)
def test_every_expression_and_template_reads_only_variables_in_scope(action, path):
    assert_error(
        add_to_state(base(), action),
        f"{STATE_END}.{path}",
        'unknown variable "amout"',
        'did you mean "amount"?',
    )


def test_initiator_and_instance_id_are_always_in_scope():
    document = add_to_task(
        base(), {"action": "assign", "variable": "ok", "value": "initiator != '' and instance_id > 0"}
    )
    assert errors(document) == []


def test_error_is_in_scope_inside_on_error_only():
    document = base()
    document["variables"].append({"name": "message", "type": "string"})
    add_to_state(
        document,
        {
            "action": "run_handler",
            "handler": "h",
            "on_error": [
                {
                    "action": "decision",
                    "branches": [
                        {
                            "when": "error['type'] == 'timeout'",
                            "actions": [
                                {"action": "assign", "variable": "message", "value": "error['message']"}
                            ],
                        }
                    ],
                }
            ],
        },
    )
    assert errors(document) == []
    add_to_state(document, {"action": "assign", "variable": "message", "value": "error['message']"})
    assert_error(
        document, "states[1].actions[2].value", 'unknown variable "error"', "only in scope inside on_error"
    )


@pytest.mark.parametrize(
    ("source", "template"), [("amount +", False), ("amount.real", False), ("{{ amount", True)]
)
def test_an_expression_that_does_not_parse_gives_the_reason(source, template):
    action = (
        {"action": "send_email", "to": "'a@b.c'", "subject": source, "body": "b"}
        if template
        else {"action": "assign", "variable": "approved", "value": source}
    )
    document = add_to_state(base(), action)
    path = f"{STATE_END}.{'subject' if template else 'value'}"
    assert_error(document, path, "expression")


def test_a_work_item_description_that_does_not_parse_is_reported_even_when_never_sent():
    document = base()
    document["work_items"].append({"name": "Spare", "description": "{{ 1 + }}", "buttons": [{"id": "ok"}]})
    assert_error(document, "work_items[1].description", "expression")


def test_a_work_item_description_is_checked_in_the_scope_of_each_send():
    document = base()
    document["work_items"][0]["description"] = "Because {{ reason }}"
    document["work_items"][0]["fields"] = []
    add_to_state(
        document,
        {
            "action": "send_work_item",
            "work_item": "Review",
            "to": {"user": "ann"},
            "exits": {"approve": [], "deny": []},
        },
    )
    assert_error(
        document,
        "work_items[0].description",
        'unknown variable "reason"',
        f"where the work item is sent at {STATE_END}",
    )
    assert len(errors(document)) == 1  # the send from state Intake, where reason is a local, is fine


def test_a_field_variable_must_be_in_scope_where_the_work_item_is_sent():
    document = add_to_task(
        base(),
        {
            "action": "send_work_item",
            "work_item": "Review",
            "to": {"user": "ann"},
            "exits": {"approve": [], "deny": []},
        },
    )
    assert_error(
        document,
        "work_items[0].fields[1].variable",
        'unknown variable "reason"',
        f"where the work item is sent at {TASK_END}",
    )


def test_a_select_needs_choices_on_its_variable():
    document = base()
    document["work_items"][0]["fields"][0]["control"] = "select"
    assert_error(document, "work_items[0].fields[0]", 'a select needs choices on variable "amount"')


STATE_LEVEL_IN_TASK = [
    ([], ""),
    ([{"action": "decision", "branches": [{"when": "true", "actions": "X"}]}], "[0].branches[0].actions"),
    ([{"action": "decision", "branches": [], "otherwise": "X"}], "[0].otherwise"),
    ([{"action": "loop", "while": "true", "actions": "X"}], "[0].actions"),
    ([{"action": "for_each", "collection": "[]", "item": "ok", "actions": "X"}], "[0].actions"),
    ([{"action": "parallel", "branches": [[], "X"]}], "[0].branches[1]"),
    (
        [
            {
                "action": "send_work_item",
                "work_item": "Review",
                "to": {"user": "ann"},
                "exits": {"approve": "X", "deny": []},
            }
        ],
        "[0].exits.approve",
    ),
    (
        [
            {
                "action": "send_work_item",
                "work_item": "Review",
                "to": {"user": "ann"},
                "timeout": "PT1H",
                "on_timeout": "X",
                "exits": {"approve": [], "deny": []},
            }
        ],
        "[0].on_timeout",
    ),
    ([{"action": "run_handler", "handler": "h", "on_error": "X"}], "[0].on_error"),
    ([{"action": "database", "data_source": "d", "sql": "SELECT 1", "on_error": "X"}], "[0].on_error"),
]


def _nest(template: Any, action: dict[str, Any]) -> Any:
    if template == "X":
        return [action]
    if isinstance(template, list):
        return [_nest(item, action) for item in template]
    if isinstance(template, dict):
        return {key: _nest(value, action) for key, value in template.items()}
    return template


@pytest.mark.parametrize("kind", ["change_state", "end_process"])
@pytest.mark.parametrize(("wrapper", "inner_path"), STATE_LEVEL_IN_TASK)
def test_state_level_actions_are_refused_anywhere_inside_a_task(kind, wrapper, inner_path):
    action = {"action": "change_state", "state": "Done"} if kind == "change_state" else {"action": kind}
    document = base()
    if wrapper:
        document["tasks"][0]["actions"] = _nest(wrapper, action)
        path = f"tasks[0].actions{inner_path}[0]"
    else:
        add_to_task(document, action)
        path = TASK_END
    assert_error(document, path, f"{kind} is a state-level action and cannot be used inside a task")


def test_every_button_needs_an_exit():
    document = base()
    del document["states"][0]["actions"][0]["exits"]["deny"]
    assert_error(document, f"{SEND_PATH}.exits", 'button "deny" of work item "Review" has no exit')


def test_every_exit_must_be_a_button():
    document = base()
    exits = document["states"][0]["actions"][0]["exits"]
    exits["aprove"] = exits.pop("approve")
    assert_error(
        document,
        f"{SEND_PATH}.exits.aprove",
        'exit "aprove" matches no button of work item "Review"',
        'did you mean "approve"?',
    )


def test_an_exit_that_is_not_a_plain_name_is_quoted_in_the_path():
    document = base()
    document["states"][0]["actions"][0]["exits"]["send back"] = []
    assert_error(document, f'{SEND_PATH}.exits["send back"]', 'exit "send back" matches no button')


@pytest.mark.parametrize(
    ("duration", "words"),
    [("P1M", "months and years"), ("soon", "not an ISO 8601 duration"), ("-PT1H", "negative")],
)
def test_timeouts_and_waits_are_iso_8601_durations(duration, words):
    document = base()
    document["states"][0]["actions"][0]["timeout"] = duration
    add_to_state(document, {"action": "wait", "duration": duration})
    assert_error(document, f"{SEND_PATH}.timeout", "ISO 8601 duration", words)
    assert_error(document, f"{STATE_END}.duration", "ISO 8601 duration", words)


def test_launch_process_outputs_need_wait():
    document = add_to_state(
        base(), {"action": "launch_process", "process": "P", "outputs": {"approved": "ok"}}
    )
    assert_error(document, f"{STATE_END}.outputs", 'outputs need "wait": true')


def test_every_sql_parameter_needs_a_value():
    document = add_to_state(
        base(),
        {
            "action": "database",
            "data_source": "d",
            "sql": "SELECT * FROM t WHERE a = %(amount)s AND b = %(kind)s",
            "params": {"amount": "amount"},
        },
    )
    assert_error(document, f"{STATE_END}.sql", 'parameter "kind" has no value in params')


# ----------------------------------------------------------------------- all at once


def test_several_faults_are_reported_together_sorted_by_path():
    document = base()
    del document["format"]
    document["variables"][0]["type"] = "money"
    document["start_state"] = "Nowhere"
    document["tasks"][0]["actions"].append({"action": "end_process"})
    document["work_items"][0]["buttons"].append({"id": "later"})
    found = validate_definition(document)
    assert [error.path for error in found] == [
        "$",
        "start_state",
        f"{SEND_PATH}.exits",
        TASK_END,
        "variables[0].type",
    ]


def test_paths_sort_by_number_not_by_text():
    document = base()
    document["variables"] += [{"name": f"v{i}", "type": "integer", "default": "x"} for i in range(11)]
    paths = [error.path for error in validate_definition(document)]
    assert paths == [f"variables[{i}].default" for i in range(4, 15)]


def test_the_same_fault_found_twice_is_reported_once():
    document = base()
    document["work_items"][0]["description"] = "{{ 1 + }}"
    add_to_state(
        document,
        {
            "action": "send_work_item",
            "work_item": "Review",
            "to": {"user": "ann"},
            "exits": {"approve": [], "deny": []},
        },
    )
    found = errors(document)
    assert len([path for path, _ in found if path == "work_items[0].description"]) == 1


GARBAGE = [
    {
        "states": [
            {
                "name": "S",
                "actions": [
                    {"action": kind}
                    for kind in ("exits", "owner", "unique", "external", "send_site", "__init__")
                ],
            }
        ]
    },
    None,
    [],
    "text",
    42,
    {},
    {
        "format": "ipa.process/v1",
        "name": 5,
        "states": 7,
        "variables": {"a": 1},
        "tasks": "x",
        "work_items": 3,
    },
    {"states": [None, 1, "s", [], {"name": [], "actions": {}}], "start_state": ["a"]},
    {
        "states": [
            {
                "name": "S",
                "variables": [
                    1,
                    None,
                    {"name": 3, "type": []},
                    {
                        "name": "x",
                        "type": "integer",
                        "default": {},
                        "min": [],
                        "max": {},
                        "choices": "a",
                        "pattern": 5,
                    },
                ],
                "inputs": {"a": 1},
                "actions": [
                    None,
                    1,
                    "a",
                    [],
                    {"action": None},
                    {"action": []},
                    {"action": "decision", "branches": [None, [], {"when": 5}]},
                    {
                        "action": "send_work_item",
                        "work_item": [],
                        "to": [],
                        "exits": [],
                        "timeout": 5,
                        "on_timeout": {},
                    },
                    {"action": "call_task", "task": {}, "inputs": [], "outputs": {"a": []}},
                    {"action": "change_state", "state": None, "inputs": "x"},
                    {"action": "database", "sql": 5, "params": [], "result": []},
                    {"action": "parallel", "branches": [None, {}, "x"]},
                    {"action": "wait", "duration": [], "until": {}},
                    {"action": "send_email", "to": 1, "subject": [], "body": None},
                ],
            }
        ],
        "work_items": [
            None,
            {
                "name": "W",
                "fields": [None, {"variable": 1}, {"variable": "x", "control": []}],
                "buttons": [None, {"id": []}, {"id": "a"}],
            },
        ],
        "tasks": [{"name": "T", "inputs": [None, 1], "outputs": "x", "actions": [{"action": "end_process"}]}],
    },
    {
        "states": [
            {
                "name": "S",
                "actions": [
                    {
                        "action": "send_work_item",
                        "work_item": "W",
                        "to": {"user": 1, "workgroup": []},
                        "exits": {"a": None},
                    }
                ],
            }
        ],
        "work_items": [{"name": "W", "fields": "x", "buttons": "y", "description": 5}],
    },
    {1: 2, None: [], ("a",): "tuple key"},
]


@pytest.mark.parametrize("document", GARBAGE)
def test_garbage_is_reported_and_never_raises(document):
    found = validate_definition(document)
    assert found
    assert all(isinstance(error, DefinitionError) and error.path and error.message for error in found)


@pytest.mark.parametrize("document", GARBAGE)
def test_the_faster_action_dispatch_finds_what_the_standard_validator_finds(document):
    def found(validator):
        return sorted((list(error.absolute_path), error.message) for error in validator.iter_errors(document))

    assert found(_VALIDATOR) == found(Draft202012Validator(PROCESS_SCHEMA))


def test_a_non_object_document_is_reported_at_the_root():
    assert errors([]) == [("$", "must be an object, not a list")]


def test_absurdly_deep_nesting_is_reported_not_raised():
    document = base()
    actions: list[Any] = []
    for _ in range(200):
        actions = [{"action": "loop", "while": "true", "actions": actions}]
    document["states"][1]["actions"] = actions
    [error] = validate_definition(document)
    assert error.path.startswith("states[1].actions[0].actions[0]")
    assert "nested more than 100 levels deep" in error.message


# ------------------------------------------------------------- buttons that ask first


def _expense_with_buttons(buttons: list, fields: list | None = None) -> dict:
    return {
        "format": "ipa.process/v1", "name": "Expense",
        "variables": [{"name": "amount", "type": "decimal", "label": "Amount claimed"},
                      {"name": "comment", "type": "string"}],
        "start_state": "Review",
        "states": [{"name": "Review", "actions": [
            {"action": "send_work_item", "work_item": "Approve", "to": {"workgroup": "Managers"},
             "exits": {b["id"]: [] for b in buttons if isinstance(b, dict) and "id" in b}}]}],
        "work_items": [{"name": "Approve",
                        "fields": fields if fields is not None else [{"variable": "amount", "readonly": True},
                                                                     {"variable": "comment"}],
                        "buttons": buttons}],
    }


def test_a_button_may_ask_for_confirmation_and_require_fields():
    document = _expense_with_buttons([{"id": "approve"}, {"id": "reject", "label": "Reject",
                                                          "confirm": "Reject this expense?",
                                                          "requires": ["comment"]}])
    assert validate_definition(document) == []


def test_an_unknown_key_on_a_button_is_refused_with_its_path():
    document = _expense_with_buttons([{"id": "reject", "confrim": "Sure?"}])
    [error] = validate_definition(document)
    assert error.path == "work_items[0].buttons[0]"
    assert 'unknown key "confrim"' in error.message and '"confirm"' in error.message


def test_a_button_may_require_only_fields_of_its_work_item_that_can_be_filled_in():
    document = _expense_with_buttons([{"id": "reject", "requires": ["coment", "amount"]}])
    errors = {(e.path, e.message) for e in validate_definition(document)}
    assert ("work_items[0].buttons[0].requires[0]",
            'the work item has no field for "coment" (did you mean "comment"?)') in errors
    assert any(path == "work_items[0].buttons[0].requires[1]" and "read-only" in message
               for path, message in errors)


def test_confirm_is_a_question_and_requires_a_list_of_names():
    document = _expense_with_buttons([{"id": "reject", "confirm": "", "requires": "comment"}])
    paths = {e.path for e in validate_definition(document)}
    assert {"work_items[0].buttons[0].confirm", "work_items[0].buttons[0].requires"} <= paths
