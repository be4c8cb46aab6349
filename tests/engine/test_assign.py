from decimal import Decimal

from processes.engine import global_values

from .builders import Instance, act, definition, send, task, var, work_item


def test_assign_stores_the_value_in_the_variables_json_form():
    instance = Instance(
        definition(
            act("assign", variable="total", value="price * 3"),
            act("assign", variable="label", value='"order " + str(count)'),
            act("assign", variable="when", value='date("2024-06-01")'),
            variables=[
                var("price", "decimal", default="2.50"),
                var("count", "integer", default=4),
                var("total", "decimal"),
                var("label"),
                var("when", "date"),
            ],
        )
    )
    step = instance.start()
    assert step.status == "completed"
    assert global_values(step.state) == {
        "price": "2.50",
        "count": 4,
        "total": "7.50",
        "label": "order 4",
        "when": "2024-06-01",
    }


def test_assign_coerces_to_the_declared_type():
    instance = Instance(
        definition(
            act("assign", variable="amount", value="12"),
            act("assign", variable="flag", value='"true"'),
            variables=[var("amount", "decimal"), var("flag", "boolean")],
        )
    )
    instance.start()
    assert instance.globals == {"amount": "12", "flag": True}


def test_assign_records_the_variable_name():
    instance = Instance(definition(act("assign", variable="x", value="1"), variables=[var("x", "integer")]))
    instance.start()
    assert ("assigned", "x") in instance.history()


def test_a_value_that_does_not_fit_the_type_is_a_fault_naming_the_variable():
    instance = Instance(
        definition(act("assign", variable="amount", value='"lots"'), variables=[var("amount", "decimal")])
    )
    step = instance.start()
    assert step.status == "error"
    assert step.error.startswith("in state Main, states.Main.actions[0].value: cannot assign to amount: ")
    assert "decimal number" in step.error
    assert instance.globals == {"amount": None}


def test_assign_writes_the_innermost_scope_that_declares_the_name():
    instance = Instance(
        definition(
            act("assign", variable="x", value='"state"'),
            act("call_task", task="T"),
            variables=[var("x"), var("y")],
            locals=[var("x")],
            tasks=[
                task(
                    "T",
                    act("assign", variable="x", value='"task"'),
                    act("assign", variable="y", value="x"),
                    send("Look"),
                    variables=[var("x")],
                )
            ],
            work_items=[work_item("Look")],
        )
    )
    step = instance.start()
    assert step.status == "waiting"
    state = instance.state
    assert state["globals"] == {"x": None, "y": "task"}
    assert state["locals"] == {"x": "state"}
    (scope,) = state["scopes"].values()
    assert scope["vars"] == {"x": "task"}


def test_builtin_names_are_readable():
    instance = Instance(
        definition(
            act("assign", variable="who", value="initiator"),
            act("assign", variable="which", value="instance_id"),
            variables=[var("who", "user"), var("which", "integer")],
        ),
        initiator="zoe",
        instance_id=42,
    )
    instance.start()
    assert instance.globals == {"who": "zoe", "which": 42}


def test_a_literal_value_that_is_not_text_stands_for_itself():
    instance = Instance(definition(act("assign", variable="n", value=3), variables=[var("n", "decimal")]))
    instance.start()
    assert Decimal(instance.globals["n"]) == 3
