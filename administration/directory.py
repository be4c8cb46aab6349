"""Importing a directory document (``ipa.directory/v1``): idempotent, all or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from . import services
from .models import (
    LICENSES,
    DataSource,
    LicenseAllocation,
    Role,
    SecuritySpecification,
    ServerParameter,
    Skill,
    User,
    Workgroup,
)
from .parameters import forget_parameters, parameter_problem

FORMAT = "ipa.directory/v1"
TOP_KEYS = {"format", "licenses", "skills", "workgroups", "roles", "users", "security_specifications",
            "server_parameters", "data_sources"}


@dataclass(frozen=True)
class DirectoryError:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class DirectoryInvalid(Exception):
    def __init__(self, errors: list[DirectoryError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclass
class ImportSummary:
    users: int = 0
    workgroups: int = 0
    roles: int = 0
    skills: int = 0
    security_specifications: int = 0

    def __str__(self) -> str:
        return (f"{self.users} users, {self.workgroups} workgroups, {self.roles} roles, {self.skills} skills, "
                f"{self.security_specifications} security specifications")


def _entry_errors(errors: list[DirectoryError], path: str, entry: Any, found: dict[str, str]) -> bool:
    """Add an entry's errors (from the services' rules) under its path; whether it has a usable name."""
    for key, message in found.items():
        errors.append(DirectoryError(f"{path}.{key}", message))
    return not any(key in ("name", "username") for key in found)


def _unknown_keys(errors: list[DirectoryError], path: str, entry: Any, allowed: set[str]) -> bool:
    if not isinstance(entry, dict):
        errors.append(DirectoryError(path, "must be an object"))
        return False
    for key in sorted(set(entry) - allowed):
        errors.append(DirectoryError(path, f"unknown key {key!r}"))
    return True


def check_directory(document: Any) -> list[DirectoryError]:
    """Every error of the document, each with the path of its entry (rules: administration.services)."""
    if not isinstance(document, dict):
        return [DirectoryError("$", "must be an object")]
    errors: list[DirectoryError] = []
    if document.get("format") != FORMAT:
        errors.append(DirectoryError("format", f'must be "{FORMAT}"'))
    for key in sorted(set(document) - TOP_KEYS):
        errors.append(DirectoryError(key, "unknown key"))
    licenses = document.get("licenses", {})
    if not isinstance(licenses, dict):
        errors.append(DirectoryError("licenses", "must be an object from license to seats"))
        licenses = {}
    for name, seats in licenses.items():
        if name not in LICENSES:
            errors.append(DirectoryError(f"licenses.{name}", f"unknown license; licenses are {', '.join(LICENSES)}"))
        elif problem := services.seats_problem(seats):
            errors.append(DirectoryError(f"licenses.{name}", problem))
    new_skills = document.get("skills") or []
    if not isinstance(new_skills, list) or not all(isinstance(s, str) and s for s in new_skills):
        errors.append(DirectoryError("skills", "must be a list of skill names"))
        new_skills = []
    skills = set(Skill.objects.values_list("name", flat=True)) | set(new_skills)
    workgroups = set(Workgroup.objects.values_list("name", flat=True))
    roles = set(Role.objects.values_list("name", flat=True))
    for i, entry in enumerate(document.get("workgroups") or []):
        path = f"workgroups[{i}]"
        if _unknown_keys(errors, path, entry, {"name", "rights", "skills"}) and _entry_errors(
                errors, path, entry, services.workgroup_errors(entry, skills)):
            workgroups.add(entry["name"])
    for i, entry in enumerate(document.get("roles") or []):
        path = f"roles[{i}]"
        if _unknown_keys(errors, path, entry, {"name", "rights"}) and _entry_errors(
                errors, path, entry, services.role_errors(entry)):
            roles.add(entry["name"])
    users = set(User.objects.values_list("username", flat=True))
    for i, entry in enumerate(document.get("users") or []):
        path = f"users[{i}]"
        if _unknown_keys(errors, path, entry, services.USER_KEYS) and _entry_errors(
                errors, path, entry, services.user_errors(entry, skills, workgroups, roles)):
            users.add(entry["username"])
    for i, entry in enumerate(document.get("security_specifications") or []):
        path = f"security_specifications[{i}]"
        if _unknown_keys(errors, path, entry, {"name", "users", "workgroups", "roles"}):
            _entry_errors(errors, path, entry, services.specification_errors(entry, users, workgroups, roles))
    parameters = document.get("server_parameters", {})
    if not isinstance(parameters, dict) or not all(isinstance(v, str) for v in parameters.values()):
        errors.append(DirectoryError("server_parameters", "must be an object from parameter name to text value"))
    else:
        for name, value in parameters.items():
            if problem := parameter_problem(name, value):
                errors.append(DirectoryError(f"server_parameters.{name}", problem))
    for i, entry in enumerate(document.get("data_sources") or []):
        path = f"data_sources[{i}]"
        if _unknown_keys(errors, path, entry, {"name", "url"}):
            if not isinstance(entry.get("name"), str) or not entry.get("name"):
                errors.append(DirectoryError(f"{path}.name", "is required and must be a non-empty string"))
            if problem := services.data_source_url_problem(entry.get("url")):
                errors.append(DirectoryError(f"{path}.url", problem))
    return errors


def export_directory() -> dict[str, Any]:
    """The whole directory as an ``ipa.directory/v1`` document (no passwords) that ``import_directory`` takes back."""
    return {
        "format": FORMAT,
        "licenses": dict(LicenseAllocation.objects.order_by("license").values_list("license", "seats")),
        "skills": list(Skill.objects.order_by("name").values_list("name", flat=True)),
        "workgroups": [services.workgroup_entry(g) for g in Workgroup.objects.order_by("name")],
        "roles": [services.role_entry(r) for r in Role.objects.order_by("name")],
        "users": [services.user_entry(u) for u in User.objects.order_by("username")],
        "security_specifications": [services.specification_entry(s)
                                    for s in SecuritySpecification.objects.order_by("name")],
        "server_parameters": dict(ServerParameter.objects.order_by("name").values_list("name", "value")),
        "data_sources": [{"name": name, "url": url}
                         for name, url in DataSource.objects.order_by("name").values_list("name", "url")],
    }


def import_directory(document: dict, actor: User | None = None) -> ImportSummary:
    """Create or update everything the document names; nothing changes when it has an error."""
    errors = check_directory(document)
    if errors:
        raise DirectoryInvalid(errors)
    summary = ImportSummary()
    with transaction.atomic():
        for name, seats in (document.get("licenses") or {}).items():
            LicenseAllocation.objects.update_or_create(license=name, defaults={"seats": seats})
        for name in document.get("skills") or []:
            Skill.objects.get_or_create(name=name)
            summary.skills += 1
        appliers = (("workgroups", services.apply_workgroup), ("roles", services.apply_role),
                    ("users", services.apply_user), ("security_specifications", services.apply_specification))
        for key, apply in appliers:  # in this order: users name workgroups, specifications name users
            for entry in document.get(key) or []:
                apply(entry)
                setattr(summary, key, getattr(summary, key) + 1)
        for name, value in (document.get("server_parameters") or {}).items():
            ServerParameter.objects.update_or_create(name=name, defaults={"value": value})
        for entry in document.get("data_sources") or []:
            DataSource.objects.update_or_create(name=entry["name"], defaults={"url": entry["url"]})
        seat_errors = services.seat_problems()
        if seat_errors:
            transaction.set_rollback(True)
            raise DirectoryInvalid([DirectoryError(f"licenses.{name}", message)
                                    for name, message in seat_errors.items()])
        services.record(actor, "directory", "ipa.directory/v1", "imported", None, {"summary": str(summary)})
    forget_parameters()
    return summary
