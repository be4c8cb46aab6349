"""Pages for processes: launching them, searching the instances a user may see, one instance's details.

Views translate between HTML forms and the services in ``processes.services``; what a
user may launch, see or change is decided there and in ``administration.policy``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from administration import policy
from processes.errors import Conflict, FormInvalid, LaunchBlocked, NotFound
from processes.models import INSTANCE_STATUSES, ProcessDefinition, ProcessInstance
from processes.services import instances
from processes.services.definitions import compiled_process, published_version
from workitems.models import OPEN_STATUSES, WorkItem
from workitems.views import age_text, input_controls, keep_typed, page, picker_users, posted_values

SEARCH_PAGE_SIZE = 25
INTERACTION_TYPES = [("call", "Call"), ("email", "Email"), ("chat", "Chat"), ("callback", "Callback"),
                     ("other", "Other")]


# --------------------------------------------------------------------------- launching


def launchable(user, definition: ProcessDefinition, index: int) -> dict[str, Any]:
    """A published process with the controls of the launch inputs the user may see."""
    process = compiled_process(definition.pk)
    specs = [spec for spec in process.input_variables if policy.may_see(user, spec.get("security"))]
    return {"definition": definition, "id": f"process-{index}",
            "controls": input_controls(specs, f"p{index}"), "errors": []}


def render_processes(request: HttpRequest, failed: dict | None = None, status: int = 200) -> HttpResponse:
    policy.require_launch(request.user)
    definitions = ProcessDefinition.objects.filter(published=True).order_by("category", "name")
    rows = [launchable(request.user, d, i) for i, d in enumerate(definitions, start=1)]
    for row in rows:
        if failed and row["definition"].name == failed["name"]:
            row["errors"] = keep_typed(row["controls"], failed["data"], failed["errors"])
            row["failed"] = True
    return render(request, "processes/list.html", {
        "nav": "processes", "processes": rows, "users": picker_users(),
        "field_errors": [c for row in rows if row.get("failed") for c in row["controls"] if c.errors],
    }, status=status)


@page
def process_list(request: HttpRequest) -> HttpResponse:
    return render_processes(request)


@require_POST
@page
def launch(request: HttpRequest, name: str) -> HttpResponse:
    definition = published_version(name)
    if definition is None:
        raise NotFound(f"No published process named {name!r}.")
    controls = launchable(request.user, definition, 0)["controls"]
    values, parse_errors = posted_values(controls, request.POST)
    try:
        if parse_errors:
            raise FormInvalid(parse_errors)
        instance = instances.launch_process(request.user, name, values)
    except FormInvalid as exc:
        return render_processes(request, {"name": name, "data": request.POST, "errors": exc.errors}, status=400)
    except LaunchBlocked as exc:
        messages.error(request, f"{exc} Try again in a few seconds.")
        return redirect("processes:list")
    first = (WorkItem.objects.filter(instance=instance, user=request.user, status__in=OPEN_STATUSES)
             .order_by("id").first())
    messages.success(request, f"{instance} started.")
    if first is not None:  # the seed: starting a process pops the user's own first work item
        return redirect("workitems:item", pk=first.pk)
    return redirect("processes:instance", pk=instance.pk)


# ----------------------------------------------------------------------------- search


@page
def instance_search(request: HttpRequest) -> HttpResponse:
    found = instances.visible_instances(request.user).select_related("started_by")
    filters = {key: request.GET.get(key, "").strip() for key in ("process", "status", "state")}
    if filters["process"]:
        found = found.filter(process_name=filters["process"])
    if filters["status"]:
        found = found.filter(status=filters["status"])
    if filters["state"]:
        found = found.filter(current_state__icontains=filters["state"])
    results = Paginator(found, SEARCH_PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    for instance in results:
        instance.since = age_text(instance.updated_at, now)
    query = urlencode({key: value for key, value in filters.items() if value})
    return render(request, "processes/search.html", {
        "nav": "search",
        "results": results,
        "filters": filters,
        "query": query,
        "processes": ProcessDefinition.objects.order_by("name").values_list("name", flat=True).distinct(),
        "statuses": INSTANCE_STATUSES,
    })


# --------------------------------------------------------------------------- an instance


class InteractionForm(forms.Form):
    """A call, an email or a chat related to an instance (the seed's related interactions)."""

    type = forms.ChoiceField(choices=INTERACTION_TYPES)
    reference = forms.CharField(max_length=200, help_text="A phone number, an email's subject, a chat id ...")
    description = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


def render_instance(request: HttpRequest, pk: int, form: InteractionForm | None = None,
                    status: int = 200) -> HttpResponse:
    user = request.user
    instance = instances.visible_instance(user, pk)
    instance = (
        ProcessInstance.objects.select_related("definition", "started_by", "parent")
        .prefetch_related(
            "history",
            Prefetch("work_items", queryset=WorkItem.objects.select_related("user", "workgroup").order_by("id")),
            "related_interactions__created_by",
        )
        .get(pk=instance.pk)
    )
    variables = [(name, _shown(value)) for name, value in instances.instance_variables(user, instance).items()]
    return render(request, "processes/instance.html", {
        "nav": "search",
        "instance": instance,
        "variables": variables,
        "form": form or InteractionForm(),
        "can_manage": policy.can_manage(user),
        "retryable": instance.status in instances.MANAGEABLE_STATUSES,
    }, status=status)


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


@page
def instance_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_instance(request, pk)


@require_POST
@page
def relate_interaction(request: HttpRequest, pk: int) -> HttpResponse:
    instance = instances.visible_instance(request.user, pk)
    form = InteractionForm(request.POST)
    if not form.is_valid():
        return render_instance(request, pk, form=form, status=400)
    instances.relate_interaction(request.user, instance, form.cleaned_data)
    messages.success(request, "Interaction related to the instance.")
    return redirect("processes:instance", pk=pk)


MANAGE = {
    "cancel": (instances.cancel_instance, "Instance cancelled."),
    "retry": (instances.retry_instance, "Instance retried."),
    "skip": (instances.skip_instance, "Failed step skipped."),
}


@require_POST
@page
def manage_instance(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    instances.visible_instance(request.user, pk)  # 404 before 403 for what the user cannot see
    do, done = MANAGE[action]
    try:
        do(request.user, pk)
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    return redirect("processes:instance", pk=pk)
