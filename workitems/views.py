"""Pages of the work item client: My Work Items, one work item's form and what people do with it.

The views translate between HTML forms and the services in ``workitems.services``, which
decide: ownership, status and validation live there. Their errors come back here and are
shown where a person can act on them: ``FormInvalid`` next to each field (keeping what
was typed), ``Conflict`` as a message on the page, ``NotFound`` as a 404.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from administration import policy
from administration.models import User, Workgroup
from administration.policy import NotAllowed, NotVisible
from processes.errors import Conflict, FormInvalid, NotFound
from workitems import services
from workitems.api.serializers import WorkItemSerializer
from workitems.forms import DEFAULT_CONTROLS, HIDDEN, description_for, form_fields, work_item_definition
from workitems.models import WorkItem

LIVE_PATH = "/ws/workitems/"
LIST_STATUSES = [("offered", "Offered"), ("processing", "Processing"), ("held", "Held"), ("queued", "Queued")]
SORTS = {  # key: (label, sort key of a row, newest first)
    "priority": ("Priority, then oldest", lambda r: (-r["priority"], r["created_at"], r["id"]), False),
    "oldest": ("Oldest first", lambda r: (r["created_at"], r["id"]), False),
    "newest": ("Newest first", lambda r: (r["created_at"], r["id"]), True),
    "process": ("Process", lambda r: (r["process"].lower(), r["name"].lower(), r["id"]), False),
    "name": ("Name", lambda r: (r["name"].lower(), r["id"]), False),
    "status": ("Status", lambda r: (r["status"], -r["priority"], r["id"]), False),
}


def page(view):
    """A signed-in page whose service errors become a 404 or a page saying what is missing."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except (NotFound, NotVisible) as exc:
            raise Http404(str(exc)) from None
        except NotAllowed as exc:
            return render(request, "workitems/refused.html", {"reason": str(exc)}, status=403)

    return login_required(wrapped)


def live_updates_path() -> str:
    """The work item socket's path, or "" while no consumer is routed there (the page stays static)."""
    from ipa_portal.routing import websocket_urlpatterns

    routed = any(route.pattern.match(LIVE_PATH.lstrip("/")) for route in websocket_urlpatterns)
    return LIVE_PATH if routed else ""


# ------------------------------------------------------------------------ form controls


@dataclass
class Control:
    """One form control as a template draws it: the variable, its control and what it shows."""

    variable: str
    id: str
    label: str
    control: str  # text, textarea, number, checkbox, date, datetime, select, user
    type: str
    value: str = ""
    checked: bool = False
    choices: list[str] = field(default_factory=list)
    readonly: bool = False
    masked: bool = False
    required: bool = False
    hint: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"f-{self.variable}"

    @property
    def editable(self) -> bool:
        return not (self.readonly or self.masked)

    @property
    def step(self) -> str:
        return "1" if self.type == "integer" else "any"

    @property
    def input_type(self) -> str:
        return {"number": "number", "date": "date", "datetime": "datetime-local"}.get(self.control, "text")

    @property
    def described_by(self) -> str:
        ids = [f"{self.id}-hint"] if self.hint else []
        ids += [f"{self.id}-masked"] if self.masked else []
        ids += [f"{self.id}-error"] if self.errors else []
        return " ".join(ids)


def control_name(spec: dict, control: str | None = None) -> str:
    control = control or ("select" if spec.get("choices") else DEFAULT_CONTROLS.get(spec["type"], "text"))
    return "datetime" if control == "datetime-local" else control


def restriction_hint(spec: dict) -> str:
    low, high, length = spec.get("min"), spec.get("max"), spec.get("max_length")
    if low is not None and high is not None:
        return f"From {low} to {high}."
    if low is not None:
        return f"At least {low}."
    if high is not None:
        return f"At most {high}."
    if length is not None:
        return f"At most {length} characters."
    if spec["type"] == "datetime":
        return "Date and time in UTC."
    if spec["type"] == "list":
        return "One item per line."
    if spec["type"] == "json":
        return 'JSON, such as {"key": "value"}.'
    return ""


