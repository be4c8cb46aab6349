"""The one place that decides who may do what and see which data.

Every exit of the server (REST, WebSocket pushes, pages, monitor rows, exports, logs)
asks this module; nothing else checks licenses, rights or security specifications.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from .models import LICENSES, RIGHTS, SecuritySpecification, User, license_rank


class NotAllowed(Exception):
    """The caller lacks a right or a license (HTTP 403)."""


class NotVisible(Exception):
    """The caller may not see the thing, so for them it does not exist (HTTP 404)."""


@dataclass(frozen=True)
class Principal:
    """What a user may do, loaded once per request (or per WebSocket connection)."""

    user_id: int
    username: str
    license: str
    rights: frozenset[str]
    workgroups: frozenset[str]
    workgroup_ids: frozenset[int]
    roles: frozenset[str]
    security_specifications: frozenset[str]
    is_admin: bool
    # Rights given for named processes or categories only: (right, processes, categories).
    scoped_rights: tuple[tuple[str, frozenset[str], frozenset[str]], ...] = ()

    def has_license(self, license_name: str) -> bool:
        return license_rank(self.license) >= license_rank(license_name)

    def has_right(self, right: str) -> bool:
        """The right for all processes."""
        return right in self.rights

    def has_right_anywhere(self, right: str) -> bool:
        """The right for all processes or for some."""
        return right in self.rights or any(r == right for r, _, _ in self.scoped_rights)

    def has_right_for(self, right: str, process: str | None, category: str | None) -> bool:
        """The right for this process (by its name or its category)."""
        return right in self.rights or any(
            r == right and (process in processes or (bool(category) and category in categories))
            for r, processes, categories in self.scoped_rights)

    def scope_q(self, right: str, name_field: str, category_field: str) -> Q:
        """The processes the right covers, as a filter (everything: ``Q()``; nothing: an empty ``pk__in``)."""
        if right in self.rights:
            return Q()
        covered = Q(pk__in=[])
        for r, processes, categories in self.scoped_rights:
            if r == right:
                covered |= Q(**{f"{name_field}__in": processes}) | Q(**{f"{category_field}__in": categories})
        return covered


def _add_rights(rights: set[str], scoped: set[tuple[str, frozenset[str], frozenset[str]]], given: Any) -> None:
    """Sort a stored rights list into rights for all processes and rights for some (unknown ones dropped)."""
    for right in given or []:
        if isinstance(right, str):
            if right in RIGHTS:
                rights.add(right)
        elif isinstance(right, dict) and right.get("right") in RIGHTS:
            scoped.add((right["right"], frozenset(right.get("processes") or ()),
                        frozenset(right.get("categories") or ())))


def principal_for(user: User) -> Principal:
    """The user's effective license, rights and security specifications (cached on the user)."""
    cached = getattr(user, "_ipa_principal", None)
    if cached is not None:
        return cached
    rights: set[str] = set()
    scoped: set[tuple[str, frozenset[str], frozenset[str]]] = set()
    _add_rights(rights, scoped, user.rights)
    workgroup_names: set[str] = set()
    workgroup_ids: set[int] = set()
    role_names: set[str] = set()
    # One row per (workgroup, role) pair: users have few of each, and it saves a query per request.
    memberships = User.objects.filter(pk=user.pk).values_list(
        "workgroups__id", "workgroups__name", "workgroups__rights", "roles__name", "roles__rights"
    )
    for workgroup_id, workgroup, workgroup_rights, role, role_rights in memberships:
        if workgroup:
            workgroup_ids.add(workgroup_id)
            workgroup_names.add(workgroup)
            _add_rights(rights, scoped, workgroup_rights)
        if role:
            role_names.add(role)
            _add_rights(rights, scoped, role_rights)
    specs = SecuritySpecification.objects.filter(
        Q(users=user) | Q(workgroups__members=user) | Q(roles__members=user)
    ).values_list("name", flat=True).distinct()
    principal = Principal(
        user_id=user.pk,
        username=user.username,
        license=user.license,
        rights=frozenset(rights),
        workgroups=frozenset(workgroup_names),
        workgroup_ids=frozenset(workgroup_ids),
        roles=frozenset(role_names),
        security_specifications=frozenset(specs),
        is_admin=user.is_superuser,
        scoped_rights=tuple(sorted(scoped, key=lambda r: (r[0], sorted(r[1]), sorted(r[2])))),
    )
    user._ipa_principal = principal
    return principal


# ------------------------------------------------------------------------- licenses


