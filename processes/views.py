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
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from administration import policy
from ipa_portal.pages import age_text, page, recall_form, remember_form
from processes.errors import Conflict, FormInvalid, LaunchBlocked
from processes.form_controls import input_controls, keep_typed, picker_users, posted_values
from processes.history_text import error_text, history_sentence, humanize
from processes.models import INSTANCE_STATUSES, ProcessDefinition
from processes.services import instances
from workitems.services import first_open_item

SEARCH_PAGE_SIZE = 25
INTERACTION_TYPES = [("call", "Call"), ("email", "Email"), ("chat", "Chat"), ("callback", "Callback"),
                     ("other", "Other")]


# --------------------------------------------------------------------------- launching


def launch_card(definition: ProcessDefinition, inputs: list[dict], index: int) -> dict[str, Any]:
    """A published process with the controls of its launch inputs."""
    return {"definition": definition, "id": f"process-{index}",
            "controls": input_controls(inputs, f"p{index}"), "errors": []}


@page
def process_list(request: HttpRequest) -> HttpResponse:
    """The processes the user may launch, by category, searchable; each one's form is on its own page."""
    query = request.GET.get("q", "").strip()
    words = query.lower().split()
    categories: dict[str, list[ProcessDefinition]] = {}
    for definition, _ in instances.launchable_processes(request.user):
        text = f"{definition.name} {definition.category} {definition.description}".lower()
        if all(word in text for word in words):
            categories.setdefault(definition.category or "Other", []).append(definition)
    return render(request, "processes/list.html", {
        "nav": "processes", "query": query,
        "categories": sorted(categories.items(), key=lambda c: (c[0] == "Other", c[0].lower())),
    })


@page
def launch(request: HttpRequest, name: str) -> HttpResponse:
    """One process's launch form (GET); start it (POST), or back to the form with what was typed."""
    definition, inputs = instances.launchable_process(request.user, name)
    card = launch_card(definition, inputs, 0)
    if request.method != "POST":
        kept = recall_form(request, f"launch:{name}")
        if kept is not None:
            card["errors"] = keep_typed(card["controls"], kept["data"], kept["errors"])
            card["failed"] = True
        return render(request, "processes/launch.html", {
            "nav": "processes", "p": card, "users": picker_users(),
            "field_errors": [c for c in card["controls"] if c.errors],
        })
    values, parse_errors = posted_values(card["controls"], request.POST)
    try:
        if parse_errors:
            raise FormInvalid(parse_errors)
        instance = instances.launch_process(request.user, name, values)
    except FormInvalid as exc:
        remember_form(request, f"launch:{name}", data=request.POST, errors=exc.errors)
        return redirect("processes:launch", name=name)
    except LaunchBlocked as exc:
        remember_form(request, f"launch:{name}", data=request.POST)
        messages.error(request, f"{exc} Try again in a few seconds.")
        return redirect("processes:launch", name=name)
    first = first_open_item(request.user, instance.pk)
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
    instance = instances.instance_details(user, pk)
    variables = [(humanize(name), _shown(value))
                 for name, value in instances.instance_variables(user, instance).items()]
    return render(request, "processes/instance.html", {
        "nav": "search",
        "instance": instance,
        "history": history_rows(instance),
        "error": error_text(instance.error) if instance.error else "",
        "variables": variables,
        "form": form or InteractionForm(),
        "can_manage": policy.can_manage(user, instance.process_name, instance.definition.category),
        "retryable": instance.status in instances.MANAGEABLE_STATUSES,
    }, status=status)


def history_rows(instance) -> list[dict[str, Any]]:
    """The instance's history in plain words (the codes stay in the API)."""
    buttons = {b["id"]: b.get("label") or humanize(b["id"])
               for item in instance.definition.document.get("work_items") or [] for b in item.get("buttons") or []}
    return [{"at": entry.at, "user": entry.user, "code": entry.what,
             "sentence": history_sentence(entry.what, entry.detail, who=str(entry.user or ""), buttons=buttons)}
            for entry in instance.history.all()]


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
    kept = recall_form(request, f"interaction:{pk}")
    return render_instance(request, pk, form=InteractionForm(kept["data"]) if kept else None)


@require_POST
@page
def relate_interaction(request: HttpRequest, pk: int) -> HttpResponse:
    instance = instances.visible_instance(request.user, pk)
    form = InteractionForm(request.POST)
    if not form.is_valid():
        remember_form(request, f"interaction:{pk}", data=request.POST)
        return redirect("processes:instance", pk=pk)
    instances.relate_interaction(request.user, instance, form.cleaned_data)
    messages.success(request, "Interaction related to the instance.")
    return redirect("processes:instance", pk=pk)


DONE_MESSAGES = {
    "cancel": "Instance cancelled.",
    "retry": "Instance retried.",
    "skip": "Failed step skipped.",
}


@require_POST
@page
def manage_instance(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    try:
        instances.REPAIRS[action](request.user, pk)
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, DONE_MESSAGES[action])
    return redirect("processes:instance", pk=pk)