def as_text(type_name: str, control: str, value: Any) -> str:
    """A stored (JSON form) value as the text its control shows."""
    if value is None:
        return ""
    if control == "datetime":
        moment = parse_datetime(str(value))
        if moment is not None:
            moment = timezone.localtime(moment) if timezone.is_aware(moment) else moment
            return moment.strftime("%Y-%m-%dT%H:%M:%S" if moment.second else "%Y-%m-%dT%H:%M")
    if type_name == "list" and isinstance(value, list):
        return "\n".join(v if isinstance(v, str) else json.dumps(v) for v in value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


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


def input_controls(specs: list[dict], prefix: str) -> list[Control]:
    """Controls for launch inputs (the variables' specs), with their defaults filled in."""
    controls = []
    for spec in specs:
        control = control_name(spec)
        default = spec.get("default")
        controls.append(Control(
            variable=spec["name"], id=f"{prefix}-{spec['name']}", label=spec["name"].replace("_", " ").capitalize(),
            control=control, type=spec["type"], value=as_text(spec["type"], control, default),
            checked=default is True, choices=[str(c) for c in spec.get("choices") or []],
            required=bool(spec.get("required")), hint=restriction_hint(spec),
        ))
    return controls


def posted_values(controls: list[Control], data) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The values of the editable controls in ``data`` (request.POST), and text that is not JSON."""
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for control in controls:
        if not control.editable:
            continue  # read-only and masked values are never sent back
        if control.control == "checkbox":
            values[control.variable] = control.name in data
            continue
        try:
            values[control.variable] = _parsed(control.type, data.get(control.name, ""))
        except ValueError as exc:
            errors[control.variable] = [str(exc)]
    return values, errors


def _parsed(type_name: str, text: str) -> Any:
    """A control's text as the value sent to the service: blank is no value (None)."""
    if not text.strip() and type_name != "list":
        return None
    if type_name == "list":
        if text.strip().startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                raise ValueError('must be one item per line, or a JSON list such as ["a", "b"]') from None
        return [line.strip() for line in text.splitlines() if line.strip()]
    if type_name == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ValueError('must be JSON, such as {"key": "value"}') from None
    return text


def keep_typed(controls: list[Control], data, errors: dict[str, list[str]]) -> list[str]:
    """Put what the user typed back into the controls with each field's errors; returns the other errors."""
    for control in controls:
        control.errors = list(errors.get(control.variable, []))
        if control.editable:
            if control.control == "checkbox":
                control.checked = control.name in data
            else:
                control.value = data.get(control.name, "")
    names = {c.variable for c in controls}
    return [f"{key}: {message}" if key not in ("button", "values") else message
            for key, problems in errors.items() if key not in names for message in problems]


def picker_users() -> list[tuple[str, str]]:
    """Active users who may receive work items, for user pickers: (user name, full name)."""
    users = User.objects.filter(is_active=True).exclude(license="").order_by("username")
    return [(u.username, u.get_full_name()) for u in users.only("username", "first_name", "last_name")]


# ------------------------------------------------------------------------ My Work Items


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("workitems:list")
    return render(request, "home.html")


def age_text(moment: datetime, now: datetime) -> str:
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return "just now"


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
    })


# ---------------------------------------------------------------------- one work item


def render_item(request: HttpRequest, item: WorkItem, *, data=None, errors=None, conflict: str = "",
                transfer: dict | None = None, status: int = 200) -> HttpResponse:
    user = request.user
    controls = work_item_controls(user, item)
    form_errors = keep_typed(controls, data, errors or {}) if data is not None else []
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
        "buttons": work_item_definition(item).get("buttons", []),
        "editable": item.status in ("processing", "held"),
        "can_pick_up": item.status in ("offered", "queued"),
        "conflict": conflict,
        "users": picker_users(),
        "workgroups": workgroups,
        "transfer": transfer or {"user": "", "workgroup": item.workgroup.name if item.workgroup else "",
                                 "errors": {}},
        "can_view_instance": policy.can_view_instance(user, item.instance.started_by_id),
        "live_path": live_updates_path(),
    }, status=status)


@page
def work_item(request: HttpRequest, pk: int) -> HttpResponse:
    """The form (GET); save a draft or press an exit (POST)."""
    item = services.work_item_for(request.user, pk)
    if request.method != "POST":
        return render_item(request, item)
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
        services.complete_work_item(request.user, pk, button, values)
    except FormInvalid as exc:
        return render_item(request, item, data=request.POST, errors=exc.errors, status=400)
    except Conflict as exc:
        return _conflict(request, pk, str(exc), data=request.POST)
    labels = {b["id"]: b.get("label", b["id"]) for b in work_item_definition(item).get("buttons", [])}
    messages.success(request, f"{item.name} completed: {labels.get(button, button)}.")
    return redirect("workitems:list")


def _conflict(request: HttpRequest, pk: int, message: str, data=None) -> HttpResponse:
    """A 409: the page again with the reason, or the list when the item is no longer the user's."""
    try:
        item = services.work_item_for(request.user, pk)
    except NotFound:
        messages.error(request, f"{message} It is no longer on your list.")
        return redirect("workitems:list")
    return render_item(request, item, data=data, conflict=message, status=409)


ACTIONS = {
    "pickup": (services.pickup_work_item, "Picked up: the form is yours to fill in."),
    "hold": (services.hold_work_item, "Set aside (held). Resume it when you are ready."),
    "resume": (services.resume_work_item, "Resumed."),
}


@require_POST
@page
def work_item_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    do, done = ACTIONS[action]
    try:
        do(request.user, pk)
    except Conflict as exc:
        return _conflict(request, pk, str(exc))
    messages.success(request, done)
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
        return render_item(request, item, transfer=transfer, status=400)
    except Conflict as exc:
        return _conflict(request, pk, str(exc))
    where = to_user or f"the {to_workgroup} queue"
    messages.success(request, f"{item.name} transferred to {where}.")
    return redirect("workitems:list")
