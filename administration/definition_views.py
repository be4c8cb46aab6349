"""The administration page of process definitions: versions with their status, import, publish, retire.

A stored version never changes (processes.models.ProcessDefinition.save refuses); a version
whose stored document no longer loads is listed as broken with the reason.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from administration import services
from administration.views import admin_page, render_admin
from processes.engine.validation import DefinitionError, DefinitionInvalid
from processes.errors import ServiceError
from processes.models import ProcessDefinition
from processes.services import definitions

MAX_UPLOAD_BYTES = 2 * 1024 * 1024


def _versions() -> list[dict]:
    processes: dict[str, list[dict]] = {}
    for definition in ProcessDefinition.objects.select_related("imported_by").order_by("name", "-version"):
        processes.setdefault(definition.name, []).append(
            {"definition": definition, "problem": definitions.definition_problem(definition)})
    return [{"name": name, "versions": versions} for name, versions in processes.items()]


def _page(request: HttpRequest, errors: list[DefinitionError] | None = None, file_name: str = "") -> HttpResponse:
    return render_admin(request, "definitions.html", {"processes": _versions(), "import_errors": errors or [],
                                                 "file_name": file_name}, "definitions", 400 if errors else 200)


@admin_page
def definition_list(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@admin_page
def definition_import(request: HttpRequest) -> HttpResponse:
    upload = request.FILES.get("document")
    if upload is None:
        return _page(request, [DefinitionError("$", "choose a process definition file (JSON) to import")])
    if upload.size > MAX_UPLOAD_BYTES:
        return _page(request, [DefinitionError("$", "the file is larger than 2 MB")], upload.name)
    try:
        document = json.loads(upload.read().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _page(request, [DefinitionError("$", f"not a JSON document: {exc}")], upload.name)
    try:
        definition = definitions.import_definition(document, user=request.user,
                                                   publish=request.POST.get("publish") == "on")
    except DefinitionInvalid as exc:
        return _page(request, exc.errors, upload.name)
    services.record(request.user, "process definition", str(definition), "imported", None,
                    {"status": definition.status})
    messages.success(request, f"{definition} imported as {definition.status}.")
    return redirect("administration:definitions")


@require_POST
@admin_page
def definition_change(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    change = {"publish": definitions.publish_definition, "retire": definitions.retire_definition}[action]
    try:
        definition = change(pk, user=request.user)
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        services.record(request.user, "process definition", str(definition), definition.status, None,
                        {"status": definition.status})
        messages.success(request, f"{definition} is now {definition.status}.")
    return redirect("administration:definitions")
