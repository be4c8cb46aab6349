"""Pages of the work item client: My Work Items, one work item's form and what people do with it.

The views translate between HTML forms and the services in ``workitems.services``, which
decide: ownership, status and validation live there. Their errors come back here and are
shown where a person can act on them: ``FormInvalid`` next to each field (keeping what
was typed), ``Conflict`` as a message on the page, ``NotFound`` as a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from administration import policy
from administration.models import User, Workgroup
from ipa_portal.pages import age_text, page, recall_form, remember_form
from processes.errors import Conflict, FormInvalid, NotFound
from processes.form_controls import (
    HIDDEN,
    Control,
    as_text,
    control_name,
    keep_typed,
    picker_users,
    posted_values,
    restriction_hint,
)
from processes.history_text import humanize
from workitems import services, substitutes
from workitems.api.serializers import WorkItemSerializer
from workitems.forms import description_for, form_fields, process_category, work_item_definition
from workitems.models import WorkItem
from workitems.queues import my_queues

LIVE_PATH = "/ws/workitems/"
# What an item on an agent's own list can be (a queued item is nobody's yet: see "My queues").
LIST_STATUSES = [("offered", "Offered"), ("processing", "Processing"), ("held", "Held")]
SORTS = {  # key: (label, sort key of a row, newest first)
    "priority": ("Priority, then oldest", lambda r: (-r["priority"], r["created_at"], r["id"]), False),
    "oldest": ("Oldest first", lambda r: (r["created_at"], r["id"]), False),
    "newest": ("Newest first", lambda r: (r["created_at"], r["id"]), True),
    "process": ("Process", lambda r: (r["process"].lower(), r["name"].lower(), r["id"]), False),
    "name": ("Name", lambda r: (r["name"].lower(), r["id"]), False),
    "status": ("Status", lambda r: (r["status"], -r["priority"], r["id"]), False),
}


def live_updates_path() -> str:
    """The work item socket's path, or "" while no consumer is routed there (the page stays static)."""
    from ipa_portal.routing import websocket_urlpatterns

    routed = any(route.pattern.match(LIVE_PATH.lstrip("/")) for route in websocket_urlpatterns)
    return LIVE_PATH if routed else ""


# ------------------------------------------------------------------------ form controls


def work_item_controls(user: User, item: WorkItem) -> list[Control]:
    controls = []
    for f in form_fields(user, item):
        control = control_name(f["spec"], f["control"])
        value = f.get("value")
        controls.append(Control(
            variable=f["variable"], id=f"f-{f['variable']}", label=f["label"], control=control, type=f["type"],
            value=HIDDEN if f["masked"] else as_text(f["type"], control, value),
            checked=value is True, choices=[str(c) for c in f.get("choices") or []],
            readonly=f["readonly"], masked=f["masked"], required=f["required"],
            hint="" if f["readonly"] else restriction_hint(f["spec"]),
        ))
    return controls


# ------------------------------------------------------------------------ My Work Items


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("workitems:list")
    return render(request, "home.html")


@page
def work_item_list(request: HttpRequest) -> HttpResponse:
    items = services.my_work_items(request.user).select_related("instance", "user", "workgroup")
    rows = WorkItemSerializer(items, many=True, context={"request": request}).data
    status, process = request.GET.get("status", ""), request.GET.get("process", "")
    sort = request.GET.get("sort") if request.GET.get("sort") in SORTS else "priority"
    now = timezone.now()
    shown = [
        {**row, "age": age_text(parse_datetime(row["created_at"]), now)}
        for row in sorted(rows, key=SORTS[sort][1], reverse=SORTS[sort][2])
        if (not status or row["status"] == status) and (not process or row["process"] == process)
    ]
    return render(request, "workitems/list.html", {
        "nav": "workitems",
        "rows": shown,
        "all_items": rows,
        "total": len(rows),
        "processes": sorted({row["process"] for row in rows} | ({process} if process else set())),
        "statuses": LIST_STATUSES,
        "sorts": [(key, label) for key, (label, _, _) in SORTS.items()],
        "filters": {"status": status, "process": process, "sort": sort},
        "live_path": live_updates_path(),
        **queues_context(request.user, now),
    })


