"""Substitutes (out of office): direct-routed items go to the substitute while the agent is away."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db


def direct_item_of(instance_id: int):
    from workitems.models import WorkItem

    return WorkItem.objects.select_related("user").get(instance_id=instance_id)


def test_a_direct_item_goes_to_the_substitute(desk, agent):
    from administration.models import User
    from processes.models import HistoryEntry
    from processes.services.definitions import import_definition
    from processes.services.instances import launch_process
    from workitems.substitutes import set_absence

    import_definition({
        "format": "ipa.process/v1", "name": "Note",
        "variables": [{"name": "to", "type": "user", "input": True}],
        "start_state": "Read", "states": [{"name": "Read", "actions": [
            {"action": "send_work_item", "work_item": "Read", "to": {"user": "{{ to }}"}, "exits": {"ok": []}}]}],
        "work_items": [{"name": "Read", "buttons": [{"id": "ok"}]}],
    }, publish=True)
    bob, cat = agent("bob"), agent("cat", license="direct_routed")
    set_absence(bob, "bob", "cat", None, timezone.now() + timedelta(days=1))
    lena = User.objects.get(username="lena")
    lena.rights = ["launch"]
    lena.save()
    instance = launch_process(lena, "Note", {"to": "bob"})
    assert direct_item_of(instance.pk).user == cat
    entry = HistoryEntry.objects.get(instance=instance, what="work_item_substituted")
    assert entry.detail == "Read to user cat for bob"

    from processes.history_text import history_sentence

    assert history_sentence(entry.what, entry.detail) == "Sent Read to cat, for bob, who is away"

    later = launch_process(lena, "Note", {"to": "cat"})  # the substitute's own work is unchanged
    assert direct_item_of(later.pk).user == cat


def test_outside_the_period_the_item_goes_to_the_agent(desk, agent):
    from workitems.models import Absence
    from workitems.services import _receiver

    bob, cat = agent("bob"), agent("cat")
    now = timezone.now()
    Absence.objects.create(user=bob, substitute=cat, starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=2))
    assert _receiver.first("bob")[3] is None  # (pk, username, license, substitute)


def test_the_substitute_must_hold_a_license_that_receives_work(desk, agent):
    from administration.models import User
    from processes.errors import FormInvalid
    from workitems.substitutes import set_absence

    bob = agent("bob")
    User.objects.create_user("nolan", password="nolan-pass-1")
    with pytest.raises(FormInvalid) as refused:
        set_absence(bob, "bob", "nolan", None, timezone.now() + timedelta(days=1))
    assert "license" in refused.value.errors["substitute"][0]
    with pytest.raises(FormInvalid) as refused:
        set_absence(bob, "bob", "bob", None, timezone.now() + timedelta(days=1))
    assert refused.value.errors["substitute"] == ["must be someone else"]


def test_only_a_supervisor_sets_a_substitute_for_someone_else(desk, agent):
    from administration.policy import NotAllowed
    from workitems.substitutes import set_absence

    bob, cat = agent("bob"), agent("cat")
    agent("dan")
    with pytest.raises(NotAllowed):
        set_absence(cat, "bob", "dan", None, timezone.now() + timedelta(days=1))
    cat.rights = ["manage"]
    cat.save()
    from workitems.models import Absence

    set_absence(type(cat).objects.get(pk=cat.pk), "bob", "dan", None, timezone.now() + timedelta(days=1))
    assert Absence.objects.get().user == bob


def test_the_page_keeps_what_was_typed_after_an_error(desk, agent):
    bob = agent("bob")
    browser = Client()
    browser.force_login(bob)
    response = browser.post("/workitems/away/", {"substitute": "nobody-here", "ends_at": "2099-01-01T10:00"})
    assert response.status_code == 302 and response["Location"] == "/workitems/away/"
    page = browser.get("/workitems/away/").content.decode()
    assert "there is no user" in page and 'value="nobody-here"' in page
