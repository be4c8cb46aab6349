"""What people do with work items: pick up, save, hold, resume, transfer and complete.

Every operation that touches a work item of a running instance locks the instance row
first (the same order as the engine's steps), then re-reads the item, so two people
acting on one item at once get one success and one ``Conflict``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Now
from django.utils import timezone

from administration import policy
from administration.models import User, Workgroup
from processes import engine, queries
from processes.engine import values as value_types
from processes.errors import Conflict, FormInvalid, NotFound
from processes.models import HistoryEntry, ProcessInstance
from processes.queries import HotQuery, insert_row, save_fields
from processes.services import nodes, runtime
from processes.services.forms import clean_values, is_blank
from workitems import delivery, routing
from workitems.forms import form_fields, work_item_definition
from workitems.models import OPEN_STATUSES, Absence, WorkItem

COMPLETABLE = ("processing", "held")


def my_work_items(user: User, statuses: tuple[str, ...] = OPEN_STATUSES):
    policy.require_any_license(user)
    return WorkItem.objects.filter(user=user, status__in=statuses)


def work_item_for(user: User, item_id: int) -> WorkItem:
    """The item if it is the user's (offered to, or taken by them); 404 otherwise."""
    policy.require_any_license(user)
    item = WorkItem.objects.filter(pk=item_id).select_related("instance", "workgroup").first()
    if item is None or not _is_users(user, item):
        raise NotFound("No such work item.")
    return item


def first_open_item(user: User, instance_id: int) -> WorkItem | None:
    """The user's first open item of an instance: starting a process pops it (the seed)."""
    return (WorkItem.objects.filter(instance_id=instance_id, user=user, status__in=OPEN_STATUSES)
            .order_by("id").first())


def _is_users(user: User, item: WorkItem) -> bool:
    """Offered to or taken by the user, or queued for one of the user's workgroups (first come)."""
    return item.user_id == user.pk or (item.status == "queued" and _in_workgroup(user, item))


def _in_workgroup(user: User, item: WorkItem) -> bool:
    """A member of the item's workgroup who may take its queued items (first come)."""
    return item.workgroup_id is not None and policy.may_take_from_queue(user, item.workgroup_id)


# Who stands in for a user away right now (workitems.substitutes): read with the receiver, no extra query.
_substitute_now = Subquery(Absence.objects.filter(user=OuterRef("pk"), starts_at__lte=Now(), ends_at__gt=Now())
                           .order_by("starts_at").values("substitute_id")[:1])

# The statements every pickup and completion makes, compiled once (see processes.queries).
_lock_instance_of_item = HotQuery(lambda pk: ProcessInstance.objects.select_for_update().filter(
    pk=Subquery(WorkItem.objects.filter(pk=pk).order_by().values("instance_id"))).order_by())
_locked_item_row = HotQuery(lambda pk: WorkItem.objects.select_for_update(of=("self",)).filter(pk=pk)
                            .order_by())
_receiver = HotQuery(lambda username: User.objects.filter(username=username, is_active=True)
                     .order_by().annotate(substitute=_substitute_now)
                     .values_list("pk", "username", "license", "substitute"))


def _row_id(item_id: int | str) -> int:
    """The id as the compiled statements take it: the API's routes pass the URL's text, and an id past
    the database's 64-bit range names no work item (the driver would refuse it with an overflow)."""
    value = int(item_id)
    if not 0 < value < 2**63:
        raise NotFound("No such work item.")
    return value


def _locked_instance_of(user: User, item_id: int) -> ProcessInstance:
    """Inside a transaction: lock the item's instance, first, as every path that changes an item does."""
    policy.require_any_license(user)
    instance = _lock_instance_of_item.first(_row_id(item_id))
    if instance is None:
        raise NotFound("No such work item.")
    return instance


def _locked_item(user: User, item_id: int, allowed: tuple[str, ...], verb: str) -> WorkItem:
    """Inside a transaction: lock the instance, then the item; check holder and status (two statements)."""
    instance = _locked_instance_of(user, item_id)
    item = _locked_item_row.first(_row_id(item_id))
    if item is None:
        raise NotFound("No such work item.")
    item.instance = instance
    _check_holder(user, item, allowed, verb)
    return item


def _check_holder(user: User, item: WorkItem, allowed: tuple[str, ...], verb: str) -> None:
    """404 for an item the user has no part in (offered to another is not theirs to see); 409 for one
    of their workgroup's that a colleague took first, or one whose status does not allow ``verb``."""
    if not _is_users(user, item):
        if not _in_workgroup(user, item) or item.status == "offered":
            raise NotFound("No such work item.")
        if item.status in ("processing", "held"):
            raise Conflict("This work item was taken by someone else.")
    if item.status not in allowed:
        raise Conflict(f"Cannot {verb} a work item that is {item.status}.")