def queues_context(user: User, now) -> dict:
    shown = my_queues(user)
    for queue in shown:
        queue.oldest_age = age_text(queue.oldest_queued_at, now) if queue.oldest_queued_at else ""
        for item in queue.items:
            item.age = age_text(item.created_at, now)
    return {"queues": shown, "can_take": policy.may_take_group_work(user)}


@page
def queues_page(request: HttpRequest) -> HttpResponse:
    """My queues alone; the list page fetches it again when a ``queue`` message arrives."""
    return render(request, "workitems/queues.html", {"nav": "workitems", "live_path": live_updates_path(),
                                                     **queues_context(request.user, timezone.now())})


# ---------------------------------------------------------------------- one work item


def render_item(request: HttpRequest, item: WorkItem, *, data=None, errors=None, conflict: str = "",
                transfer: dict | None = None, confirming: str = "", status: int = 200) -> HttpResponse:
    user = request.user
    controls = work_item_controls(user, item)
    form_errors = keep_typed(controls, data, errors or {}) if data is not None else []
    buttons = _buttons(item)
    for control in controls:  # a field a button needs says so
        needed_by = [b["label"] for b in buttons if control.variable in b["requires"]]
        if needed_by and not control.required:
            control.hint = " ".join(filter(None, [control.hint, f"Needed to {' or '.join(needed_by)}."]))
    workgroups = list(Workgroup.objects.order_by("name").values_list("name", flat=True))
    return render(request, "workitems/item.html", {
        "nav": "workitems",
        "item": item,
        "description": description_for(user, item),
        "age": age_text(item.created_at, timezone.now()),
        "controls": controls,
        "field_errors": [c for c in controls if c.errors],
        "has_required": any(c.required for c in controls),
        "form_errors": form_errors,
        "buttons": buttons,
        "confirming": _button(item, confirming) if confirming else None,
        "editable": item.status in ("processing", "held"),
        "can_pick_up": item.status in ("offered", "queued"),
        "conflict": conflict,
        "users": picker_users(),
        "workgroups": workgroups,
        "transfer": transfer or {"user": "", "workgroup": item.workgroup.name if item.workgroup else "",
                                 "errors": {}},
        "can_view_instance": policy.can_view_instance(user, item.instance.started_by_id, item.process_name,
                                                       process_category(item)),
        "live_path": live_updates_path(),
    }, status=status)


@page
def work_item(request: HttpRequest, pk: int) -> HttpResponse:
    """The form (GET); save a draft or press an exit (POST)."""
    item = services.work_item_for(request.user, pk)
    if request.method != "POST":
        kept = recall_form(request, f"item:{pk}") or {}
        return render_item(request, item, data=kept.get("data"), errors=kept.get("errors"),
                           conflict=kept.get("conflict", ""), transfer=kept.get("transfer"),
                           confirming=kept.get("confirming", ""))
    values, parse_errors = posted_values(work_item_controls(request.user, item), request.POST)
    saving = "save" in request.POST
    try:
        if parse_errors:
            raise FormInvalid(parse_errors)
        if saving:
            services.save_work_item(request.user, pk, values)
            messages.success(request, "Draft saved.")
            return redirect("workitems:item", pk=pk)
        button = request.POST.get("button", "")
        services.complete_work_item(request.user, pk, button, values,
                                    confirmed=bool(button) and request.POST.get("confirmed") == button)
    except FormInvalid as exc:  # post/redirect/get: the form again, with what was typed and why not
        asks = _button(item, request.POST.get("button", "")).get("confirm")
        if asks and list(exc.errors) == ["button"]:  # only the answer is missing: ask on the page
            remember_form(request, f"item:{pk}", data=request.POST, confirming=request.POST["button"])
        else:
            remember_form(request, f"item:{pk}", data=request.POST, errors=exc.errors)
        return redirect("workitems:item", pk=pk)
    except Conflict as exc:
        return _conflict(request, pk, str(exc), data=request.POST)
    messages.success(request, f"{item.name} completed: {_button(item, button)['label']}.")
    return redirect("workitems:list")


def _buttons(item: WorkItem) -> list[dict]:
    """The item's buttons as the page shows them: label (or the id in words), question, fields needed."""
    return [{"id": b["id"], "label": b.get("label") or humanize(b["id"]), "confirm": b.get("confirm", ""),
             "requires": list(b.get("requires") or [])} for b in work_item_definition(item).get("buttons", [])]


