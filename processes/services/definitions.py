"""Importing, versioning and publishing process definitions."""

from __future__ import annotations

import time
from functools import lru_cache

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from administration import policy
from administration.models import User
from processes.engine import Process, compile_process
from processes.engine.validation import DefinitionInvalid, validate_definition
from processes.errors import Conflict, DefinitionBroken, NotFound
from processes.external import handlers
from processes.models import ProcessDefinition
from processes.queries import HotQuery


def import_definition(document: dict, *, user: User | None = None, publish: bool = False) -> ProcessDefinition:
    """Validate ``document`` and store it as the next version of its process.

    Raises ``DefinitionInvalid`` with every error (path and message) when it is not valid.
    """
    if user is not None:
        policy.require_designer(user)
    errors = [*validate_definition(document), *handlers.definition_errors(document)]  # handlers: this server's
    if errors:
        raise DefinitionInvalid(errors)
    with transaction.atomic():
        name = document["name"]
        latest = ProcessDefinition.objects.select_for_update().filter(name=name).aggregate(v=Max("version"))["v"]
        definition = ProcessDefinition.objects.create(
            name=name,
            version=(latest or 0) + 1,
            document=document,
            category=document.get("category", ""),
            description=document.get("description", ""),
            imported_by=user,
        )
        if publish:
            _publish(definition)
    return definition


def _locked_definition(definition_id: int) -> ProcessDefinition:
    """Inside a transaction: the version, locked against a concurrent publish or retire."""
    definition = ProcessDefinition.objects.select_for_update().filter(pk=definition_id).first()
    if definition is None:
        raise NotFound("No such process definition.")
    return definition


def publish_definition(definition_id: int, *, user: User | None = None) -> ProcessDefinition:
    """Make this version the one users launch; earlier published versions stop being launchable."""
    if user is not None:
        policy.require_designer(user)
    with transaction.atomic():
        definition = _locked_definition(definition_id)
        if definition.published:
            raise Conflict(f"{definition} is already published.")
        _publish(definition)
    return definition


def _publish(definition: ProcessDefinition) -> None:
    ProcessDefinition.objects.filter(name=definition.name, published=True).update(published=False)
    definition.published = True
    definition.published_at = timezone.now()
    definition.save(update_fields=["published", "published_at"])
    _published_seen.pop(definition.name, None)
    transaction.on_commit(lambda: _published_seen.pop(definition.name, None))


PUBLISHED_VIEW_SECONDS = 1.0  # how long a process trusts the published version it read
_published = HotQuery(lambda name: ProcessDefinition.objects.filter(
    name=name, published=True).order_by("-version").defer("document")[:1])
_published_seen: dict[str, tuple[float, ProcessDefinition | None]] = {}


def published_version(name: str) -> ProcessDefinition | None:
    """The version users launch. Its document is left unread: launches use the compiled, cached one.

    Every launch asks, so the answer is kept for ``PUBLISHED_VIEW_SECONDS``: a version published
    by this process is launched at once, one published by another within a second (the
    instances started meanwhile keep the version they started with, as all instances do).
    """
    now = time.monotonic()
    seen = _published_seen.get(name)
    if seen is not None and now - seen[0] <= PUBLISHED_VIEW_SECONDS:
        return seen[1]
    definition = _published.first(name)
    _published_seen[name] = (now, definition)
    return definition


def newest_version(name: str) -> ProcessDefinition | None:
    return ProcessDefinition.objects.filter(name=name).order_by("-version").first()


@lru_cache(maxsize=512)
def _compiled(definition_id: int) -> Process:
    name, version, document = ProcessDefinition.objects.values_list("name", "version", "document").get(
        pk=definition_id)
    try:
        return compile_process(document)
    except Exception as exc:  # noqa: BLE001 - any fault of a stored document: it is broken, not the caller
        raise DefinitionBroken(f"{name} v{version}", f"{type(exc).__name__}: {exc}") from exc


def compiled_process(definition_id: int) -> Process:
    """The engine's view of a definition version, parsed once per process (versions never change).

    Raises ``DefinitionBroken`` when the stored document does not load (a failure is not cached).
    """
    return _compiled(definition_id)


def definition_problem(definition: ProcessDefinition) -> str | None:
    """Why a stored version cannot run (its validation errors by path, or its loading error); None if it can."""
    errors = validate_definition(definition.document)
    if errors:
        return "; ".join(str(error) for error in errors)
    try:
        compiled_process(definition.pk)
    except DefinitionBroken as exc:
        return exc.reason
    return None


def retire_definition(definition_id: int, *, user: User | None = None) -> ProcessDefinition:
    """Stop a published version being launchable (running instances go on); none of the process is launched."""
    if user is not None:
        policy.require_designer(user)
    with transaction.atomic():
        definition = _locked_definition(definition_id)
        if not definition.published:
            raise Conflict(f"{definition} is not published.")
        definition.published = False
        definition.save(update_fields=["published"])
    return definition


def forget_compiled_processes() -> None:
    """Forget the compiled definitions and the published versions seen (tests, after a change)."""
    _compiled.cache_clear()
    _published_seen.clear()


def security_usage() -> dict[str, list[tuple[str, int, str]]]:
    """For each security specification, the (process, version, variable) of published definitions using it.

    Read from the stored documents without compiling them, so a broken one only drops out.
    """
    usage: dict[str, list[tuple[str, int, str]]] = {}
    for name, version, document in ProcessDefinition.objects.filter(published=True).values_list(
            "name", "version", "document"):
        variables = document.get("variables") if isinstance(document, dict) else None
        for variable in variables if isinstance(variables, list) else []:
            if isinstance(variable, dict) and isinstance(variable.get("security"), str):
                usage.setdefault(variable["security"], []).append((name, version, str(variable.get("name"))))
    return usage