def pickup_work_item(user: User, item_id: int) -> WorkItem:
    with transaction.atomic():
        item = _locked_item(user, item_id, ("offered", "queued"), "pick up")
        if item.status == "queued":
            policy.require_license(user, "group_routed", "Taking a workgroup's work item")
        previous = item.user_id
        item.user = user
        item.status = "processing"
        save_fields(item, ("user", "status", "updated_at"))
        delivery.work_item_changed(item, previous)
    return item


def hold_work_item(user: User, item_id: int) -> WorkItem:
    return _set_status(user, item_id, "processing", "held", "hold")


def resume_work_item(user: User, item_id: int) -> WorkItem:
    return _set_status(user, item_id, "held", "processing", "resume")


# The verbs that need nothing but the item, under the names the pages and the API route them by.
SIMPLE_ACTIONS: dict[str, Callable[[User, int], WorkItem]] = {
    "pickup": pickup_work_item,
    "hold": hold_work_item,
    "resume": resume_work_item,
}


def _set_status(user: User, item_id: int, current: str, new: str, verb: str) -> WorkItem:
    with transaction.atomic():
        item = _locked_item(user, item_id, (current,), verb)
        item.status = new
        item.save(update_fields=["status", "updated_at"])
        delivery.work_item_changed(item, item.user_id)
    return item


def _clean_form_values(user: User, item: WorkItem, values: dict[str, Any], *, for_completion: bool,
                       also_required: tuple[str, ...] = ()) -> dict[str, Any]:
    fields = form_fields(user, item)
    specs = {f["variable"]: f["spec"] for f in fields}
    current = {f["variable"]: item.draft.get(f["variable"], f.get("value")) for f in fields}
    readonly = {f["variable"] for f in fields if f["readonly"] and not f["masked"]}
    masked = {f["variable"] for f in fields if f["masked"]}
    # A read-only value sent back unchanged is fine (forms post every field), and so is a
    # masked field posted back empty: only a value for it is refused.
    values = {k: v for k, v in (values or {}).items()
              if not (k in readonly and _unchanged(specs[k]["type"], v, current.get(k)))
              and not (k in masked and is_blank(v))}
    required = [f["variable"] for f in fields if f["required"] or (f["variable"] in also_required and not f["masked"])
                ] if for_completion else []
    return clean_values(values, specs, required=required, readonly=readonly, current=current, user=user)


def _unchanged(type_name: str, sent: Any, current: Any) -> bool:
    """Whether a read-only value came back as it was (``250`` for ``"250.00"``, blank for none)."""
    if sent == current or (is_blank(sent) and is_blank(current)):
        return True
    try:
        return value_types.coerce(type_name, sent) == value_types.coerce(type_name, current)
    except ValueError:
        return False


def save_work_item(user: User, item_id: int, values: dict[str, Any]) -> WorkItem:
    """Store values as a draft without leaving the form."""
    with transaction.atomic():
        item = _locked_item(user, item_id, ("offered", "processing", "held"), "save")
        item.draft = {**item.draft, **_clean_form_values(user, item, values, for_completion=False)}
        item.save(update_fields=["draft", "updated_at"])
        delivery.work_item_changed(item, item.user_id)
    return item


def complete_work_item(user: User, item_id: int, button: str, values: dict[str, Any], *,
                       confirmed: bool = False) -> WorkItem:
    """Validate and store the values, then resume the instance along ``button``'s exit.

    A button with ``confirm`` acts only when ``confirmed``; one with ``requires`` only when
    those fields are filled in (process-format.md, "Work items").
    """
    with transaction.atomic():
        instance = _locked_instance_of(user, item_id)
        item = _mark_completed(user, item_id, button)  # bad values below roll it back with the rest
        item.instance = instance
        definitions = {b["id"]: b for b in work_item_definition(item).get("buttons", [])}
        if button not in definitions:
            raise FormInvalid({"button": [f"must be one of {', '.join(definitions)}"]}, "Press one of the buttons.")
        pressed = definitions[button]
        cleaned = {**item.draft, **_clean_form_values(user, item, values, for_completion=True,
                                                     also_required=tuple(pressed.get("requires") or ()))}
        if pressed.get("confirm") and not confirmed:  # after the values: what is missing is said first
            raise FormInvalid({"button": [pressed["confirm"]]}, f"{pressed['confirm']} Confirm to go on.")
        delivery.work_item_changed(item, item.user_id)
        if item.is_group_routed:  # the agent is idle from now: before the step routes what it sends
            routing.agents_finished([item.user_id])
        runtime.run_step(item.instance, engine.WorkItemCompleted(item.token, button, cleaned),
                         actor=user.username)
        if item.is_group_routed:  # the agent has room again
            routing.route_for_agents([item.user_id])
    return item


