import json

from processes.engine import (
    ExternalFinished,
    Record,
    SubprocessEnded,
    TimerFired,
    WorkItemCompleted,
)

from .builders import Instance, act, definition, send, state, task, var, work_item

SECRETS = ["Zanzibar-Secret-77", "Quux-Confidential-42", "Ultra-Private-13", "Handler-Result-99"]


def test_history_names_things_but_never_contains_variable_values():
    document = definition(
        states=[
            state(
                "Intake",
                act("assign", variable="copy", value="secret"),
                act(
                    "decision",
                    branches=[
                        {
                            "when": "secret != ''",
                            "actions": [
                                act(
                                    "call_task",
                                    task="Handle",
                                    inputs={"given": "secret"},
                                    outputs={"copy": "given"},
                                )
                            ],
                        }
                    ],
                ),
                act("for_each", collection="[secret, copy]", item="element", actions=[]),
                act(
                    "parallel",
                    branches=[
                        [act("wait", duration="PT1M")],
                        [act("run_handler", handler="h", inputs={"x": "secret"}, outputs={"copy": "result"})],
                    ],
                ),
                act(
                    "launch_process",
                    process="Child",
                    inputs={"s": "secret"},
                    wait=True,
                    outputs={"copy": "child_value"},
                ),
                act("change_state", state="Done", inputs={"note": "copy + secret"}),
                variables=[var("element")],
            ),
            state(
                "Done", send("Look", to={"user": "{{ secret }}"}), variables=[var("note")], inputs=["note"]
            ),
        ],
        variables=[var("secret", input=True), var("copy"), var("form")],
        tasks=[task("Handle", send("Check"), variables=[var("given")], inputs=["given"], outputs=["given"])],
        work_items=[
            work_item("Check", fields=[{"variable": "given"}], description="{{ given }}"),
            work_item("Look", fields=[{"variable": "form"}], description="{{ note }}"),
        ],
    )
    instance = Instance(document)
    instance.start(secret=SECRETS[0])
    instance.send(WorkItemCompleted("w1", "ok", {"given": SECRETS[1]}))
    instance.send(ExternalFinished("w3", SECRETS[3]))
    instance.send(TimerFired("w2"))
    instance.send(SubprocessEnded("w4", "completed", {"child_value": SECRETS[2]}))
    instance.send(WorkItemCompleted("w5", "ok", {"form": SECRETS[2]}))
    assert instance.status == "completed"
    history = instance.history()
    text = json.dumps(history)
    for secret in SECRETS:
        assert secret not in text
    whats = [what for what, _ in history]
    for expected in (
        "launched",
        "state_entered",
        "assigned",
        "decision",
        "task_called",
        "work_item_sent",
        "work_item_completed",
        "task_returned",
        "parallel_started",
        "timer_started",
        "external_started",
        "external_finished",
        "timer_fired",
        "subprocess_launched",
        "subprocess_ended",
        "state_left",
        "completed",
    ):
        assert expected in whats, expected
    assert ("assigned", "copy") in history


def test_every_effect_of_a_step_that_is_a_record_comes_in_order():
    document = definition(
        act("assign", variable="x", value='"v"'),
        send("Look"),
        variables=[var("x")],
        work_items=[work_item("Look")],
    )
    instance = Instance(document)
    step = instance.start()
    assert [e for e in step.effects if isinstance(e, Record)] == [
        Record("launched"),
        Record("state_entered", "Main"),
        Record("assigned", "x"),
        Record("work_item_sent", "Look to workgroup Clerks"),
    ]