def has_license(user: User, license_name: str) -> bool:
    """Licenses are cumulative (the seed): a higher one includes every lower one."""
    return license_covers(user.license, license_name)


def license_covers(held: str, license_name: str) -> bool:
    """Whether holding the license ``held`` includes ``license_name`` (for a user read as columns)."""
    return license_rank(held) >= license_rank(license_name)


def require_license(user: User, license_name: str, purpose: str) -> None:
    if not has_license(user, license_name):
        raise NotAllowed(f"{purpose} needs the {license_name.replace('_', ' ')} license or higher.")


def licenses_covering(license_name: str) -> tuple[str, ...]:
    """The licenses that include ``license_name``: itself and every higher one."""
    return LICENSES[LICENSES.index(license_name):]


def may_receive_work_items(user: User) -> bool:
    """Any license (Direct Routed or higher) lets a user receive work items and open their socket."""
    return has_license(user, "direct_routed")


def require_any_license(user: User) -> None:
    if not may_receive_work_items(user):
        raise NotAllowed("Work items need a license; ask an administrator to assign one.")


def work_item_receivers() -> QuerySet[User]:
    """Active users who may be sent or handed a work item (for user pickers)."""
    return User.objects.filter(is_active=True, license__in=licenses_covering("direct_routed"))


def may_take_group_work(user: User) -> bool:
    """The ACD offers a workgroup's items only to holders of the Group Routed license or higher."""
    return has_license(user, "group_routed")


def may_take_group_work_q(prefix: str = "") -> Q:
    """``may_take_group_work`` as a filter on users (``prefix``: the path to the user, as ``"user__"``)."""
    return Q(**{f"{prefix}license__in": licenses_covering("group_routed")})


def may_take_from_queue(user: User, workgroup_id: int) -> bool:
    """Whether the user may see and take a queued item of the workgroup ``workgroup_id``: a member
    of it who holds the Group Routed license (a direct-routed member is offered nothing from the
    queue, so the queue's items and their values are not hers to read either)."""
    principal = principal_for(user)
    return principal.has_license("group_routed") and workgroup_id in principal.workgroup_ids


# --------------------------------------------------------------------------- rights


def can_launch(user: User) -> bool:
    """The Launch right for all processes or for some (the Processes page then lists those)."""
    return principal_for(user).has_right_anywhere("launch")


def require_launch(user: User) -> None:
    if not can_launch(user):
        raise NotAllowed("Launching processes needs the Launch Process right.")


def can_launch_process(user: User, process: str, category: str | None) -> bool:
    return principal_for(user).has_right_for("launch", process, category)


def require_launch_process(user: User, process: str, category: str | None) -> None:
    if not can_launch_process(user, process, category):
        raise NotAllowed(f"Launching {process} needs the Launch Process right for it.")


def launchable_q(user: User) -> Q:
    """The process definitions the user may launch, as a filter on definitions."""
    return principal_for(user).scope_q("launch", "name", "category")


def require_test_launch(user: User) -> None:
    require_license(user, "process_designer", "Launching a draft as a test process")


def require_designer(user: User) -> None:
    require_license(user, "process_designer", "Importing and publishing process definitions")


def can_view_all_instances(user: User) -> bool:
    """View right; the Manage right implies it (one sees the instances one may manage)."""
    principal = principal_for(user)
    return principal.has_right("view") or principal.has_right("manage")


def viewable_q(user: User, prefix: str = "") -> Q:
    """The instances the user may see, as a filter on instances: the processes of their View or Manage
    right (one sees what one may manage), and their own."""
    principal = principal_for(user)
    name, category = f"{prefix}process_name", f"{prefix}definition__category"
    return (principal.scope_q("view", name, category) | principal.scope_q("manage", name, category)
            | Q(**{f"{prefix}started_by": user.pk}))


def can_view_instance(user: User, started_by_id: int | None, process: str | None = None,
                      category: str | None = None) -> bool:
    """View or Manage right (for all processes, or for this one or its category: one sees what one may
    manage), or the originator's implied view right."""
    principal = principal_for(user)
    return (principal.has_right_for("view", process, category) or principal.has_right_for("manage", process, category)
            or started_by_id == user.pk)


def require_view_instance(user: User, started_by_id: int | None, process: str | None = None,
                          category: str | None = None) -> None:
    if not can_view_instance(user, started_by_id, process, category):
        raise NotVisible("No such instance.")


