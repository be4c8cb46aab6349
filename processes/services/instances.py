"""What users do with process instances: launch, cancel, retry, skip, relate interactions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.utils import timezone

from administration import policy
from administration.models import User
from processes import engine
from processes.errors import Conflict, DefinitionBroken, NotFound, ServiceError
from processes.models import (
    OPEN_STATUSES,
    HistoryEntry,
    PendingEvent,
    ProcessDefinition,
    ProcessInstance,
    RelatedInteraction,
)
from processes.queries import IdBlocks
from processes.services import nodes, runtime
from processes.services.definitions import compiled_process, newest_version, published_version
from processes.services.forms import clean_values

MANAGEABLE_STATUSES = ("error", "restored_in_error")
# A launch names its instance's id first, so its one step inserts the row whole (PostgreSQL).
_instance_ids = IdBlocks(ProcessInstance._meta.db_table)
logger = logging.getLogger(__name__)


def launch_inputs(process: engine.Process) -> dict[str, dict]:
    return {spec["name"]: spec for spec in process.input_variables}


def visible_launch_inputs(user: User, definition: ProcessDefinition) -> list[dict]:
    """The specs of the launch inputs a user may see and fill in (protected ones they are not on: none)."""
    process = compiled_process(definition.pk)
    return [spec for spec in process.input_variables if policy.may_see(user, spec.get("security"))]


def launchable_processes(user: User) -> list[tuple[ProcessDefinition, list[dict]]]:
    """The published processes the user may launch, each with the launch inputs the user may see."""
    policy.require_launch(user)
    launchable = []
    definitions = ProcessDefinition.objects.filter(policy.launchable_q(user), published=True)
    for definition in definitions.order_by("category", "name"):
        try:
            launchable.append((definition, visible_launch_inputs(user, definition)))
        except DefinitionBroken as exc:  # the rest still works; administrators see it as broken
            logger.warning("%s", exc)
    return launchable


def launchable_process(user: User, name: str) -> tuple[ProcessDefinition, list[dict]]:
    """One published process by name with the launch inputs the user may see; 404 when there is none."""
    policy.require_launch(user)
    definition = published_version(name)
    if definition is None:
        raise NotFound(f"No published process named {name!r}.")
    policy.require_launch_process(user, definition.name, definition.category)
    return definition, visible_launch_inputs(user, definition)


def launch_process(user: User, name: str, inputs: dict[str, Any], *, test: bool = False) -> ProcessInstance:
    """Start an instance of the published version (``test``: the newest draft) and run it to its first wait."""
    # One transaction from the start: the reads a process renews once a second (the published
    # version, the node list) then ride in a launch's transaction instead of one of their own.
    with transaction.atomic():
        if test:
            policy.require_test_launch(user)
            definition = newest_version(name)
        else:
            policy.require_launch(user)
            definition = published_version(name)
        if definition is None:
            raise NotFound(f"No {'' if test else 'published '}process named {name!r}.")
        if not test:
            policy.require_launch_process(user, definition.name, definition.category)
        process = compiled_process(definition.pk)
        specs = launch_inputs(process)
        required = [n for n, spec in specs.items() if spec.get("required")]
        values = clean_values(inputs or {}, specs, required=required, user=user, what="launch input")
        owner = nodes.owner_for_new_instance()  # raises LaunchBlocked while a takeover restores
        instance = ProcessInstance(
            pk=_instance_ids.next(),
            definition=definition,
            process_name=definition.name,
            started_by=user,
            initiator=user.username,
            is_test=test,
            owner=owner,
        )
        if instance.pk is None:  # no id could be named beforehand: the row first, the step updates it
            instance.save(force_insert=True)
        runtime.run_step(instance, engine.Launch(inputs=values), actor=user.username)
    return instance


def create_child_instance(parent: ProcessInstance, effect: engine.LaunchSubprocess, plan: runtime.StepPlan) -> None:
    """The ``LaunchSubprocess`` applier: the child is created in the parent's step and started by
    its own step right after the commit."""
    definition = published_version(effect.process)
    if definition is None:
        _fail_child_launch(parent, effect, plan, f"no published process named {effect.process!r}")
        return
    specs = launch_inputs(compiled_process(definition.pk))
    try:
        values = clean_values(effect.inputs, specs, what="launch input")
    except Exception as exc:  # FormInvalid: the parent's inputs do not fit the child
        _fail_child_launch(parent, effect, plan, f"inputs do not fit {effect.process!r}: {exc}")
        return
    child = ProcessInstance.objects.create(
        definition=definition,
        process_name=definition.name,
        started_by_id=parent.started_by_id,
        initiator=parent.initiator,
        parent=parent,
        parent_token=effect.token if effect.wait else "",
        depth=parent.depth + 1,
        launch_tree=parent.launch_tree or parent.pk,
        owner=nodes.owner_for_new_instance(user_launch=False),
    )
    plan.record("child_created", f"{definition.name} #{child.pk}")
    plan.schedule(child, "start", payload={"inputs": values})


def _fail_child_launch(parent: ProcessInstance, effect: engine.LaunchSubprocess, plan: runtime.StepPlan,
                       reason: str) -> None:
    if effect.wait:
        plan.schedule(parent, "subprocess_ended", effect.token, {"status": f"not launched: {reason}"})
    else:
        plan.record("subprocess_not_launched", reason)


def _locked_manageable(user: User, instance_id: int) -> ProcessInstance:
    seen = visible_instance(user, instance_id)  # 404 before 403 for what the user cannot see
    policy.require_manage(user, seen.process_name, seen.definition.category)
    instance = runtime.lock_instance(instance_id)
    if instance is None:
        raise NotFound("No such instance.")
    return instance


def cancel_instance(user: User, instance_id: int, *, comment: str = "") -> ProcessInstance:
    with transaction.atomic():
        instance = _locked_manageable(user, instance_id)
        if instance.has_ended:
            raise Conflict(f"The instance is already {instance.status}.")
        plan = runtime.StepPlan(instance=instance, now=timezone.now(), actor=user.username)
        _record_comment(plan, "cancelled", comment)
        cancel_locked_instance(instance, plan)
    return instance


def _record_comment(plan: runtime.StepPlan, verb: str, comment: str) -> None:
    """Why a person repaired an instance, in its history beside who did it (``comment``)."""
    if comment.strip():
        plan.record("comment", f"{verb}: {comment.strip()}")


def cancel_locked_instance(instance: ProcessInstance, plan: runtime.StepPlan, *, tell_parent: bool = True) -> None:
    """Cancel an instance, its open work items and timers, and its running children."""
    PendingEvent.objects.filter(instance=instance).delete()
    for hook in runtime.end_hooks():
        hook(instance, plan)
    instance.status = "cancelled"
    instance.waiting_on = ""
    instance.waiting_detail = ""
    instance.ended_at = plan.now
    plan.record("cancelled", f"by {plan.actor}" if plan.actor else "")
    if tell_parent:
        runtime.notify_parent(instance, plan)
    instance.save(update_fields=["status", "waiting_on", "waiting_detail", "ended_at", "updated_at"])
    runtime.save_plan(plan)
    for child in ProcessInstance.objects.select_for_update().filter(
        parent=instance, status__in=OPEN_STATUSES
    ):
        child_plan = runtime.StepPlan(instance=child, now=plan.now, actor=plan.actor)
        cancel_locked_instance(child, child_plan, tell_parent=False)


def retry_instance(user: User, instance_id: int, *, comment: str = "") -> ProcessInstance:
    return _resume_after_failure(user, instance_id, engine.Retry(), "retried", comment)


def skip_instance(user: User, instance_id: int, *, comment: str = "") -> ProcessInstance:
    return _resume_after_failure(user, instance_id, engine.Skip(), "skipped", comment)


def _resume_after_failure(user: User, instance_id: int, event: Any, verb: str, comment: str = "") -> ProcessInstance:
    with transaction.atomic():
        instance = _locked_manageable(user, instance_id)
        if instance.status not in MANAGEABLE_STATUSES:
            raise Conflict(f"Only an instance in error can be {verb}; this one is {instance.status}.")
        if comment.strip():
            HistoryEntry.objects.create(instance=instance, at=timezone.now(), what="comment",
                                        detail=f"{verb}: {comment.strip()}"[:500], user=user.username)
        runtime.run_step(instance, event, actor=user.username)
    return instance


# What a supervisor does to an instance in trouble, under the names pages, API and monitor route them by:
# each takes the user, the instance's id and an optional ``comment`` for the history.
REPAIRS: dict[str, Callable[..., ProcessInstance]] = {
    "cancel": cancel_instance,
    "retry": retry_instance,
    "skip": skip_instance,
}


def move_instance(user: User, instance_id: int, state: str, *, comment: str = "") -> ProcessInstance:
    """Leave the current state (work items withdrawn, timers cancelled) and enter ``state``."""
    with transaction.atomic():
        instance = _locked_manageable(user, instance_id)
        if instance.has_ended:
            raise Conflict(f"The instance is already {instance.status}.")
        process = compiled_process(instance.definition_id)
        if state not in process.states:
            raise ServiceError(f"{instance.process_name} has no state named {state!r}; "
                               f"its states are {', '.join(process.states)}.")
        if comment.strip():
            HistoryEntry.objects.create(instance=instance, at=timezone.now(), what="comment",
                                        detail=f"moved to {state}: {comment.strip()}"[:500], user=user.username)
        runtime.run_step(instance, engine.MoveTo(state), actor=user.username)
    return instance


def relate_interaction(user: User, instance: ProcessInstance, data: dict[str, str]) -> RelatedInteraction:
    return RelatedInteraction.objects.create(
        instance=instance,
        type=data["type"],
        reference=data["reference"],
        description=data.get("description", ""),
        created_by=user,
    )


# ------------------------------------------------------------------------------ reads


def visible_instances(user: User) -> QuerySet[ProcessInstance]:
    """The instances the user may see: all with the View right, else the ones they started.

    For lists: the execution state and the definition's document (when the caller joins
    the definition) are left unread; decoding them for every row was most of a page's time
    (docs/performance.md). ``visible_instance`` reads one instance whole.
    """
    instances = ProcessInstance.objects.defer("execution", "definition__document")
    if not policy.can_view_all_instances(user):
        instances = instances.filter(policy.viewable_q(user))  # the processes they may view, and their own
    return instances


def visible_instance(user: User, instance_id: int) -> ProcessInstance:
    instance = (ProcessInstance.objects.select_related("definition").defer("definition__document")
                .filter(pk=instance_id).first())
    if instance is None:
        raise NotFound("No such instance.")
    policy.require_view_instance(user, instance.started_by_id, instance.process_name, instance.definition.category)
    return instance


def instance_details(user: User, instance_id: int) -> ProcessInstance:
    """One instance the user may see, with what its page shows: history, work items and their
    people, related interactions (the work items are read through the relation: this app
    does not import the work item app)."""
    instance = (ProcessInstance.objects.select_related("definition", "started_by", "parent")
                .filter(pk=instance_id).first())
    if instance is None:
        raise NotFound("No such instance.")
    policy.require_view_instance(user, instance.started_by_id, instance.process_name, instance.definition.category)
    work_items = ProcessInstance.work_items.rel.related_model.objects
    prefetch_related_objects(
        [instance],
        "history",
        Prefetch("work_items", queryset=work_items.select_related("user", "workgroup").order_by("id")),
        "related_interactions__created_by",
    )
    return instance


def instance_variables(user: User, instance: ProcessInstance) -> dict[str, Any]:
    """The instance's global variables that the user may see (protected ones are left out)."""
    if not instance.execution:
        return {}
    process = compiled_process(instance.definition_id)
    return policy.visible_values(user, engine.global_values(instance.execution), process.globals)


def instance_locals(user: User, instance: ProcessInstance) -> list[tuple[str, dict[str, Any]]]:
    """The live state and task local variables the user may see, each group under where it lives
    (``state Review``, ``task Check (s1)``); protected ones are left out, as for globals."""
    execution = instance.execution or {}
    state = execution.get("state")
    if not state:
        return []
    process = compiled_process(instance.definition_id)
    groups = [(f"state {state}", execution.get("locals") or {}, process.state_locals.get(state, {}))]
    for scope_id, scope in sorted((execution.get("scopes") or {}).items()):
        task = scope.get("task", "")
        groups.append((f"task {task} ({scope_id})", scope.get("vars") or {}, process.task_locals.get(task, {})))
    shown = [(where, policy.visible_values(user, values, specs)) for where, values, specs in groups]
    return [(where, values) for where, values in shown if values]
