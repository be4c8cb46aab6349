"""The hot path's precompiled queries return exactly what their querysets return."""

import pytest
from django.db import transaction

from administration.models import User
from processes.models import ProcessInstance
from processes.services import instances, runtime
from processes.services.definitions import import_definition, published_version
from tests.services.test_query_counts import APPROVAL

pytestmark = pytest.mark.django_db


def fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


@pytest.fixture
def instance(directory):
    import_definition(APPROVAL, publish=True)
    return instances.launch_process(User.objects.get(username="admin"), "Approval", {"amount": "12.50"})


def test_a_hot_query_gives_the_same_model_as_its_queryset_with_converted_values(instance):
    with transaction.atomic():
        hot = runtime.lock_instance(instance.pk)
        plain = ProcessInstance.objects.select_for_update().get(pk=instance.pk)
    assert fields(hot) == fields(plain)
    assert isinstance(hot.execution, dict) and hot.started_at.tzinfo is not None


def test_a_hot_query_returns_none_for_a_missing_row_and_is_reused_with_other_parameters(instance):
    with transaction.atomic():
        assert runtime.lock_instance(instance.pk + 1000) is None
        assert runtime.lock_instance(instance.pk).pk == instance.pk


@pytest.mark.django_db(transaction=True)
def test_a_locking_hot_query_is_refused_outside_a_transaction_as_the_queryset_would_be(instance):
    from django.db import connection

    if not connection.features.has_select_for_update:
        pytest.skip("SQLite has no row locks to refuse")
    with pytest.raises(transaction.TransactionManagementError):
        runtime.lock_instance(instance.pk)


def test_the_published_version_query_skips_the_document_but_names_the_right_version(instance):
    import_definition(APPROVAL, publish=False)  # a newer draft does not count
    version = published_version("Approval")
    assert version.version == 1 and version.published
    assert published_version("No Such Process") is None


def test_an_id_as_text_finds_the_row_and_the_number_keeps_the_compiled_statement(directory):
    # The API's routes pass ids as text: a first call with one must not leave the number's calls
    # building the queryset every time for the rest of the process.
    from processes.queries import HotQuery

    by_pk = HotQuery(lambda pk: User.objects.filter(pk=pk).order_by())
    bob = User.objects.get(username="bob")
    assert by_pk.first(str(bob.pk)).username == "bob"
    assert by_pk.first(bob.pk).username == "bob"
    assert [value for value in by_pk._compiled.values() if value is not None], "the number's statement compiled"
    assert by_pk.first(0) is None


def test_a_hot_query_with_select_related_attaches_the_related_row_from_its_one_statement(directory):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authtoken.models import Token

    from processes.queries import HotQuery

    bob = User.objects.get(username="bob")
    key = Token.objects.create(user=bob).key
    with_user = HotQuery(lambda key: Token.objects.select_related("user").filter(key=key))
    assert with_user._compiled == {}
    with_user.first(key)
    with CaptureQueriesContext(connection) as captured:
        token = with_user.first(key)
        assert fields(token.user) == fields(bob)  # no read of its own
    assert len(captured) == 1 and [v for v in with_user._compiled.values() if v is not None], "compiled once"
    assert fields(token) == fields(Token.objects.get(key=key))
    assert with_user.first("no such token") is None
