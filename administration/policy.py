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
    roles: frozenset[str]
    security_specifications: frozenset[str]
    is_admin: bool

    def has_license(self, license_name: str) -> bool:
        return license_rank(self.license) >= license_rank(license_name)

    def has_right(self, right: str) -> bool:
        return right in self.rights


def principal_for(user: User) -> Principal:
    """The user's effective license, rights and security specifications (cached on the user)."""
    cached = getattr(user, "_ipa_principal", None)
    if cached is not None:
        return cached
    rights = set(user.rights or [])
    workgroup_names, role_names = set(), set()
    # One row per (workgroup, role) pair: users have few of each, and it saves a query per request.
    memberships = User.objects.filter(pk=user.pk).values_list(
        "workgroups__name", "workgroups__rights", "roles__name", "roles__rights"
    )
    for workgroup, workgroup_rights, role, role_rights in memberships:
        if workgroup:
            workgroup_names.add(workgroup)
            rights.update(workgroup_rights or [])
        if role:
            role_names.add(role)
            rights.update(role_rights or [])
    specs = SecuritySpecification.objects.filter(
        Q(users=user) | Q(workgroups__members=user) | Q(roles__members=user)
    ).values_list("name", flat=True).distinct()
    principal = Principal(
        user_id=user.pk,
        username=user.username,
        license=user.license,
        rights=frozenset(r for r in rights if r in RIGHTS),
        workgroups=frozenset(workgroup_names),
        roles=frozenset(role_names),
        security_specifications=frozenset(specs),
        is_admin=user.is_superuser,
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


# --------------------------------------------------------------------------- rights


def can_launch(user: User) -> bool:
    return principal_for(user).has_right("launch")


def require_launch(user: User) -> None:
    if not can_launch(user):
        raise NotAllowed("Launching processes needs the Launch Process right.")


def require_test_launch(user: User) -> None:
    require_license(user, "process_designer", "Launching a draft as a test process")


def require_designer(user: User) -> None:
    require_license(user, "process_designer", "Importing and publishing process definitions")


def can_view_all_instances(user: User) -> bool:
    return principal_for(user).has_right("view")


def can_view_instance(user: User, started_by_id: int | None) -> bool:
    """View right, or the originator's implied view right (the seed)."""
    return can_view_all_instances(user) or started_by_id == user.pk


def require_view_instance(user: User, started_by_id: int | None) -> None:
    if not can_view_instance(user, started_by_id):
        raise NotVisible("No such instance.")


def can_manage(user: User) -> bool:
    return principal_for(user).has_right("manage")


def may_set_substitute_for(actor: User, agent: User) -> bool:
    """An agent names their own substitute; a supervisor (Manage right) may do it for anyone."""
    return actor.pk == agent.pk or can_manage(actor)


def may_substitute(user: User) -> bool:
    """A substitute receives the direct-routed items of the person away: their license must allow it."""
    return user.is_active and has_license(user, "direct_routed")


def require_manage(user: User) -> None:
    if not can_manage(user):
        raise NotAllowed("Managing instances (cancel, retry, skip) needs the Manage Process right.")


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
