"""Two people completing one work item at the same moment: exactly one wins."""

import threading

import pytest

from tests.conftest import launch, my_items

pytestmark = pytest.mark.django_db(transaction=True)


def complete_at_once(clients, item_id: int, button: str) -> list[int]:
    """Send one complete per client, released together by a barrier; returns the status codes."""
    barrier = threading.Barrier(len(clients))
    codes: list[int] = []

    def press(client) -> None:
        from django.db import connection

        barrier.wait()
        try:
            response = client.post(f"/api/workitems/{item_id}/complete", {"button": button}, format="json")
            codes.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(codes)


@pytest.mark.parametrize("attempt", range(3))
def test_two_concurrent_completions_give_one_200_and_one_409(demo, api, attempt):
    from processes.models import HistoryEntry, ProcessInstance

    started = launch(api("dave"), "Expense Approval", {"employee": "dave", "amount": "250"})
    item = my_items(api("bob"))[0]
    assert api("bob").post(f"/api/workitems/{item['id']}/pickup").status_code == 200

    codes = complete_at_once([api("bob"), api("bob")], item["id"], "approve")

    assert codes == [200, 409]
    instance = ProcessInstance.objects.get(pk=started["id"])
    assert instance.current_state == "Payment"
    completions = HistoryEntry.objects.filter(instance=instance, what="work_item_completed").count()
    assert completions == 1
    pay_outs = [i for i in my_items(api("carol")) if i["instance"] == started["id"]]
    assert len(pay_outs) == 1
