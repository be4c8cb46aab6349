"""The administration pages: users, licenses, workgroups, roles, skills, security specifications,
server parameters, for administrators (the audit trail, data sources and process
definitions have modules of their own beside this one).

Views only read forms into directory entries and call ``administration.services``, where the
rules are (the same ones ``import_directory`` applies); rights are chosen from the three
known rights, never typed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from administration import policy, services
from administration.models import (
    LICENSE_CHOICES,
    RIGHTS,
    LicenseAllocation,
    Role,
    SecuritySpecification,
    ServerParameter,
    Skill,
    User,
    Workgroup,
)
from administration.parameters import PARAMETERS
from ipa_portal.pages import page
from processes.services.definitions import security_usage

RIGHT_LABELS = {"launch": "Launch Process", "view": "View Process", "manage": "Manage Process"}


def admin_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page for administrators only (others get the "refused" page)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        policy.require_administrator(request.user)
        return view(request, *args, **kwargs)

    return page(wrapped)


def _rights_rows(chosen: list) -> list[dict[str, Any]]:
    """The three rights as form rows: given for all processes, or for some processes and categories."""
    from processes.models import ProcessDefinition

    names = set(ProcessDefinition.objects.values_list("name", flat=True).distinct())
    categories = set(ProcessDefinition.objects.exclude(category="").values_list("category", flat=True).distinct())
    scoped: dict[str, set[str]] = {right: set() for right in RIGHTS}
    for right in chosen or []:
        if isinstance(right, dict) and right.get("right") in scoped:
            scoped[right["right"]].update(f"process:{n}" for n in right.get("processes", []))
            scoped[right["right"]].update(f"category:{c}" for c in right.get("categories", []))
            names.update(right.get("processes", []))
            categories.update(right.get("categories", []))
    options = [(f"process:{n}", n) for n in sorted(names)] + [(f"category:{c}", f"category {c}")
                                                                 for c in sorted(categories)]
    return [{"value": right, "label": RIGHT_LABELS[right], "all": right in (chosen or []),
             "options": [{"value": v, "label": label, "checked": v in scoped[right]} for v, label in options]}
            for right in RIGHTS]


def _rights_from(post: Any) -> list:
    """The rights a form gave: a right for all processes, else one for the processes and categories ticked."""
    rights: list = [right for right in post.getlist("rights") if right]
    for right in RIGHTS:
        if right in rights:
            continue
        ticked = post.getlist(f"scope:{right}")
        processes = [v.split(":", 1)[1] for v in ticked if v.startswith("process:")]
        categories = [v.split(":", 1)[1] for v in ticked if v.startswith("category:")]
        if processes or categories:
            rights.append({"right": right, **({"processes": processes} if processes else {}),
                           **({"categories": categories} if categories else {})})
    return rights


def render_admin(request: HttpRequest, template: str, context: dict[str, Any], section: str,
            status: int = 200) -> HttpResponse:
    return render(request, f"administration/{template}", {
        "nav": "administration", "section": section,
        "rights_rows": _rights_rows(context["entry"].get("rights", [])) if "entry" in context else [],
        **context,
    }, status=status)


@admin_page
def index(request: HttpRequest) -> HttpResponse:
    return redirect("administration:users")


# ----------------------------------------------------------------------------- users


@admin_page
def user_list(request: HttpRequest) -> HttpResponse:
    users = User.objects.order_by("username").prefetch_related("workgroups", "roles")
    return render_admin(request, "users.html", {"users": users}, "users")


def _user_entry_from(post: Any, username: str) -> dict[str, Any]:
    skills = {}
    for skill in Skill.objects.values_list("name", flat=True):
        level = post.get(f"skill:{skill}", "").strip()
        if level:
            skills[skill] = int(level) if level.isdigit() else level
    entry = {
        "username": username,
        "first_name": post.get("first_name", "").strip(),
        "last_name": post.get("last_name", "").strip(),
        "email": post.get("email", "").strip(),
        "license": post.get("license", ""),
        "rights": _rights_from(post),
        "workgroups": post.getlist("workgroups"),
        "roles": post.getlist("roles"),
        "skills": skills,
        "is_admin": post.get("is_admin") == "on",
        "is_active": post.get("is_active") == "on",
    }
    if post.get("password"):
        entry["password"] = post["password"]
    return entry


def _user_form(request: HttpRequest, entry: dict, *, create: bool, errors: dict[str, str] | None = None,
               status: int = 200) -> HttpResponse:
    user = None if create else User.objects.filter(username=entry["username"]).first()
    skill_levels = entry.get("skills", {})
    return render_admin(request, "user_form.html", {
        "create": create, "entry": entry, "errors": errors or {},
        "licenses": LICENSE_CHOICES, "seats": _license_rows(),
        "all_workgroups": Workgroup.objects.values_list("name", flat=True),
        "all_roles": Role.objects.values_list("name", flat=True),
        "all_skills": [(s, skill_levels.get(s, "")) for s in Skill.objects.values_list("name", flat=True)],
        "effective": policy.rights_with_sources(user) if user else [],
        "skill_errors": {k.split(".", 1)[1]: v for k, v in (errors or {}).items() if k.startswith("skills.")},
    }, "users", status)


@admin_page
def user_new(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _user_form(request, {"username": "", "is_active": True, "rights": [], "skills": {}}, create=True)
    entry = _user_entry_from(request.POST, request.POST.get("username", "").strip())
    try:
        services.save_user(request.user, entry, create=True)
    except services.ChangeInvalid as exc:
        return _user_form(request, entry, create=True, errors=exc.errors, status=400)
    messages.success(request, f"User {entry['username']} created.")
    return redirect("administration:user", username=entry["username"])


@admin_page
def user_edit(request: HttpRequest, username: str) -> HttpResponse:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise Http404("No such user.")
    if request.method != "POST":
        return _user_form(request, services.user_entry(user), create=False)
    entry = _user_entry_from(request.POST, username)
    try:
        services.save_user(request.user, entry)
    except services.ChangeInvalid as exc:
        return _user_form(request, entry, create=False, errors=exc.errors, status=400)
    messages.success(request, f"User {username} saved.")
    return redirect("administration:user", username=username)


# -------------------------------------------------------------------------- licenses


def _license_rows() -> list[dict[str, Any]]:
    seats = dict(LicenseAllocation.objects.values_list("license", "seats"))
    rows = []
    for license_name, label in LICENSE_CHOICES:
        holders = list(User.objects.filter(license=license_name, is_active=True)
                       .order_by("username").values_list("username", flat=True))
        total = seats.get(license_name)
        rows.append({"license": license_name, "label": label, "seats": total, "holders": holders,
                     "used": len(holders), "free": None if total is None else max(0, total - len(holders))})
    return rows


@admin_page
def licenses(request: HttpRequest) -> HttpResponse:
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        license_name = request.POST.get("license", "")
        text = request.POST.get("seats", "").strip()
        try:
            services.set_license_seats(request.user, license_name, int(text) if text.isdigit() else text)
        except services.ChangeInvalid as exc:
            errors = {license_name: " ".join(exc.errors.values())}
            status = 400
        else:
            messages.success(request, f"Seats of {dict(LICENSE_CHOICES)[license_name]} saved.")
            return redirect("administration:licenses")
    return render_admin(request, "licenses.html", {"rows": _license_rows(), "errors": errors}, "licenses", status)


# ------------------------------------------------- workgroups, roles, specifications


KINDS: dict[str, dict[str, Any]] = {
    "workgroup": {"model": Workgroup, "save": services.save_workgroup, "entry": services.workgroup_entry,
                  "title": "Workgroups", "url": "administration:workgroups", "one": "administration:workgroup"},
    "role": {"model": Role, "save": services.save_role, "entry": services.role_entry,
             "title": "Roles", "url": "administration:roles", "one": "administration:role"},
    "security specification": {"model": SecuritySpecification, "save": services.save_specification,
                               "entry": services.specification_entry, "title": "Security specifications",
                               "url": "administration:specifications", "one": "administration:specification"},
}


def _named_entry_from(post: Any, kind: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": post.get("name", "").strip()}
    if kind in ("workgroup", "role"):
        entry["rights"] = _rights_from(post)
    if kind == "workgroup":
        entry["skills"] = post.getlist("skills")
    if kind == "security specification":
        entry.update(users=post.getlist("users"), workgroups=post.getlist("workgroups"), roles=post.getlist("roles"))
    return entry


def _named_form(request: HttpRequest, kind: str, entry: dict, original: str | None,
                errors: dict[str, str] | None = None, status: int = 200) -> HttpResponse:
    spec = KINDS[kind]
    context: dict[str, Any] = {"kind": kind, "title": spec["title"], "entry": entry, "original": original,
                               "errors": errors or {}, "list_url": reverse(spec["url"])}
    if kind == "workgroup":
        context["all_skills"] = Skill.objects.values_list("name", flat=True)
    if kind == "security specification":
        context.update(all_users=User.objects.order_by("username").values_list("username", flat=True),
                       all_workgroups=Workgroup.objects.values_list("name", flat=True),
                       all_roles=Role.objects.values_list("name", flat=True),
                       usage=security_usage().get(original or "", []))
    if original and kind in ("workgroup", "role"):
        context["members"] = spec["model"].objects.get(name=original).members.order_by("username")
    return render_admin(request, "named_form.html", context, spec["url"].split(":")[1], status)


@admin_page
def named_list(request: HttpRequest, kind: str) -> HttpResponse:
    """The workgroups, roles or security specifications (``kind`` comes from the URL)."""
    spec = KINDS[kind]
    if request.method == "POST":
        return _named_save(request, kind, None)
    rows = [spec["entry"](record) for record in spec["model"].objects.order_by("name")]
    usage = security_usage() if kind == "security specification" else {}
    for row in rows:
        row["usage"] = usage.get(row["name"], [])
    return render_admin(request, "named_list.html", {"kind": kind, "title": spec["title"], "rows": rows,
                                                 "one": spec["one"]}, spec["url"].split(":")[1])


def _named_save(request: HttpRequest, kind: str, original: str | None) -> HttpResponse:
    spec = KINDS[kind]
    entry = _named_entry_from(request.POST, kind)
    try:
        saved = spec["save"](request.user, entry, original)
    except services.ChangeInvalid as exc:
        return _named_form(request, kind, entry, original, exc.errors, status=400)
    messages.success(request, f"{kind.capitalize()} {saved.name} saved.")
    return redirect(spec["one"], name=saved.name)


@admin_page
def named_one(request: HttpRequest, kind: str, name: str) -> HttpResponse:
    spec = KINDS[kind]
    record = spec["model"].objects.filter(name=name).first()
    if record is None:
        raise Http404(f"No such {kind}.")
    if request.method == "POST" and request.POST.get("delete"):
        services.delete_named(request.user, kind, name)
        messages.success(request, f"{kind.capitalize()} {name} deleted.")
        return redirect(spec["url"])
    if request.method == "POST":
        return _named_save(request, kind, name)
    return _named_form(request, kind, spec["entry"](record), name)


@admin_page
def named_new(request: HttpRequest, kind: str) -> HttpResponse:
    if request.method == "POST":
        return _named_save(request, kind, None)
    return _named_form(request, kind, {"name": "", "rights": [], "skills": [], "users": [], "workgroups": [],
                                       "roles": []}, None)


# ---------------------------------------------------------------------------- skills


@admin_page
def skills(request: HttpRequest) -> HttpResponse:
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST" and request.POST.get("delete"):
        services.delete_named(request.user, "skill", request.POST["delete"])
        messages.success(request, f"Skill {request.POST['delete']} deleted.")
        return redirect("administration:skills")
    if request.method == "POST":
        try:
            skill = services.save_skill(request.user, request.POST.get("name", ""))
        except services.ChangeInvalid as exc:
            errors, status = exc.errors, 400
        else:
            messages.success(request, f"Skill {skill.name} added.")
            return redirect("administration:skills")
    rows = [{"name": s.name, "workgroups": [g.name for g in s.workgroups.all()],
             "agents": [(level.user.username, level.level) for level in s.user_levels.select_related("user")]}
            for s in Skill.objects.prefetch_related("workgroups", "user_levels")]
    return render_admin(request, "skills.html", {"rows": rows, "errors": errors, "typed": request.POST.get("name", "")},
                   "skills", status)


# ------------------------------------------------------------------ server parameters


@admin_page
def parameters(request: HttpRequest) -> HttpResponse:
    errors: dict[str, str] = {}
    status = 200
    typed: dict[str, str] = {}
    if request.method == "POST":
        name, value = request.POST.get("name", ""), request.POST.get("value", "")
        try:
            services.set_server_parameter(request.user, name, value)
        except services.ChangeInvalid as exc:
            errors, status, typed = {name: " ".join(exc.errors.values())}, 400, {name: value}
        else:
            messages.success(request, f"{name} saved; it applies within seconds, without a restart.")
            return redirect("administration:parameters")
    stored = dict(ServerParameter.objects.values_list("name", "value"))
    rows = [{"name": p.name, "value": typed.get(p.name, stored.get(p.name, "")), "default": p.default,
             "rule": p.rule, "explanation": p.explanation, "error": errors.get(p.name)}
            for p in PARAMETERS.values()]
    others = [{"name": n, "value": v} for n, v in sorted(stored.items()) if n not in PARAMETERS]
    return render_admin(request, "parameters.html", {"rows": rows, "others": others}, "parameters", status)
