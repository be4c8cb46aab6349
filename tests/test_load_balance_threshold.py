"""``PAS_LoadBalanceThreshold``: 5000 by default, at least 1000; a lower value is refused with the rule."""

import pytest

from administration.admin import ServerParameterForm
from administration.directory import DirectoryInvalid, import_directory
from administration.models import ServerParameter
from administration.parameters import integer_parameter, parameter_problem

pytestmark = pytest.mark.django_db

RULE = "PAS_LoadBalanceThreshold must be a whole number, at least 1000 (default 5000)"


def test_the_default_is_five_thousand():
    assert integer_parameter("PAS_LoadBalanceThreshold") == 5000


@pytest.mark.parametrize("value", ["999", "0", "-5", "many", ""])
def test_a_value_under_a_thousand_or_not_a_number_is_refused_with_the_rule(value):
    assert parameter_problem("PAS_LoadBalanceThreshold", value).startswith(RULE)


def test_a_thousand_or_more_is_accepted_and_other_parameters_have_no_floor():
    assert parameter_problem("PAS_LoadBalanceThreshold", "1000") is None
    assert parameter_problem("PAS_LoadBalanceThreshold", " 20000 ") is None
    assert parameter_problem("PAS_DepthThreshold", "1") is None


def test_the_directory_import_refuses_a_low_threshold_by_its_path():
    document = {"format": "ipa.directory/v1", "server_parameters": {"PAS_LoadBalanceThreshold": "10"}}
    with pytest.raises(DirectoryInvalid) as refused:
        import_directory(document)
    [error] = refused.value.errors
    assert error.path == "server_parameters.PAS_LoadBalanceThreshold" and error.message.startswith(RULE)
    assert not ServerParameter.objects.exists()
    import_directory({**document, "server_parameters": {"PAS_LoadBalanceThreshold": "2000"}})
    assert ServerParameter.objects.get().value == "2000"


def test_the_admin_form_refuses_a_low_threshold():
    from django.contrib import admin

    form_class = admin.site._registry[ServerParameter].get_form(None)
    assert issubclass(form_class, ServerParameterForm)
    form = form_class(data={"name": "PAS_LoadBalanceThreshold", "value": "500"})
    assert not form.is_valid() and form.errors["value"][0].startswith(RULE)
    assert form_class(data={"name": "PAS_LoadBalanceThreshold", "value": "1000"}).is_valid()
