"""The access rights page: who holds each right (users, workgroups, roles), for all processes or
for some. Rights are given on each holder's own page, chosen from the three, never typed."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from administration.models import RIGHTS, Role, User, Workgroup
from administration.policy import scope_text
from administration.views import RIGHT_LABELS, admin_page, render_admin


def _holders() -> list[tuple[str, str, str, list]]:
    """(kind, page, name, rights) of every user, workgroup and role holding a right."""
    found = [("user", "administration:user", u.username, u.rights)
             for u in User.objects.order_by("username").only("username", "rights")]
    found += [("workgroup", "administration:workgroup", g.name, g.rights) for g in Workgroup.objects.order_by("name")]
    found += [("role", "administration:role", r.name, r.rights) for r in Role.objects.order_by("name")]
    return [holder for holder in found if holder[3]]


def rights_table() -> list[dict[str, Any]]:
    """Per right: for all processes, then each scope it is given for, with who holds it there."""
    table: dict[str, dict[str, list[dict[str, str]]]] = {right: {} for right in RIGHTS}
    for kind, page, name, rights in _holders():
        for right in rights:
            key = right if isinstance(right, str) else right.get("right")
            if key in table:
                table[key].setdefault(scope_text(right), []).append({"kind": kind, "page": page, "name": name})
    return [{"right": right, "label": RIGHT_LABELS[right],
             "scopes": sorted(table[right].items(), key=lambda item: (item[0] != "all processes", item[0]))}
            for right in RIGHTS]


@admin_page
def access_rights(request: HttpRequest) -> HttpResponse:
    return render_admin(request, "access_rights.html", {"rights": rights_table()}, "access_rights")
