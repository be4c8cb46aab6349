"""What people do with work items: pick up, save, hold, resume, transfer and complete.

Every operation that touches a work item of a running instance locks the instance row
first (the same order as the engine's steps), then re-reads the item, so two people
acting on one item at once get one success and one ``Conflict``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Now
from django.utils import timezone

from administration import policy
from administration.models import User, Workgroup
from processes import engine
from processes.engine import values as value_types
from processes.errors import Conflict, FormInvalid, NotFound
from processes.services import runtime
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
    return _is_users_row(user, item.user_id, item.status, item.workgroup.name if item.workgroup_id else None)


def _is_users_row(user: User, user_id: int | None, status: str, workgroup: str | None) -> bool:
    if user_id == user.pk:
        return True
    # A queued group item may be taken by any member of its workgroup (first come).
    return status == "queued" and workgroup is not None and workgroup in policy.principal_for(user).workgroups


# Who stands in for a user away right now (workitems.substitutes): read with the receiver, no extra query.
_substitute_now = Subquery(Absence.objects.filter(user=OuterRef("pk"), starts_at__lte=Now(), ends_at__gt=Now())
                           .order_by("starts_at").values("substitute_id")[:1])

# The statements every pickup and completion makes, compiled once (see runtime.HotQuery).
_owner_of_item = runtime.HotQuery(lambda pk: WorkItem.objects.filter(pk=pk).order_by().values_list(
    "instance_id", "user_id", "status", "workgroup__name"))
_locked_item_row = runtime.HotQuery(lambda pk: WorkItem.objects.select_for_update(of=("self",)).filter(pk=pk)
                                    .order_by())
_receiver = runtime.HotQuery(lambda username: User.objects.filter(username=username, is_active=True)
                             .order_by().annotate(substitute=_substitute_now)
                             .values_list("pk", "license", "substitute"))


def _locked_item(user: User, item_id: int, allowed: tuple[str, ...], verb: str) -> WorkItem:
    """Inside a transaction: lock the instance, then the item; check owner and status.

    Every pickup and completion runs this, so its three statements are kept narrow: the
    first read takes only what the ownership check needs, and the item, read again under
    the lock, gets the locked instance row instead of joining it a second time.
    """
    policy.require_any_license(user)
    row = _owner_of_item.first(item_id)
    if row is None or not _is_users_row(user, *row[1:]):
        raise NotFound("No such work item.")
    instance = runtime.lock_instance(row[0])
    if instance is None:
        raise NotFound("No such work item.")
    if row[3] is None:
        item = _locked_item_row.first(item_id)
    else:  # a workgroup's item: the workgroup's name decides who may take it
        item = WorkItem.objects.select_for_update(of=("self",)).select_related("workgroup").filter(pk=item_id).first()
    if item is None:
        raise NotFound("No such work item.")
    item.instance = instance
    if not _is_users(user, item) and item.status not in ("completed",):
        raise Conflict("This work item was taken by someone else.")
    if item.status not in allowed:
        raise Conflict(f"Cannot {verb} a work item that is {item.status}.")
    return item


def pickup_work_item(user: User, item_id: int) -> WorkItem:
    with transaction.atomic():
        item = _locked_item(user, item_id, ("offered", "queued"), "pick up")
        if item.status == "queued":
            policy.require_license(user, "group_routed", "Taking a workgroup's work item")
        previous = item.user_id
        item.user = user
        item.status = "processing"
        item.save(update_fields=["user", "status", "updated_at"])
        delivery.work_item_changed(item.pk, previous)
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
        delivery.work_item_changed(item.pk, item.user_id)
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
        delivery.work_item_changed(item.pk, item.user_id)
    return item


def complete_work_item(user: User, item_id: int, button: str, values: dict[str, Any], *,
                       confirmed: bool = False) -> WorkItem:
    """Validate and store the values, then resume the instance along ``button``'s exit.

    A button with ``confirm`` acts only when ``confirmed``; one with ``requires`` only when
    those fields are filled in (process-format.md, "Work items").
    """
    with transaction.atomic():
        item = _locked_item(user, item_id, COMPLETABLE, "complete")
        definitions = {b["id"]: b for b in work_item_definition(item).get("buttons", [])}
        if button not in definitions:
            raise FormInvalid({"button": [f"must be one of {', '.join(definitions)}"]}, "Press one of the buttons.")
        pressed = definitions[button]
        cleaned = {**item.draft, **_clean_form_values(user, item, values, for_completion=True,
                                                     also_required=tuple(pressed.get("requires") or ()))}
        if pressed.get("confirm") and not confirmed:  # after the values: what is missing is said first
            raise FormInvalid({"button": [pressed["confirm"]]}, f"{pressed['confirm']} Confirm to go on.")
        item.status = "completed"
        item.button = button
        item.completed_at = timezone.now()
        item.save(update_fields=["status", "button", "completed_at", "updated_at"])
        delivery.work_item_changed(item.pk, item.user_id)
        if item.is_group_routed:  # the agent is idle from now: before the step routes what it sends
            routing.agents_finished([item.user_id])
        runtime.run_step(item.instance, engine.WorkItemCompleted(item.token, button, cleaned),
                         actor=user.username)
        if item.is_group_routed:  # the agent has room again
            routing.route_for_agents([item.user_id])
    return item


def transfer_work_item(user: User, item_id: int, *, to_user: str | None = None,
                       to_workgroup: str | None = None) -> WorkItem:
    """Hand the item to another person (offered to them) or back to a workgroup queue."""
    if bool(to_user) == bool(to_workgroup):
        raise FormInvalid({"user": ["give either a user or a workgroup"]})
    with transaction.atomic():
        item = WorkItem.objects.filter(pk=item_id).first()
        if item is None or not (item.user_id == user.pk or policy.can_manage(user)):
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
        delivery.work_item_changed(item.pk, before[0])
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
            plan.record("work_item_undeliverable", f"{effect.work_item}: no workgroup {effect.workgroup!r}")
        elif not routing.route_item(item):  # in the step's transaction: offered now, or it waits
            delivery.work_item_changed(item.pk, None)  # its workgroup's members see the queue grow


def deliver_to_user(item: WorkItem, username: str, plan: runtime.StepPlan) -> None:
    # Columns, not a User: this runs in every step that sends a work item to a person.
    target = _receiver.first(username)
    if target is not None and target[2]:  # away: their substitute receives it
        stand_in = (User.objects.filter(pk=target[2], is_active=True)
                    .values_list("pk", "license", "username").first())
        if stand_in is not None and policy.license_covers(stand_in[1], "direct_routed"):
            plan.record("work_item_substituted", f"{item.name} to user {stand_in[2]} for {username}")
            target = stand_in
    if target is None or not policy.license_covers(target[1], "direct_routed"):
        item.status = "queued"  # nobody to offer it to: a manager transfers it
        item.save()
        plan.record("work_item_undeliverable", f"{item.name}: no licensed user {username!r}")
        return
    item.user_id = target[0]
    item.status = "offered"
    item.offered_at = plan.now
    item.save()
    delivery.work_item_changed(item.pk, None)


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
        if user_id or workgroup_id:
            delivery.work_item_changed(item_id, user_id)
    routing.items_left_agents([(user_id, workgroup_id, before) for _, user_id, workgroup_id, before in closing])


def register() -> None:
    runtime.register_effect(engine.SendWorkItem, send_work_item)
    runtime.register_effect(engine.WithdrawWorkItem, withdraw_work_item)
    runtime.register_end_hook(cancel_open_work_items)
    routing.register()
