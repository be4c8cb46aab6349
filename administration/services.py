"""Changes to the directory: one set of rules for the administration pages and ``import_directory``.

Each entry (a user, workgroup, role, security specification) has the shape it has in an
``ipa.directory/v1`` document. ``*_errors`` functions say what is wrong with one entry
(keyed by the entry's own keys, so the document reports ``users[3].license`` and a page
marks its License field); ``apply_*`` functions write a valid entry; ``save_*`` functions
are what a page calls: check, write, check the seats, and record the change in the audit
trail, in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.db import transaction

from .models import (
    LICENSE_CHOICES,
    LICENSES,
    RIGHTS,
    AuditEntry,
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

LICENSE_NAMES = dict(LICENSE_CHOICES)
USER_KEYS = {"username", "password", "email", "first_name", "last_name", "license", "rights", "workgroups",
             "roles", "skills", "is_admin", "is_active"}
DATA_SOURCE_SCHEMES = ("postgres", "postgresql", "mysql", "mariadb", "sqlite")


class ChangeInvalid(Exception):
    """A change breaks a rule; ``errors`` maps each field (an entry's key) to what is wrong."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))
        self.errors = errors


# ----------------------------------------------------------------------------- rules


SCOPED_RIGHT_KEYS = {"right", "processes", "categories"}


def _scoped_right_problem(right: dict) -> str | None:
    """A right for named processes or categories: {"right": "launch", "processes": [...], "categories": [...]}."""
    if set(right) - SCOPED_RIGHT_KEYS or right.get("right") not in RIGHTS:
        return (f"a right for some processes is {{\"right\": one of {', '.join(RIGHTS)}, "
                "\"processes\": [names], \"categories\": [names]}")
    names = [*right.get("processes", []), *right.get("categories", [])]
    if not all(isinstance(right.get(key, []), list) for key in ("processes", "categories")) or not names or not all(
            isinstance(name, str) and name for name in names):
        return f"the {right['right']} right for some processes names at least one process or category"
    return None


def rights_problem(rights: Any) -> str | None:
    """Rights are launch, view, manage (for all processes) or one of them for named processes or categories."""
    if not isinstance(rights, list):
        return f"must be a list of {', '.join(RIGHTS)}"
    for right in rights:
        if isinstance(right, dict):
            if problem := _scoped_right_problem(right):
                return problem
        elif right not in RIGHTS:
            return f"must be a list of {', '.join(RIGHTS)}"
    return None


def license_problem(license_name: Any) -> str | None:
    if license_name not in ("", *LICENSES):
        return f"unknown license {license_name!r}; licenses are {', '.join(LICENSES)}"
    return None


def seats_problem(seats: Any) -> str | None:
    if not isinstance(seats, int) or isinstance(seats, bool) or seats < 0:
        return "must be a number of seats (0 or more)"
    return None


def skill_level_problem(level: Any) -> str | None:
    if not isinstance(level, int) or isinstance(level, bool) or not 0 <= level <= 100:
        return "level must be a whole number from 0 to 100"
    return None


def data_source_url_problem(url: Any) -> str | None:
    if not isinstance(url, str) or url.split(":", 1)[0].split("+")[0] not in DATA_SOURCE_SCHEMES:
        return "must be a postgres://, mysql:// or sqlite:// URL"
    return None


def _names_problems(errors: dict[str, str], key: str, names: Any, known: set[str], what: str) -> None:
    if not isinstance(names, list):
        errors[key] = f"must be a list of {what} names"
        return
    for i, name in enumerate(names):
        if not isinstance(name, str) or name not in known:
            errors[f"{key}[{i}]"] = f"no {what} named {name!r}"


def _name_problem(errors: dict[str, str], entry: dict, key: str = "name") -> None:
    if not isinstance(entry.get(key), str) or not entry[key].strip():
        errors[key] = "is required and must be a non-empty string"


def workgroup_errors(entry: dict, skills: set[str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    _name_problem(errors, entry)
    if problem := rights_problem(entry.get("rights", [])):
        errors["rights"] = problem
    _names_problems(errors, "skills", entry.get("skills", []), skills, "skill")
    return errors


def role_errors(entry: dict) -> dict[str, str]:
    errors: dict[str, str] = {}
    _name_problem(errors, entry)
    if problem := rights_problem(entry.get("rights", [])):
        errors["rights"] = problem
    return errors


def user_errors(entry: dict, skills: set[str], workgroups: set[str], roles: set[str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    _name_problem(errors, entry, "username")
    if problem := license_problem(entry.get("license", "")):
        errors["license"] = problem
    if problem := rights_problem(entry.get("rights", [])):
        errors["rights"] = problem
    _names_problems(errors, "workgroups", entry.get("workgroups", []), workgroups, "workgroup")
    _names_problems(errors, "roles", entry.get("roles", []), roles, "role")
    levels = entry.get("skills", {})
    if not isinstance(levels, dict):
        errors["skills"] = "must be an object from skill name to level"
    else:
        for skill, level in levels.items():
            if skill not in skills:
                errors[f"skills.{skill}"] = f"no skill named {skill!r}"
            elif problem := skill_level_problem(level):
                errors[f"skills.{skill}"] = problem
    return errors


def specification_errors(entry: dict, users: set[str], workgroups: set[str], roles: set[str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    _name_problem(errors, entry)
    _names_problems(errors, "users", entry.get("users", []), users, "user")
    _names_problems(errors, "workgroups", entry.get("workgroups", []), workgroups, "workgroup")
    _names_problems(errors, "roles", entry.get("roles", []), roles, "role")
    return errors


def seat_problems(licenses: Iterable[str] | None = None) -> dict[str, str]:
    """Every license (of ``licenses``, else all) held by more active users than it has seats.

    Each message names the license and who holds its seats, so an administrator knows whom
    to move. A license without an allocation row is not counted.
    """
    allocations = LicenseAllocation.objects.all()
    if licenses is not None:
        allocations = allocations.filter(license__in=list(licenses))
    problems = {}
    for license_name, seats in allocations.values_list("license", "seats"):
        if problem := seat_problem(license_name, seats=seats):
            problems[license_name] = problem
    return problems


def seat_problem(license_name: str, *, seats: int | None = None, holder: User | None = None) -> str | None:
    """The message when ``license_name`` is (or would be) held by more active users than it has seats.

    ``seats``: the number to check in place of the allocation's; ``holder``: a user (saved or
    not) counted as one more active holder, as a form checks a change before saving it.
    """
    if seats is None:
        seats = LicenseAllocation.objects.filter(license=license_name).values_list("seats", flat=True).first()
        if seats is None:
            return None
    holders = User.objects.filter(license=license_name, is_active=True)
    if holder is not None and holder.pk is not None:
        holders = holders.exclude(pk=holder.pk)
    names = sorted([*holders.values_list("username", flat=True), *([holder.username] if holder else [])])
    if len(names) <= seats:
        return None
    return (f"The {LICENSE_NAMES[license_name]} license has {seats} seats and "
            f"{len(names)} users would hold it: {', '.join(names)}. Free a seat or add seats first.")


# ------------------------------------------------------------------ records as entries


def user_entry(user: User) -> dict[str, Any]:
    """The user as a directory entry (never the password)."""
    return {
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "license": user.license,
        "rights": list(user.rights or []),
        "workgroups": sorted(user.workgroups.values_list("name", flat=True)),
        "roles": sorted(user.roles.values_list("name", flat=True)),
        "skills": dict(user.skill_levels.order_by("skill__name").values_list("skill__name", "level")),
        "is_admin": user.is_superuser,
        "is_active": user.is_active,
    }


def workgroup_entry(group: Workgroup) -> dict[str, Any]:
    return {"name": group.name, "rights": list(group.rights or []),
            "skills": sorted(group.skills.values_list("name", flat=True))}


def role_entry(role: Role) -> dict[str, Any]:
    return {"name": role.name, "rights": list(role.rights or [])}


def specification_entry(spec: SecuritySpecification) -> dict[str, Any]:
    return {"name": spec.name,
            "users": sorted(spec.users.values_list("username", flat=True)),
            "workgroups": sorted(spec.workgroups.values_list("name", flat=True)),
            "roles": sorted(spec.roles.values_list("name", flat=True))}


# ----------------------------------------------------------------------------- writes


def apply_workgroup(entry: dict) -> Workgroup:
    group, _ = Workgroup.objects.update_or_create(name=entry["name"], defaults={"rights": entry.get("rights", [])})
    group.skills.set(Skill.objects.filter(name__in=entry.get("skills", [])))
    return group


def apply_role(entry: dict) -> Role:
    role, _ = Role.objects.update_or_create(name=entry["name"], defaults={"rights": entry.get("rights", [])})
    return role


def apply_user(entry: dict) -> User:
    is_admin = bool(entry.get("is_admin", False))
    defaults = {
        "email": entry.get("email", ""),
        "first_name": entry.get("first_name", ""),
        "last_name": entry.get("last_name", ""),
        "license": entry.get("license", ""),
        "rights": entry.get("rights", []),
        "is_superuser": is_admin,
        "is_staff": is_admin,
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


def apply_specification(entry: dict) -> SecuritySpecification:
    spec, _ = SecuritySpecification.objects.get_or_create(name=entry["name"])
    spec.users.set(User.objects.filter(username__in=entry.get("users", [])))
    spec.workgroups.set(Workgroup.objects.filter(name__in=entry.get("workgroups", [])))
    spec.roles.set(Role.objects.filter(name__in=entry.get("roles", [])))
    return spec


def record(actor: User | None, kind: str, target: str, action: str,
           before: Any = None, after: Any = None) -> AuditEntry | None:
    """Write one audit entry (nothing when the change changed nothing)."""
    if action == "changed" and before == after:
        return None
    return AuditEntry.objects.create(actor=actor, actor_name=actor.username if actor else "system",
                                     kind=kind, target=target, action=action, before=before, after=after)


def _names(model: Any, field: str = "name") -> set[str]:
    return set(model.objects.values_list(field, flat=True))


def _refuse(errors: dict[str, str]) -> None:
    if errors:
        raise ChangeInvalid(errors)


def save_user(actor: User | None, entry: dict, *, create: bool = False) -> User:
    """Create (``create``) or change a user; refused past a license's seats, naming who holds them."""
    errors = user_errors(entry, _names(Skill), _names(Workgroup), _names(Role))
    existing = User.objects.filter(username=entry.get("username")).first()
    if create and existing is not None:
        errors["username"] = f"a user named {entry['username']!r} already exists"
    if not create and existing is None:
        errors["username"] = f"no user named {entry.get('username')!r}"
    _refuse(errors)
    with transaction.atomic():
        before = user_entry(existing) if existing else None
        user = apply_user(entry)
        if entry.get("license") and (problems := seat_problems([entry["license"]])):
            transaction.set_rollback(True)
            raise ChangeInvalid({"license": problems[entry["license"]]})
        record(actor, "user", user.username, "created" if before is None else "changed", before, user_entry(user))
    return user


def _save_named(actor: User | None, kind: str, model: Any, entry: dict, errors: dict[str, str],
                apply: Any, as_entry: Any, original: str | None) -> Any:
    """Create (``original`` None) or change (and maybe rename) a workgroup, role or specification."""
    existing = model.objects.filter(name=original).first() if original else None
    if original and existing is None:
        errors["name"] = f"no {kind} named {original!r}"
    if entry.get("name") != original and model.objects.filter(name=entry.get("name")).exists():
        errors["name"] = f"a {kind} named {entry['name']!r} already exists"
    _refuse(errors)
    with transaction.atomic():
        before = as_entry(existing) if existing else None
        if existing is not None and existing.name != entry["name"]:
            existing.name = entry["name"]
            existing.save(update_fields=["name"])
        record_ = apply(entry)
        record(actor, kind, record_.name, "created" if before is None else "changed", before, as_entry(record_))
    return record_


def save_workgroup(actor: User | None, entry: dict, original: str | None = None) -> Workgroup:
    return _save_named(actor, "workgroup", Workgroup, entry, workgroup_errors(entry, _names(Skill)),
                       apply_workgroup, workgroup_entry, original)


def save_role(actor: User | None, entry: dict, original: str | None = None) -> Role:
    return _save_named(actor, "role", Role, entry, role_errors(entry), apply_role, role_entry, original)


def save_specification(actor: User | None, entry: dict, original: str | None = None) -> SecuritySpecification:
    errors = specification_errors(entry, _names(User, "username"), _names(Workgroup), _names(Role))
    return _save_named(actor, "security specification", SecuritySpecification, entry, errors,
                       apply_specification, specification_entry, original)


def save_skill(actor: User | None, name: str) -> Skill:
    errors: dict[str, str] = {}
    _name_problem(errors, {"name": name})
    if not errors and Skill.objects.filter(name=name).exists():
        errors["name"] = f"a skill named {name!r} already exists"
    _refuse(errors)
    with transaction.atomic():
        skill = Skill.objects.create(name=name.strip())
        record(actor, "skill", skill.name, "created", None, {"name": skill.name})
    return skill


DELETABLE = {"workgroup": Workgroup, "role": Role, "skill": Skill, "security specification": SecuritySpecification}


def delete_named(actor: User | None, kind: str, name: str) -> None:
    """Delete a workgroup, role, skill or security specification (its members keep everything else)."""
    model = DELETABLE[kind]
    with transaction.atomic():
        deleted, _ = model.objects.filter(name=name).delete()
        if deleted:
            record(actor, kind, name, "deleted", {"name": name}, None)


def set_license_seats(actor: User | None, license_name: str, seats: Any) -> LicenseAllocation:
    errors = {}
    if license_name not in LICENSES:
        errors["license"] = f"unknown license {license_name!r}; licenses are {', '.join(LICENSES)}"
    elif problem := seats_problem(seats):
        errors["seats"] = problem
    _refuse(errors)
    with transaction.atomic():
        allocation = LicenseAllocation.objects.filter(license=license_name).first()
        before = {"seats": allocation.seats} if allocation else None
        allocation, _ = LicenseAllocation.objects.update_or_create(license=license_name, defaults={"seats": seats})
        if problems := seat_problems([license_name]):
            transaction.set_rollback(True)
            raise ChangeInvalid({"seats": problems[license_name]})
        record(actor, "license", license_name, "created" if before is None else "changed", before, {"seats": seats})
    return allocation


def url_without_password(url: str) -> str:
    """A data source URL as pages and the audit trail show it: the password replaced by ***."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def save_data_source(actor: User | None, name: str, url: str) -> DataSource:
    """Create or replace a named data source (the URL is checked; its password never reaches the audit trail)."""
    errors: dict[str, str] = {}
    _name_problem(errors, {"name": name})
    if problem := data_source_url_problem(url.strip()):
        errors["url"] = problem
    _refuse(errors)
    with transaction.atomic():
        stored = DataSource.objects.filter(name=name.strip()).first()
        before = {"url": url_without_password(stored.url)} if stored else None
        source, _ = DataSource.objects.update_or_create(name=name.strip(), defaults={"url": url.strip()})
        record(actor, "data source", source.name, "changed" if before else "created", before,
               {"url": url_without_password(source.url)})
    return source


def delete_data_source(actor: User | None, name: str) -> None:
    with transaction.atomic():
        if DataSource.objects.filter(name=name).delete()[0]:
            record(actor, "data source", name, "deleted", None, None)


def set_server_parameter(actor: User | None, name: str, value: str) -> None:
    """Store a parameter's value (empty: back to its default); readers see it within seconds, no restart."""
    value = value.strip()
    if not name.strip():
        raise ChangeInvalid({"name": "is required"})
    if value and (problem := parameter_problem(name, value)):
        raise ChangeInvalid({"value": problem})
    with transaction.atomic():
        stored = ServerParameter.objects.filter(name=name).first()
        before = {"value": stored.value} if stored else None
        if value:
            ServerParameter.objects.update_or_create(name=name, defaults={"value": value})
        else:
            ServerParameter.objects.filter(name=name).delete()
        after = {"value": value} if value else None
        record(actor, "server parameter", name, "changed" if before and after else
               ("created" if after else "deleted"), before, after)
        forget_parameters()  # this process reads the new value at once; others within seconds
        transaction.on_commit(forget_parameters)
