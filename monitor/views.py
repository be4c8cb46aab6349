"""The Process Monitor's pages: filters as tabs with a live table, an instance's details, repairs.

Views translate between forms and ``monitor.services``; the license, rights and masking are
decided there and in ``administration.policy``. Without the Process Monitor license every page
answers with one that names the license needed.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from administration import policy
from administration.models import User, Workgroup
from monitor import bulk, services
from monitor.filters import KEYS, FilterInvalid, parse_filter
from monitor.forms import FilterForm, form_initial
from monitor.queues import queues
from monitor.timeline import duration_text, error_words
from monitor.trouble import trouble
from processes.errors import Conflict, FormInvalid, ServiceError
from workitems import services as work_items
from workitems.views import page

LIVE_PATH = "/ws/monitor/"


def filter_form(user: User, data: Any = None, initial: dict[str, Any] | None = None) -> FilterForm:
    processes = services.watchable_processes(user)
    workgroups = list(Workgroup.objects.order_by("name").values_list("name", flat=True))
    return FilterForm(data, initial=initial, processes=processes, workgroups=workgroups)


@page
def monitor_page(request: HttpRequest) -> HttpResponse:
    """The tabs (saved filters), the filter form and the table the socket keeps live."""
    user = request.user
    policy.require_monitor(user)
    saved = services.saved_filters(user)
    active = next((f for f in saved if str(f.pk) == request.GET.get("tab")), None)
    if active is None and saved and not request.GET:  # back to the monitor: the first tab
        active = saved[0]
    watched: dict[str, Any] | None = None
    if active is not None:
        watched = active.filter
        form = filter_form(user, initial=form_initial(watched))
    elif any(key in request.GET for key in KEYS):
        form = filter_form(user, request.GET)
        if form.is_valid():
            try:
                watched = parse_filter(form.filter_data()).as_dict()
            except FilterInvalid as exc:
                form.add_error(None, str(exc))
    else:
        form = filter_form(user)
    return render(request, "monitor/monitor.html", {
        "nav": "monitor",
        "saved": saved,
        "active": active,
        "form": form,
        "watched": watched,
        "watched_pairs": [(key, value) for key, values in (watched or {}).items()
                          for value in (values if isinstance(values, list) else [values])],
        "live_path": LIVE_PATH,
        "can_manage": policy.can_manage_some(user),
    })


@require_POST
@page
def save_filter(request: HttpRequest) -> HttpResponse:
    form = filter_form(request.user, request.POST)
    if not form.is_valid():
        messages.error(request, "The filter has values the monitor cannot use; see the fields below.")
        return redirect(f"{reverse('monitor:monitor')}?{request.POST.urlencode()}")
    try:
        saved = services.save_filter(request.user, request.POST.get("name", ""), form.filter_data())
    except (FilterInvalid, ServiceError) as exc:
        messages.error(request, str(exc))
        return redirect("monitor:monitor")
    messages.success(request, f"Filter {saved.name} saved.")
    return redirect(f"{reverse('monitor:monitor')}?tab={saved.pk}")


@require_POST
@page
def delete_filter(request: HttpRequest, pk: int) -> HttpResponse:
    services.delete_filter(request.user, pk)
    messages.success(request, "Filter closed and deleted.")
    return redirect("monitor:monitor")


# ----------------------------------------------------------------------- an instance


@page
def instance_details(request: HttpRequest, pk: int, status: int = 200) -> HttpResponse:
    user = request.user
    policy.require_monitor(user)
    details = services.instance_details(user, pk)
    diagram = mark_safe(details.pop("diagram_svg"))  # drawn by monitor.diagram, which escapes every text
    error, error_where = error_words(details["instance"].error or "")
    return render(request, "monitor/instance.html", {
        "nav": "monitor", **details, "diagram": diagram, "live_path": LIVE_PATH,
        "error": error, "error_where": error_where,
    }, status=status)


@require_POST
@page
def repair(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Cancel, retry or skip, with the optional comment; a status that does not allow it: 409."""
    try:
        services.repair(request.user, pk, action, comment=request.POST.get("comment", "")[:400])
    except Conflict as exc:
        messages.error(request, str(exc))
        return instance_details(request, pk, status=409)
    messages.success(request, services.REPAIR_DONE[action])
    return redirect("monitor:instance", pk=pk)


# ---------------------------------------------------------------------------- queues


@page
def queues_page(request: HttpRequest) -> HttpResponse:
    """Per workgroup: items queued, offered, in processing and held, who holds them, the members."""
    user = request.user
    can_manage = policy.can_manage_some(user)
    return render(request, "monitor/queues.html", {
        "nav": "monitor",
        "queues": queues(user, timezone.now()),
        "can_manage": can_manage,
        "people": User.objects.exclude(license="").order_by("username").values_list("username", flat=True)
        if can_manage else [],
        "workgroups": Workgroup.objects.order_by("name").values_list("name", flat=True) if can_manage else [],
        "live_path": LIVE_PATH,
    })


@require_POST
@page
def move_work_item(request: HttpRequest, pk: int) -> HttpResponse:
    """Hand a queued or held item to another person or queue (Manage right): the work item service."""
    policy.require_monitor(request.user)
    if not policy.can_manage_some(request.user):
        policy.require_manage(request.user)  # 403; the right for the item's process: the work item service
    to = request.POST.get("to", "")
    kind, _, name = to.partition(":")
    try:
        work_items.transfer_work_item(request.user, pk, to_user=name if kind == "user" else None,
                                      to_workgroup=name if kind == "workgroup" else None)
    except FormInvalid as exc:
        messages.error(request, " ".join(m for ms in exc.errors.values() for m in ms))
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Work item moved to {name}.")
    return redirect("monitor:queues")


@require_POST
@page
def move_instance(request: HttpRequest, pk: int) -> HttpResponse:
    """Move to another state, with the optional comment; an instance that has ended: 409."""
    try:
        services.move(request.user, pk, request.POST.get("state", ""), comment=request.POST.get("comment", "")[:400])
    except Conflict as exc:
        messages.error(request, str(exc))
        return instance_details(request, pk, status=409)
    except ServiceError as exc:
        messages.error(request, str(exc))
        return instance_details(request, pk, status=400)
    messages.success(request, f"Moved to {request.POST.get('state')}.")
    return redirect("monitor:instance", pk=pk)


# ---------------------------------------------------------------------- the trouble


@page
def trouble_page(request: HttpRequest) -> HttpResponse:
    """Per process, instances per state with average and oldest time there; errors by cause."""
    found = trouble(request.user, timezone.now(), request.GET.get("process", ""))
    for process in found["processes"]:
        for state in process["states"]:
            state["average"] = duration_text(state["average_seconds"])
            state["oldest"] = duration_text(state["oldest_seconds"])
    return render(request, "monitor/trouble.html", {
        "nav": "monitor", **found,
    })


@require_POST
@page
def repair_group(request: HttpRequest) -> HttpResponse:
    """One bulk action on a group of instances in error (the trouble page): a bulk job."""
    ids = [int(pk) for pk in request.POST.getlist("ids") if pk.isdigit()]
    job = bulk.start_bulk_job(request.user, request.POST.get("action", ""), ids=ids,
                              comment=request.POST.get("comment", ""))
    return redirect("monitor:job", pk=job.pk)


@page
def job_page(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "monitor/job.html", {"nav": "monitor", "job": bulk.job_for(request.user, pk)})
