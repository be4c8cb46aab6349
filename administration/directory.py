"""Importing a directory document (``ipa.directory/v1``): idempotent, all or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from .models import (
    LICENSES,
    RIGHTS,
    DataSource,
    LicenseAllocation,
    Role,
    SecuritySpecification,
    ServerParameter,
    Skill,
    User,
    UserSkill,
    Workgroup,
)
from .parameters import forget_parameters, parameter_problem

FORMAT = "ipa.directory/v1"
TOP_KEYS = {"format", "licenses", "skills", "workgroups", "roles", "users", "security_specifications",
            "server_parameters", "data_sources"}
USER_KEYS = {"username", "password", "email", "first_name", "last_name", "license", "rights", "workgroups",
             "roles", "skills", "is_admin", "is_active"}
DATA_SOURCE_SCHEMES = ("postgres", "postgresql", "mysql", "mariadb", "sqlite")


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


class _Checker:
    """Collects every error of a document, each naming its entry."""

    def __init__(self) -> None:
        self.errors: list[DirectoryError] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(DirectoryError(path, message))

    def keys(self, path: str, entry: Any, allowed: set[str], required: tuple[str, ...] = ("name",)) -> bool:
        if not isinstance(entry, dict):
            self.error(path, "must be an object")
            return False
        for key in sorted(set(entry) - allowed):
            self.error(path, f"unknown key {key!r}")
        for key in required:
            if not isinstance(entry.get(key), str) or not entry.get(key):
                self.error(f"{path}.{key}", "is required and must be a non-empty string")
                return False
        return True

    def rights(self, path: str, rights: Any) -> None:
        if not isinstance(rights, list) or any(r not in RIGHTS for r in rights):
            self.error(path, f"must be a list of {', '.join(RIGHTS)}")

    def names(self, path: str, names: Any, known: set[str], what: str) -> None:
        if not isinstance(names, list):
            self.error(path, f"must be a list of {what} names")
            return
        for i, name in enumerate(names):
            if not isinstance(name, str) or name not in known:
                self.error(f"{path}[{i}]", f"no {what} named {name!r}")


def check_directory(document: Any) -> list[DirectoryError]:
    """Every error of the document, each with the path of its entry."""
    check = _Checker()
    if not isinstance(document, dict):
        return [DirectoryError("$", "must be an object")]
    if document.get("format") != FORMAT:
        check.error("format", f'must be "{FORMAT}"')
    for key in sorted(set(document) - TOP_KEYS):
        check.error(key, "unknown key")
    licenses = document.get("licenses", {})
    if not isinstance(licenses, dict):
        check.error("licenses", "must be an object from license to seats")
        licenses = {}
    for name, seats in licenses.items():
        if name not in LICENSES:
            check.error(f"licenses.{name}", f"unknown license; licenses are {', '.join(LICENSES)}")
        elif not isinstance(seats, int) or seats < 0:
            check.error(f"licenses.{name}", "must be a number of seats (0 or more)")
    new_skills = document.get("skills") or []
    if not isinstance(new_skills, list) or not all(isinstance(s, str) and s for s in new_skills):
        check.error("skills", "must be a list of skill names")
        new_skills = []
    skills = set(Skill.objects.values_list("name", flat=True)) | set(new_skills)
    workgroups = set(Workgroup.objects.values_list("name", flat=True))
    roles = set(Role.objects.values_list("name", flat=True))
    for i, entry in enumerate(document.get("workgroups") or []):
        if check.keys(f"workgroups[{i}]", entry, {"name", "rights", "skills"}):
            workgroups.add(entry["name"])
            check.rights(f"workgroups[{i}].rights", entry.get("rights", []))
            check.names(f"workgroups[{i}].skills", entry.get("skills", []), skills, "skill")
    for i, entry in enumerate(document.get("roles") or []):
        if check.keys(f"roles[{i}]", entry, {"name", "rights"}):
            roles.add(entry["name"])
            check.rights(f"roles[{i}].rights", entry.get("rights", []))
    users = set(User.objects.values_list("username", flat=True))
    for i, entry in enumerate(document.get("users") or []):
        path = f"users[{i}]"
        if not check.keys(path, entry, USER_KEYS, ("username",)):
            continue
        users.add(entry["username"])
        if entry.get("license", "") not in ("", *LICENSES):
            check.error(f"{path}.license", f"unknown license {entry['license']!r}; licenses are {', '.join(LICENSES)}")
        check.rights(f"{path}.rights", entry.get("rights", []))
        check.names(f"{path}.workgroups", entry.get("workgroups", []), workgroups, "workgroup")
        check.names(f"{path}.roles", entry.get("roles", []), roles, "role")
        user_skills = entry.get("skills", {})
        if not isinstance(user_skills, dict):
            check.error(f"{path}.skills", "must be an object from skill name to level")
        else:
            for skill, level in user_skills.items():
                if skill not in skills:
                    check.error(f"{path}.skills.{skill}", f"no skill named {skill!r}")
                elif not isinstance(level, int) or not 0 <= level <= 100:
                    check.error(f"{path}.skills.{skill}", "level must be a whole number from 0 to 100")
    for i, entry in enumerate(document.get("security_specifications") or []):
        path = f"security_specifications[{i}]"
        if check.keys(path, entry, {"name", "users", "workgroups", "roles"}):
            check.names(f"{path}.users", entry.get("users", []), users, "user")
            check.names(f"{path}.workgroups", entry.get("workgroups", []), workgroups, "workgroup")
            check.names(f"{path}.roles", entry.get("roles", []), roles, "role")
    parameters = document.get("server_parameters", {})
    if not isinstance(parameters, dict) or not all(isinstance(v, str) for v in parameters.values()):
        check.error("server_parameters", "must be an object from parameter name to text value")
    elif problems := {n: p for n, v in parameters.items() if (p := parameter_problem(n, v))}:
        for name, problem in problems.items():
            check.error(f"server_parameters.{name}", problem)
    for i, entry in enumerate(document.get("data_sources") or []):
        path = f"data_sources[{i}]"
        check.keys(path, entry, {"name", "url"}, ("name", "url"))
        url = entry.get("url") if isinstance(entry, dict) else None
        if isinstance(url, str) and url and url.split(":", 1)[0].split("+")[0] not in DATA_SOURCE_SCHEMES:
            check.error(f"{path}.url", "must be a postgres://, mysql:// or sqlite:// URL")
    return check.errors


def _check_seats() -> list[DirectoryError]:
    """After the import (inside its transaction): no license has more users than seats."""
    errors = []
    for allocation in LicenseAllocation.objects.all():
        used = User.objects.filter(license=allocation.license, is_active=True).count()
        if used > allocation.seats:
            errors.append(DirectoryError(
                f"licenses.{allocation.license}",
                f"{used} users hold this license but it has {allocation.seats} seats",
            ))
    return errors


def import_directory(document: dict) -> ImportSummary:
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
        for entry in document.get("workgroups") or []:
            group, _ = Workgroup.objects.update_or_create(name=entry["name"],
                                                          defaults={"rights": entry.get("rights", [])})
            group.skills.set(Skill.objects.filter(name__in=entry.get("skills", [])))
            summary.workgroups += 1
        for entry in document.get("roles") or []:
            Role.objects.update_or_create(name=entry["name"], defaults={"rights": entry.get("rights", [])})
            summary.roles += 1
        for entry in document.get("users") or []:
            _import_user(entry)
            summary.users += 1
        for entry in document.get("security_specifications") or []:
            spec, _ = SecuritySpecification.objects.get_or_create(name=entry["name"])
            spec.users.set(User.objects.filter(username__in=entry.get("users", [])))
            spec.workgroups.set(Workgroup.objects.filter(name__in=entry.get("workgroups", [])))
            spec.roles.set(Role.objects.filter(name__in=entry.get("roles", [])))
            summary.security_specifications += 1
        for name, value in (document.get("server_parameters") or {}).items():
            ServerParameter.objects.update_or_create(name=name, defaults={"value": value})
        for entry in document.get("data_sources") or []:
            DataSource.objects.update_or_create(name=entry["name"], defaults={"url": entry["url"]})
        seat_errors = _check_seats()
        if seat_errors:
            transaction.set_rollback(True)
            raise DirectoryInvalid(seat_errors)
    forget_parameters()
    return summary


def _import_user(entry: dict) -> User:
    defaults = {
        "email": entry.get("email", ""),
        "first_name": entry.get("first_name", ""),
        "last_name": entry.get("last_name", ""),
        "license": entry.get("license", ""),
        "rights": entry.get("rights", []),
        "is_superuser": bool(entry.get("is_admin", False)),
        "is_staff": bool(entry.get("is_admin", False)),
        "is_active": entry.get("is_active", True),
    }
    user, _ = User.objects.update_or_create(username=entry["username"], defaults=defaults)
    if entry.get("password") and not user.check_password(entry["password"]):
        user.set_password(entry["password"])
        user.save(update_fields=["password"])
    user.workgroups.set(Workgroup.objects.filter(name__in=entry.get("workgroups", [])))
    user.roles.set(Role.objects.filter(name__in=entry.get("roles", [])))
    levels = entry.get("skills", {})
    UserSkill.objects.filter(user=user).exclude(skill__name__in=levels).delete()
    for skill, level in levels.items():
        UserSkill.objects.update_or_create(user=user, skill=Skill.objects.get(name=skill), defaults={"level": level})
    return user
