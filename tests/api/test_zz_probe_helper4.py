import pytest
from tests.conftest import launch, my_items, complete
pytestmark = pytest.mark.django_db

def test_probe(demo, api):
    dave, bob = api("dave"), api("bob")
    launch(dave, "Expense Approval", {"employee": "dave", "amount": "250.00"})
    [item] = my_items(bob)
    bob.post(f"/api/workitems/{item['id']}/pickup")
    for v in (250, "250", "250.0", 250.0, "250.00"):
        r = bob.post(f"/api/workitems/{item['id']}/save", {"values": {"amount": v}}, format="json")
        print(repr(v), r.status_code, r.json().get("errors"))
    r = bob.post(f"/api/workitems/{item['id']}/save", {"values": {"comment": ""}}, format="json")
    print("comment empty", r.status_code, r.json().get("errors"), [f.get("value") for f in r.json()["fields"]])
    r = bob.post(f"/api/workitems/{item['id']}/save", {"values": None}, format="json")
    print("values none", r.status_code, r.json())
    r = bob.post(f"/api/workitems/{item['id']}/complete", {"values": {}}, format="json")
    print("no button", r.status_code, r.json())
    r = bob.post(f"/api/workitems/{item['id']}/complete", {"button": "approve", "values": ["x"]}, format="json")
    print("values list", r.status_code, r.json())
    r = bob.get(f"/api/workitems/", {"status": "completed,bogus"})
    print("status multi", r.status_code, r.json())
    r = bob.get(f"/api/workitems/", {"page": 5})
    print("page 5", r.status_code, r.json())
    complete(bob, item["id"], "approve")
    r = bob.get(f"/api/workitems/{item['id']}/")
    print("completed form", r.status_code, r.json())
    [pay] = my_items(api("carol"))
    r = api("carol").get(f"/api/workitems/{pay['id']}/")
    print("payout form", r.json())
    r = api("carol").post(f"/api/workitems/{pay['id']}/pickup")
    r = api("carol").post(f"/api/workitems/{pay['id']}/complete", {"button": "done", "values": {"iban": None, "sum": 250}}, format="json")
    print("payout complete with iban None", r.status_code, r.json())
