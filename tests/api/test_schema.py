"""The OpenAPI schema says what the server does: one body type, every refusal, exact fields."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def schema(tmp_path_factory) -> dict:
    """The schema, generated with ``--validate --fail-on-warn`` (a warning fails the test)."""
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def operations(schema: dict):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def test_request_bodies_are_json_only(schema):
    for name, operation in operations(schema):
        if "requestBody" in operation:
            assert list(operation["requestBody"]["content"]) == ["application/json"], name


def test_every_refusal_is_declared_as_a_problem_document(schema):
    for name, operation in operations(schema):
        responses = operation["responses"]
        if operation.get("security") and {} not in operation["security"]:
            assert "401" in responses, name
        for code, response in responses.items():
            if code >= "400":
                assert list(response["content"]) == [PROBLEM], (name, code)


def test_the_operations_a_client_needs_refuse_as_the_contract_says(schema):
    declared = {operation["operationId"]: set(operation["responses"]) for _, operation in operations(schema)}
    assert declared["complete_work_item"] >= {"200", "400", "401", "403", "404", "409"}
    assert declared["launch_process"] >= {"201", "400", "401", "403", "404", "503"}
    assert declared["cancel_instance"] >= {"200", "401", "403", "404", "409"}
    assert declared["import_definition"] >= {"201", "400", "401", "403"}


def test_lists_are_declared_as_pages(schema):
    for operation_id in ("list_processes", "list_instances", "list_work_items", "list_definitions"):
        [operation] = [op for _, op in operations(schema) if op["operationId"] == operation_id]
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        page = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert set(page["properties"]) == {"count", "next", "previous", "results"}, operation_id


def test_the_form_says_fields_and_null_names_are_nullable(schema):
    components = schema["components"]["schemas"]
    assert "fields" in components["WorkItemForm"]["properties"]
    assert "fields_" not in components["WorkItemForm"]["properties"]
    assert components["InstanceWorkItem"]["properties"]["user"]["nullable"] is True
    assert components["WorkItem"]["properties"]["workgroup"]["nullable"] is True


def test_a_transfer_needs_a_user_or_a_workgroup(schema):
    transfer = schema["components"]["schemas"]["TransferRequest"]
    required = [schema["components"]["schemas"][one["$ref"].rsplit("/", 1)[1]]["required"] for one in transfer["oneOf"]]
    assert required == [["user"], ["workgroup"]]


def test_enums_have_their_own_names(schema):
    names = set(schema["components"]["schemas"])
    assert {"InstanceStatusEnum", "WorkItemStatusEnum", "PresenceStatusEnum", "LicenseEnum"} <= names
    assert not [name for name in names if name.startswith("Status") and name.endswith("Enum")]


def test_the_definition_body_points_to_the_process_json_schema(schema):
    [operation] = [op for _, op in operations(schema) if op["operationId"] == "import_definition"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ProcessDocument"}
    document = schema["components"]["schemas"]["ProcessDocument"]
    assert document["externalDocs"]["url"] == "/api/schema/process.json"
    assert {"format", "name", "start_state", "states"} <= set(document["required"])


@pytest.mark.django_db
def test_the_process_json_schema_is_served_as_declared(client, schema):
    [operation] = [op for _, op in operations(schema) if op["operationId"] == "get_process_schema"]
    response = client.get("/api/schema/process.json")
    assert list(operation["responses"]["200"]["content"]) == [response["Content-Type"]]
