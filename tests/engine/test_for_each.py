from processes.engine import SendWorkItem, Skip, WorkItemCompleted, scope_at

from .builders import Instance, act, definition, send, var, work_item


def test_for_each_assigns_every_element_to_the_item_and_runs_the_body():
    document = definition(
        act(
            "for_each",
            collection="prices",
            item="price",
            actions=[act("assign", variable="total", value="total + price")],
        ),
        variables=[
            var("prices", "list", default=["1.50", 2, "3.25"]),
            var("price", "decimal"),
            var("total", "decimal", default="0"),
        ],
    )
    instance = Instance(document)
    assert instance.start().status == "completed"
    assert instance.globals["total"] == "6.75"
    assert instance.globals["price"] == "3.25"


def test_the_collection_is_evaluated_once():
    document = definition(
        act(
            "for_each",
            collection="names",
            item="name",
            actions=[
                act("assign", variable="names", value='names + ["more"]'),
                act("assign", variable="count", value="count + 1"),
            ],
        ),
        variables=[var("names", "list", default=["a", "b"]), var("name"), var("count", "integer", default=0)],
    )
    instance = Instance(document)
    instance.start()
    assert instance.globals["count"] == 2


def test_an_empty_collection_runs_nothing():
    document = definition(
        act("for_each", collection="[]", item="name", actions=[act("assign", variable="count", value="1")]),
        variables=[var("name"), var("count", "integer", default=0)],
    )
    instance = Instance(document)
    instance.start()
    assert instance.globals["count"] == 0


def test_a_work_item_inside_for_each_is_sent_once_per_element_and_sees_the_item():
    document = definition(
        act(
            "for_each",
            collection="people",
            item="person",
            actions=[
                send("Sign", to={"user": "{{ person }}"}),
                act("assign", variable="signed", value="signed + [person]"),
            ],
        ),
        variables=[var("people", "list", default=["ann", "bob", "cid"]), var("signed", "list", default=[])],
        locals=[var("person", "user")],
        work_items=[work_item("Sign")],
    )
    instance = Instance(document)
    instance.start()
    users = []
    for _ in range(3):
        (item,) = instance.effects(SendWorkItem)
        users.append(item.user)
        assert scope_at(instance.process, instance.state, item.token)["person"].value == item.user
        instance.send(WorkItemCompleted(item.token, "ok"))
    assert users == ["ann", "bob", "cid"]
    assert instance.status == "completed"
    assert instance.globals["signed"] == ["ann", "bob", "cid"]


def test_a_collection_that_is_not_a_list_is_a_fault():
    document = definition(
        act("for_each", collection="count", item="x", actions=[]),
        variables=[var("count", "integer", default=3), var("x")],
    )
    step = Instance(document).start()
    assert step.status == "error"
    assert step.error == (
        "in state Main, states.Main.actions[0].collection: the collection must be a list, not int"
    )


def test_an_element_that_does_not_fit_the_item_type_is_a_fault_and_skip_moves_past_the_loop():
    document = definition(
        act(
            "for_each",
            collection="values",
            item="n",
            actions=[act("assign", variable="seen", value="seen + 1")],
        ),
        act("assign", variable="after", value="true"),
        variables=[
            var("values", "list", default=[1, "two", 3]),
            var("n", "integer"),
            var("seen", "integer", default=0),
            var("after", "boolean", default=False),
        ],
    )
    instance = Instance(document)
    step = instance.start()
    assert step.status == "error"
    assert "states.Main.actions[0].item: cannot assign to n:" in step.error
    assert instance.globals["seen"] == 1
    instance.send(Skip())
    assert instance.status == "completed"
    assert instance.globals["seen"] == 1
    assert instance.globals["after"] is True
