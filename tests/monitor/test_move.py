"""Move to another state: the API, the page, the history, 409 and 400."""

from __future__ import annotations

from django.test import Client

from tests.monitor.conftest import complete_check, user
from workitems.models import WorkItem


def test_moving_withdraws_the_open_item_enters_the_state_and_records_who_and_why(probe, api):
    instance = probe("Acme")
    response = api("sam").post(f"/api/instances/{instance.pk}/move", {"state": "Pay", "comment": "approved by phone"},
                               format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "Pay" and response.json()["status"] == "waiting"
    assert WorkItem.objects.get(instance=instance, name="Check").status == "withdrawn"
    assert WorkItem.objects.get(instance=instance, name="Pay Out").status in ("offered", "queued")
    history = {(h["what"], h["detail"], h["user"]) for h in response.json()["history"]}
    assert ("moved", "Review -> Pay", "sam") in history
    assert ("comment", "moved to Pay: approved by phone", "sam") in history


def test_moving_an_instance_in_error_out_of_it(probe, engine_runs, api):
    instance = probe("Acme", divisor=0)
    complete_check(instance)
    engine_runs()
    response = api("sam").post(f"/api/instances/{instance.pk}/move", {"state": "Review"}, format="json")
    assert (response.json()["status"], response.json()["state"], response.json()["error"]) == ("waiting", "Review", "")


def test_an_ended_instance_cannot_move_409_and_an_unknown_state_is_400(probe, api):
    instance = probe("Acme")
    assert api("sam").post(f"/api/instances/{instance.pk}/move", {"state": "Nowhere"},
                           format="json").status_code == 400
    complete_check(instance, "reject")
    assert api("sam").post(f"/api/instances/{instance.pk}/move", {"state": "Pay"}, format="json").status_code == 409


def test_moving_needs_manage(probe, api):
    instance = probe("Acme")
    assert api("vic").post(f"/api/instances/{instance.pk}/move", {"state": "Pay"}, format="json").status_code == 403


def test_the_details_page_moves_an_instance_and_tells_it_in_words(probe):
    instance = probe("Acme")
    sam = Client()
    sam.force_login(user("sam"))
    assert sam.post(f"/monitor/instances/{instance.pk}/move", {"state": "Pay"}).status_code == 302
    page = sam.get(f"/monitor/instances/{instance.pk}/").content.decode()
    assert "sam moved it from the state “Review” to “Pay”" in page


def test_the_api_records_the_comment_of_a_cancel(probe, api):
    instance = probe("Acme")
    response = api("sam").post(f"/api/instances/{instance.pk}/cancel", {"comment": "duplicate order"}, format="json")
    assert response.status_code == 200
    assert {"what": "comment", "detail": "cancelled: duplicate order", "user": "sam"} in [
        {k: h[k] for k in ("what", "detail", "user")} for h in response.json()["history"]]