def can_manage(user: User, process: str | None = None, category: str | None = None) -> bool:
    """The Manage right for all processes (no process named) or for this process or its category."""
    principal = principal_for(user)
    return principal.has_right("manage") if process is None else principal.has_right_for("manage", process, category)


def can_manage_some(user: User) -> bool:
    """The Manage right for all processes or for some: the monitor then shows its repair controls."""
    return principal_for(user).has_right_anywhere("manage")


def manageable_q(user: User, prefix: str = "") -> Q:
    """The instances the user may manage, as a filter on instances (the Manage right's processes)."""
    return principal_for(user).scope_q("manage", f"{prefix}process_name", f"{prefix}definition__category")


def scoped_rights(user: User) -> list[dict[str, Any]]:
    """The rights the user holds for named processes or categories only, as ``GET /api/me/`` reports them."""
    return [{"right": right, "processes": sorted(processes), "categories": sorted(categories)}
            for right, processes, categories in principal_for(user).scoped_rights]


def may_set_substitute_for(actor: User, agent: User) -> bool:
    """An agent names their own substitute; a supervisor (Manage right) may do it for anyone."""
    return actor.pk == agent.pk or can_manage(actor)


def may_substitute(user: User) -> bool:
    """A substitute receives the direct-routed items of the person away: their license must allow it."""
    return user.is_active and has_license(user, "direct_routed")


def require_manage(user: User, process: str | None = None, category: str | None = None) -> None:
    if not can_manage(user, process, category):
        raise NotAllowed("Managing instances (cancel, retry, skip) needs the Manage Process right.")


def can_monitor(user: User) -> bool:
    """The Process Monitor license or higher opens the monitor (the seed's license table)."""
    return has_license(user, "process_monitor")


def require_monitor(user: User) -> None:
    if not can_monitor(user):
        raise NotAllowed("The Process Monitor needs the Process Monitor license or higher; "
                         "ask an administrator to assign one.")


# ------------------------------------------------------------- security specifications


def may_see(user: User, specification: str | None) -> bool:
    """Whether a value under ``specification`` (None: unprotected) may reach the user."""
    return not specification or specification in principal_for(user).security_specifications


def visible_values(user: User, values: Mapping[str, Any], specs: Mapping[str, dict]) -> dict[str, Any]:
    """``values`` without every value whose variable's specification the user is not on."""
    return {
        name: value
        for name, value in values.items()
        if may_see(user, (specs.get(name) or {}).get("security"))
    }


def refuse_protected_values(user: User, names: Iterable[str], specs: Mapping[str, dict]) -> None:
    """403 when the user sends a value for a variable whose specification they are not on.

    The message names no variable: naming it would tell the user it exists.
    """
    for name in names:
        if not may_see(user, (specs.get(name) or {}).get("security")):
            raise NotAllowed("You may not set one of the values sent.")


# ------------------------------------------------------------------- administration


def may_administer(user: User) -> bool:
    """Administrators (the directory's ``is_admin`` flag) configure users, licenses, rights and security."""
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def require_administrator(user: User) -> None:
    if not may_administer(user):
        raise NotAllowed("The administration pages are for administrators.")


def right_text(right: Any) -> str:
    """A stored right as a person reads it: ``launch``, or ``launch for Car Loan, category Loans``."""
    if isinstance(right, str):
        return right
    if isinstance(right, dict):
        return f"{right.get('right')} for {scope_text(right)}"
    return str(right)


def scope_text(right: Any) -> str:
    """What a stored right covers, as a person reads it: ``all processes``, or ``Car Loan, category Loans``."""
    if not isinstance(right, dict):
        return "all processes"
    return ", ".join([*right.get("processes", []), *(f"category {c}" for c in right.get("categories", []))])


def rights_with_sources(user: User) -> list[tuple[str, list[str]]]:
    """Each right the user effectively holds with where it comes from: own, workgroup X, role Y."""
    sources: dict[str, list[str]] = {}

    def add(given: Any, source: str) -> None:
        for right in given or []:
            name = right if isinstance(right, str) else right.get("right") if isinstance(right, dict) else None
            if name in RIGHTS:
                sources.setdefault(right_text(right), []).append(source)

    add(user.rights, "own")
    for group in user.workgroups.order_by("name"):
        add(group.rights, f"workgroup {group.name}")
    for role in user.roles.order_by("name"):
        add(role.rights, f"role {role.name}")
    order = {right: i for i, right in enumerate(RIGHTS)}
    return sorted(sources.items(), key=lambda item: (order.get(item[0].split(" ")[0], 9), item[0]))