def _mark_completed(user: User, item_id: int, button: str) -> WorkItem:
    """``processing`` or ``held`` -> ``completed`` for its holder, in one statement (``UPDATE … RETURNING``).

    The caller holds the instance's lock, so the row this returns is the item as it now is;
    when no row qualifies, the item is read to say why (404 or 409, as ``_check_holder``).
    """
    ops = connection.ops
    column = ops.quote_name
    now = ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        queries.execute(cursor,
                        f"UPDATE {column(WorkItem._meta.db_table)} SET {column('status')} = %s, "
                        f"{column('button')} = %s, {column('completed_at')} = %s, {column('updated_at')} = %s "
                        f"WHERE {column('id')} = %s AND {column('user_id')} = %s AND {column('status')} IN (%s, %s) "
                        f"RETURNING *",
                        ["completed", button, now, now, _row_id(item_id), user.pk, *COMPLETABLE])
        completed = queries.fetch_model(WorkItem, cursor)
    if completed is not None:
        completed.user = user  # the statement matched the holder: the answer names them without reading the row
        return completed
    item = _locked_item_row.first(_row_id(item_id))
    if item is None:
        raise NotFound("No such work item.")
    _check_holder(user, item, COMPLETABLE, "complete")
    raise Conflict(f"Cannot complete a work item that is {item.status}.")  # changed between the two reads


def transfer_work_item(user: User, item_id: int, *, to_user: str | None = None,
                       to_workgroup: str | None = None) -> WorkItem:
    """Hand the item to another person (offered to them) or back to a workgroup queue."""
    if bool(to_user) == bool(to_workgroup):
        raise FormInvalid({"user": ["give either a user or a workgroup"]})
    with transaction.atomic():
        item = (WorkItem.objects.filter(pk=item_id).select_related("instance__definition")
                .defer("instance__execution", "instance__definition__document").first())
        if item is None or not (item.user_id == user.pk or policy.can_manage(
                user, item.process_name, item.instance.definition.category)):  # the Manage right for its process
            raise NotFound("No such work item.")
        runtime.lock_instance(item.instance_id)
        item = WorkItem.objects.select_for_update().get(pk=item_id)
        if item.status not in OPEN_STATUSES:
            raise Conflict(f"Cannot transfer a work item that is {item.status}.")
        before = (item.user_id, item.workgroup_id, item.status)
        if to_user:
            target = User.objects.filter(username=to_user, is_active=True).first()
            if target is None:
                raise FormInvalid({"user": [f"no user named {to_user!r}"]})
            if not policy.may_receive_work_items(target):
                raise FormInvalid({"user": [f"{to_user} has no license to receive work items"]})
            item.user, item.workgroup, item.status, item.offered_at = target, None, "offered", timezone.now()
        else:
            workgroup = Workgroup.objects.filter(name=to_workgroup).first()
            if workgroup is None:
                raise FormInvalid({"workgroup": [f"no workgroup named {to_workgroup!r}"]})
            item.user, item.workgroup, item.status, item.offered_at = None, workgroup, "queued", None
            routing.note_passed_over(item, before[0])  # back to the queue: others first
        item.save(update_fields=["user", "workgroup", "status", "offered_at", "lapsed_offers", "updated_at"])
        delivery.work_item_changed(item, before[0])
        if item.status == "queued":
            routing.route_item(item)
        routing.items_left_agents([before])
    return item


# ----------------------------------------------------------------- effects of the engine


def send_work_item(instance, effect: engine.SendWorkItem, plan: runtime.StepPlan) -> None:
    item = WorkItem(
        instance=instance,
        token=effect.token,
        process_name=instance.process_name,
        name=effect.work_item,
        category=effect.category,
        description=effect.description,
        priority=effect.priority,
        skills=[list(s) for s in effect.skills],
    )
    if effect.user:
        deliver_to_user(item, effect.user, plan)
    else:
        item.workgroup = Workgroup.objects.filter(name=effect.workgroup).first()
        item.status = "queued"
        item.save()
        if item.workgroup is None:
            # The name was rendered from the process's variables: it may be a protected value.
            plan.record("work_item_undeliverable", f"{effect.work_item}: no workgroup of the name it was sent to")
        elif not routing.route_item(item):  # in the step's transaction: offered now, or it waits
            delivery.work_item_changed(item, None)  # its workgroup's members see the queue grow


