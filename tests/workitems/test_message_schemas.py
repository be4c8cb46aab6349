"""The schemas of /ws/workitems/ messages: one per type, strict, and in step with the REST shape."""

import pytest

from workitems.schemas import CLIENT_MESSAGES, SERVER_MESSAGES, WORK_ITEM, validate_server_message, validation_error

ITEM = {"id": 7, "instance": 3, "process": "Ticket", "name": "Answer", "category": "", "description": "About x",
        "priority": 0, "status": "offered", "user": "ann", "workgroup": "Desk",
        "created_at": "2026-01-02T03:04:05.123456Z", "updated_at": "2026-01-02T03:04:05Z", "offered_at": None}

EXAMPLES = {
    "snapshot": {"type": "snapshot", "work_items": [ITEM]},
    "added": {"type": "added", "work_item": ITEM},
    "changed": {"type": "changed", "work_item": {**ITEM, "status": "processing"}},
    "removed": {"type": "removed", "id": 7},
    "presence": {"type": "presence", "status": "away", "since": "2026-01-02T03:04:05+00:00"},
    "queue": {"type": "queue", "workgroup": "Desk"},
    "engine": {"type": "engine", "running": False},
    "pong": {"type": "pong"},
    "error": {"type": "error", "reason": "a message is a JSON object"},
}


def test_every_message_type_of_the_contract_has_a_schema():
    assert {"snapshot", "added", "changed", "removed"} <= set(SERVER_MESSAGES)
    assert set(EXAMPLES) == set(SERVER_MESSAGES)
    assert set(CLIENT_MESSAGES) == {"ping"}


@pytest.mark.parametrize("type_name", sorted(EXAMPLES))
def test_a_well_formed_message_of_each_type_is_valid(type_name):
    validate_server_message(EXAMPLES[type_name])


@pytest.mark.parametrize("message", [
    {"type": "added"},
    {"type": "removed", "id": "7"},
    {"type": "removed", "id": 7, "work_item": ITEM},
    {"type": "added", "work_item": {**ITEM, "secret": "x"}},
    {"type": "added", "work_item": {k: v for k, v in ITEM.items() if k != "description"}},
    {"type": "changed", "work_item": {**ITEM, "status": "sleeping"}},
    {"type": "changed", "work_item": {**ITEM, "created_at": "yesterday"}},
    {"type": "presence", "status": "busy", "since": None},
    {"type": "snapshot", "work_items": [{"id": 1}]},
    {"type": "engine"},
    {"type": "engine", "running": "no"},
    {"type": "surprise"},
    ["added"],
])
def test_a_malformed_message_is_refused_with_a_reason(message):
    with pytest.raises(ValueError) as refused:
        validate_server_message(message)
    assert str(refused.value)


def test_a_refusal_says_where_the_message_is_wrong():
    reason = validation_error({"type": "added", "work_item": {**ITEM, "priority": "high"}}, SERVER_MESSAGES)
    assert reason.startswith("added: work_item/priority:")


def test_the_work_item_schema_has_exactly_the_fields_of_the_rest_list():
    from workitems.api.serializers import WorkItemSerializer

    assert set(WORK_ITEM["properties"]) == set(WorkItemSerializer.Meta.fields)
    assert set(WORK_ITEM["required"]) == set(WorkItemSerializer.Meta.fields)


@pytest.mark.django_db
def test_an_item_serialized_for_a_push_fits_the_schema(agent, ticket):
    from administration.models import User
    from workitems import delivery

    agent("ann")
    item = ticket("printer")
    item.refresh_from_db()
    validate_server_message({"type": "added",
                             "work_item": delivery.serialize_for(User.objects.get(username="ann"), item)})


def test_a_ping_from_the_client_is_valid_and_anything_else_is_not():
    assert validation_error({"type": "ping"}, CLIENT_MESSAGES) is None
    assert "ping" in validation_error({"type": "pong"}, CLIENT_MESSAGES)
    assert validation_error(None, CLIENT_MESSAGES)