def _button(item: WorkItem, button_id: str) -> dict:
    return next((b for b in _buttons(item) if b["id"] == button_id), {"id": button_id, "label": button_id})


def _conflict(request: HttpRequest, pk: int, message: str, data=None) -> HttpResponse:
    """The item's page again with the reason (and what was typed), or the list when it is no longer the user's."""
    try:
        services.work_item_for(request.user, pk)
    except NotFound:
        messages.error(request, f"{message} It is no longer on your list.")
        return redirect("workitems:list")
    remember_form(request, f"item:{pk}", data=data, conflict=message)
    return redirect("workitems:item", pk=pk)


DONE_MESSAGES = {
    "pickup": "Picked up: the form is yours to fill in.",
    "hold": "Set aside (held). Resume it when you are ready.",
    "resume": "Resumed.",
}


@require_POST
@page
def work_item_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    try:
        services.SIMPLE_ACTIONS[action](request.user, pk)
    except Conflict as exc:
        return _conflict(request, pk, str(exc))
    messages.success(request, DONE_MESSAGES[action])
    return redirect("workitems:item", pk=pk)


@require_POST
@page
def work_item_transfer(request: HttpRequest, pk: int) -> HttpResponse:
    """To a person (``to=user``) or back to a workgroup's queue (``to=queue``)."""
    item = services.work_item_for(request.user, pk)
    to_queue = request.POST.get("to") == "queue"
    to_user = "" if to_queue else request.POST.get("user", "").strip()
    to_workgroup = request.POST.get("workgroup", "").strip() if to_queue else ""
    try:
        if not (to_user or to_workgroup):
            raise FormInvalid({"workgroup" if to_queue else "user": ["choose where the item goes"]})
        services.transfer_work_item(request.user, pk, to_user=to_user or None, to_workgroup=to_workgroup or None)
    except FormInvalid as exc:
        transfer = {"user": to_user, "workgroup": to_workgroup or request.POST.get("workgroup", ""),
                    "errors": exc.errors}
        remember_form(request, f"item:{pk}", transfer=transfer)
        return redirect("workitems:item", pk=pk)
    except Conflict as exc:
        return _conflict(request, pk, str(exc))
    where = to_user or f"the {to_workgroup} queue"
    messages.success(request, f"{item.name} transferred to {where}.")
    return redirect("workitems:list")


# ---------------------------------------------------------------------- out of office


def _moment(text: str):
    """A ``datetime-local`` value as an aware datetime (the server's time zone); None when blank or wrong."""
    parsed = parse_datetime(text.strip()) if text and text.strip() else None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


@page
def out_of_office(request: HttpRequest) -> HttpResponse:
    """Name a substitute for a period (GET: the form and the absences to come; POST: set one)."""
    user = request.user
    if request.method == "POST":
        data = request.POST
        agent = data.get("agent", "").strip() if policy.can_manage(user) else user.username
        try:
            starts, ends = _moment(data.get("starts_at", "")), _moment(data.get("ends_at", ""))
            if data.get("ends_at", "").strip() and ends is None:
                raise FormInvalid({"ends_at": ["is not a date and time"]})
            substitutes.set_absence(user, agent or user.username, data.get("substitute", ""), starts, ends)
        except FormInvalid as exc:
            remember_form(request, "away", data=data, errors=exc.errors)
            return redirect("workitems:away")
        messages.success(request, f"{data.get('substitute', '').strip()} now receives the work sent to "
                                  f"{'you' if (agent or user.username) == user.username else agent} while away.")
        return redirect("workitems:away")
    kept = recall_form(request, "away") or {}
    typed = kept.get("data") or {}
    return render(request, "workitems/away.html", {
        "nav": "away",
        "absences": substitutes.absences_for(user),
        "for_others": policy.can_manage(user),
        "users": picker_users(),
        "typed": {key: typed.get(key, "") for key in ("agent", "substitute", "starts_at", "ends_at")},
        "errors": kept.get("errors") or {},
    })


@require_POST
@page
def end_absence(request: HttpRequest, pk: int) -> HttpResponse:
    substitutes.end_absence(request.user, pk)
    messages.success(request, "The substitute no longer receives this work.")
    return redirect("workitems:away")