def deliver_to_user(item: WorkItem, username: str, plan: runtime.StepPlan) -> None:
    # Columns of the user and of who stands in for them: this runs in every step that sends a
    # work item to a person, and the push after the commit serializes the item for its holder.
    target = _receiver.first(username)  # (pk, username, license, substitute)
    if target is not None and target[3]:  # away: their substitute receives it
        stand_in = (User.objects.filter(pk=target[3], is_active=True)
                    .values_list("pk", "username", "license").first())
        if stand_in is not None and policy.license_covers(stand_in[2], "direct_routed"):
            plan.record("work_item_substituted", f"{item.name} to user {stand_in[1]} for {username}")
            target = (*stand_in, None)
    if target is None or not policy.license_covers(target[2], "direct_routed"):
        item.status = "queued"  # nobody to offer it to: a manager transfers it
        item.save()
        plan.record("work_item_undeliverable", f"{item.name}: no licensed user of the name it was sent to")
        return
    item.user = User(pk=target[0], username=target[1], license=target[2])
    item.status = "offered"
    item.offered_at = plan.now
    insert_row(item)
    delivery.work_item_changed(item, None)


def withdraw_work_item(instance, effect: engine.WithdrawWorkItem, plan: runtime.StepPlan) -> None:
    _close(WorkItem.objects.filter(instance=instance, token=effect.token, status__in=OPEN_STATUSES),
           "withdrawn", plan)


def cancel_open_work_items(instance, plan: runtime.StepPlan) -> None:
    _close(WorkItem.objects.filter(instance=instance, status__in=OPEN_STATUSES), "cancelled", plan)


def _close(items, status: str, plan: runtime.StepPlan) -> None:
    """Close open items; their people are told after commit, and the ACD fills the room they leave."""
    closing = list(items.values_list("pk", "user_id", "workgroup_id", "status"))
    if not closing:
        return
    items.update(status=status, updated_at=plan.now)
    for item_id, user_id, workgroup_id, _ in closing:
        if user_id or workgroup_id:  # it leaves its holder's list or its queue: the new status is all a push needs
            delivery.work_item_changed(WorkItem(pk=item_id, status=status, updated_at=plan.now,
                                                workgroup_id=workgroup_id), user_id)
    routing.items_left_agents([(user_id, workgroup_id, before) for _, user_id, workgroup_id, before in closing])


# ------------------------------------------------------------------- the seed's restore rules


def restore_work_items(instance_ids: list[int], reason: str) -> int:
    """Open items of restored instances (a takeover, a restart, a move): the seed's restore rules.

    A direct item picked up (processing or held) comes back ``held`` for the same person; a
    workgroup's item picked up goes back to its workgroup's queue (``queued``: the ACD offers it
    again; the values saved in it stay); an offered item is offered again (its offer time starts
    over). Each change is written in the instance's history in words, and pushed after commit.
    Runs inside the caller's transaction; returns how many items changed.
    """
    now, changed = timezone.now(), 0
    for start in range(0, len(instance_ids), 500):
        items = (WorkItem.objects.select_for_update(of=("self",)).select_related("user", "workgroup")
                 .filter(instance_id__in=instance_ids[start:start + 500], status__in=("offered", "processing", "held"))
                 .order_by("pk"))
        history = []
        for item in items:
            previous, who = item.user_id, item.user.username if item.user else "nobody"
            if item.status == "offered":
                item.offered_at, what = now, f"was offered again to {who}"
            elif item.workgroup_id is not None:
                item.user, item.status, item.offered_at = None, "queued", None
                what = f"went back to the {item.workgroup.name} queue from {who}, with its saved values"
            elif item.status == "processing":
                item.status, what = "held", f"is held for {who}: open it from My Work Items to carry on"
            else:
                continue  # held for its person already
            item.save(update_fields=["user", "status", "offered_at", "updated_at"])
            delivery.work_item_changed(item, previous)
            history.append(HistoryEntry(instance_id=item.instance_id, at=now, what="work_item_restored",
                                        detail=f"Work item {item.name} {what} ({reason})."[:500]))
            changed += 1
        HistoryEntry.objects.bulk_create(history)
    return changed


def register() -> None:
    nodes.register_restore_hook(restore_work_items)
    runtime.register_effect(engine.SendWorkItem, send_work_item)
    runtime.register_effect(engine.WithdrawWorkItem, withdraw_work_item)
    runtime.register_end_hook(cancel_open_work_items)
    routing.register()
