from processes.engine import compile_process
from processes.engine.process import format_position

from .builders import act, definition, send, state, task, var, work_item


def document():
    return definition(
        states=[
            state(
                "Intake",
                act("assign", variable="a", value="1"),
                act("decision", branches=[{"when": "true", "actions": [send("Look")]}]),
                variables=[var("local_one")],
            ),
            state("Done"),
        ],
        variables=[var("a", "integer", input=True), var("b"), var("c", input=True, required=True)],
        tasks=[task("Pay", variables=[var("sum", "decimal")], inputs=["sum"])],
        work_items=[work_item("Look")],
        name="Car Loan",
    )


def test_compile_process_indexes_the_definition_by_name():
    process = compile_process(document())
    assert process.name == "Car Loan"
    assert process.start_state == "Intake"
    assert list(process.globals) == ["a", "b", "c"]
    assert list(process.states) == ["Intake", "Done"]
    assert list(process.tasks) == ["Pay"]
    assert list(process.work_items) == ["Look"]
    assert list(process.state_locals["Intake"]) == ["local_one"]
    assert list(process.task_locals["Pay"]) == ["sum"]


def test_input_variables_are_the_globals_marked_input_in_order():
    process = compile_process(document())
    assert [spec["name"] for spec in process.input_variables] == ["a", "c"]


def test_positions_resolve_to_lists_of_actions_and_actions():
    process = compile_process(document())
    block = process.block(["states", "Intake", "actions", 1, "branches", 0, "actions"])
    assert block[0]["work_item"] == "Look"
    assert process.action(["states", "Intake", "actions", 0])["variable"] == "a"
    assert process.block(("tasks", "Pay", "actions")) == []


def test_positions_read_like_the_places_in_error_messages():
    assert format_position(["states", "Intake", "actions", 0, "exits", "approve", 2]) == (
        "states.Intake.actions[0].exits.approve[2]"
    )
    assert (
        format_position(["states", "A", "actions", 0, "branches", 1, 0])
        == "states.A.actions[0].branches[1][0]"
    )
