import pytest

from processes.engine import ExternalFailed, ExternalFinished, Record, RunExternal

from .builders import Instance, act, definition, var

VARIABLES = [
    var("customer", default="C-17"),
    var("amount", "decimal", default="99.90"),
    var("name"),
    var("first_item"),
    var("rows", "list"),
    var("problem"),
    var("after", "boolean", default=False),
]


def running(action, **ctx):
    document = definition(action, act("assign", variable="after", value="true"), variables=VARIABLES)
    instance = Instance(document, **ctx)
    instance.start()
    return instance


HANDLER = act(
    "run_handler",
    handler="lookup",
    inputs={"id": "customer", "limit": "amount * 2"},
    outputs={"name": "result.customer.name", "first_item": "result.items.1"},
)


def test_run_handler_emits_its_evaluated_inputs_with_the_default_timeout_and_waits():
    instance = running(HANDLER, handler_timeout=45)
    assert instance.effects(RunExternal) == [
        RunExternal(
            "w1",
            "run_handler",
            {"handler": "lookup", "inputs": {"id": "C-17", "limit": "199.80"}, "timeout": 45},
        )
    ]
    step = instance.step
    assert (step.status, step.waiting_on, step.waiting_detail) == (
        "waiting",
        "external",
        "run_handler lookup",
    )


def test_the_actions_own_timeout_wins_and_zero_means_unlimited():
    instance = running({**HANDLER, "timeout": 0})
    assert instance.effects(RunExternal)[0].params["timeout"] == 0


def test_outputs_walk_dots_and_list_indexes_into_the_result():
    instance = running(HANDLER)
    step = instance.send(ExternalFinished("w1", {"customer": {"name": "Ada"}, "items": ["x", "y"]}))
    assert step.status == "completed"
    assert instance.globals["name"] == "Ada"
    assert instance.globals["first_item"] == "y"
    assert Record("external_finished", "run_handler lookup") in step.effects


def test_result_alone_is_the_whole_value():
    instance = running(act("run_handler", handler="h", outputs={"rows": "result"}))
    instance.send(ExternalFinished("w1", [1, 2]))
    assert instance.globals["rows"] == [1, 2]


@pytest.mark.parametrize("result", [{"customer": {}}, {"customer": {"name": "A"}, "items": ["x"]}, None])
def test_a_missing_output_path_is_a_fault_naming_the_path(result):
    instance = running(HANDLER)
    step = instance.send(ExternalFinished("w1", result))
    assert step.status == "error"
    assert "run_handler lookup returned no result." in step.error
    assert instance.globals["name"] is None


def test_invoke_web_service_emits_the_operation_and_its_inputs():
    action = act(
        "invoke_web_service",
        wsdl="https://bank.example/credit?wsdl",
        operation="Score",
        service="CreditService",
        inputs={"customer": "customer"},
        outputs={"name": "result"},
        timeout=10,
    )
    instance = running(action)
    assert instance.effects(RunExternal) == [
        RunExternal(
            "w1",
            "invoke_web_service",
            {
                "wsdl": "https://bank.example/credit?wsdl",
                "operation": "Score",
                "service": "CreditService",
                "port": None,
                "inputs": {"customer": "C-17"},
                "timeout": 10,
            },
        )
    ]
    assert instance.step.waiting_detail == "invoke_web_service Score"
    instance.send(ExternalFinished("w1", "excellent"))
    assert instance.globals["name"] == "excellent"


def test_database_binds_parameters_and_stores_the_result_as_is():
    action = act(
        "database",
        data_source="crm",
        sql="select * from orders where customer = %(c)s",
        params={"c": "customer"},
        result={"mode": "all_rows", "into": "rows"},
    )
    instance = running(action)
    assert instance.effects(RunExternal)[0].params == {
        "data_source": "crm",
        "sql": "select * from orders where customer = %(c)s",
        "params": {"c": "C-17"},
        "mode": "all_rows",
    }
    instance.send(ExternalFinished("w1", [{"id": 1}, {"id": 2}]))
    assert instance.globals["rows"] == [{"id": 1}, {"id": 2}]
    assert instance.status == "completed"


def test_send_email_renders_its_templates_and_makes_a_single_address_a_list():
    action = act(
        "send_email",
        to='"boss@example.com"',
        subject="Order {{ customer }}",
        body="Amount {{ amount }}",
        html_body="<b>{{ amount }}</b>",
    )
    instance = running(action)
    assert instance.effects(RunExternal)[0].params == {
        "to": ["boss@example.com"],
        "subject": "Order C-17",
        "body": "Amount 99.90",
        "html_body": "<b>99.90</b>",
    }
    assert instance.step.waiting_detail == "send_email"
    instance.send(ExternalFinished("w1"))
    assert instance.status == "completed"


def test_send_email_to_a_list_and_without_html():
    instance = running(act("send_email", to='["a@example.com", "b@example.com"]', subject="s", body="b"))
    params = instance.effects(RunExternal)[0].params
    assert params["to"] == ["a@example.com", "b@example.com"]
    assert params["html_body"] is None


def test_send_email_to_something_else_is_a_fault():
    instance = running(act("send_email", to="42", subject="s", body="b"))
    assert instance.status == "error"
    assert instance.step.error.endswith(
        "states.Main.actions[0].to: to must give an address or a list of addresses"
    )


def test_a_failure_runs_on_error_with_the_error_in_scope_then_continues():
    action = {
        **HANDLER,
        "on_error": [act("assign", variable="problem", value='error["type"] + ": " + error["message"]')],
    }
    instance = running(action)
    step = instance.send(ExternalFailed("w1", {"type": "Timeout", "message": "no answer in 30 s"}))
    assert step.status == "completed"
    assert instance.globals["problem"] == "Timeout: no answer in 30 s"
    assert instance.globals["after"] is True
    assert Record("external_failed", "run_handler lookup: Timeout") in step.effects


def test_a_failure_without_on_error_puts_the_instance_in_error_on_the_action():
    instance = running(HANDLER)
    step = instance.send(ExternalFailed("w1", {"type": "ConnectionError", "message": "refused"}))
    assert step.status == "error"
    assert step.error == "in state Main, states.Main.actions[0]: run_handler lookup failed: refused"
    assert step.current_state == "Main"
    assert step.waiting_on is None
    assert instance.globals["after"] is False


def test_a_result_for_an_unknown_token_is_ignored():
    instance = running(HANDLER)
    step = instance.send(ExternalFinished("w5", {}))
    assert step.effects == [Record("event_ignored", "external w5")]
    assert step.status == "waiting"
