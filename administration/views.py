"""The administration pages: users, licenses, workgroups, roles, skills, security specifications,
server parameters and the audit trail, for administrators.

Views only read forms into directory entries and call ``administration.services``, where the
rules are (the same ones ``import_directory`` applies); rights are chosen from the three
known rights, never typed.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_date

from administration import policy, services
from administration.models import (
    LICENSE_CHOICES,
    RIGHTS,
    AuditEntry,
    DataSource,
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
from processes.external.database import connection_problem
from processes.services.definitions import security_usage

RIGHT_LABELS = {"launch": "Launch Process", "view": "View Process", "manage": "Manage Process"}
AUDIT_PAGE_SIZE = 50


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


def _render(request: HttpRequest, template: str, context: dict[str, Any], section: str,
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
    return _render(request, "users.html", {"users": users}, "users")


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
    return _render(request, "user_form.html", {
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
    return _render(request, "licenses.html", {"rows": _license_rows(), "errors": errors}, "licenses", status)


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
    return _render(request, "named_form.html", context, spec["url"].split(":")[1], status)


def _named_list(request: HttpRequest, kind: str) -> HttpResponse:
    spec = KINDS[kind]
    if request.method == "POST":
        return _named_save(request, kind, None)
    rows = [spec["entry"](record) for record in spec["model"].objects.order_by("name")]
    usage = security_usage() if kind == "security specification" else {}
    for row in rows:
        row["usage"] = usage.get(row["name"], [])
    return _render(request, "named_list.html", {"kind": kind, "title": spec["title"], "rows": rows,
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


def _named_one(request: HttpRequest, kind: str, name: str) -> HttpResponse:
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
def workgroups(request: HttpRequest) -> HttpResponse:
    return _named_list(request, "workgroup")


@admin_page
def workgroup(request: HttpRequest, name: str) -> HttpResponse:
    return _named_one(request, "workgroup", name)


@admin_page
def roles(request: HttpRequest) -> HttpResponse:
    return _named_list(request, "role")


@admin_page
def role(request: HttpRequest, name: str) -> HttpResponse:
    return _named_one(request, "role", name)


@admin_page
def specifications(request: HttpRequest) -> HttpResponse:
    return _named_list(request, "security specification")


@admin_page
def specification(request: HttpRequest, name: str) -> HttpResponse:
    return _named_one(request, "security specification", name)


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
    return _render(request, "skills.html", {"rows": rows, "errors": errors, "typed": request.POST.get("name", "")},
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
    return _render(request, "parameters.html", {"rows": rows, "others": others}, "parameters", status)


# ---------------------------------------------------------------------- audit trail


def _date(text: str | None) -> Any:
    try:
        return parse_date(text or "")
    except ValueError:
        return None


def _audit_entries(query: Any) -> Any:
    entries = AuditEntry.objects.all()
    if query.get("kind"):
        entries = entries.filter(kind=query["kind"])
    if query.get("actor"):
        entries = entries.filter(actor_name=query["actor"])
    if query.get("target"):
        entries = entries.filter(target__icontains=query["target"])
    if after := _date(query.get("after")):
        entries = entries.filter(at__date__gte=after)
    if before := _date(query.get("before")):
        entries = entries.filter(at__date__lte=before)
    return entries


class _Echo:
    def write(self, value: str) -> str:
        return value


@admin_page
def audit(request: HttpRequest) -> HttpResponse:
    entries = _audit_entries(request.GET)
    if request.GET.get("format") == "csv":
        writer = csv.writer(_Echo())
        header = ["at", "by", "action", "kind", "target", "before", "after"]
        rows = ([e.at.isoformat(), e.actor_name, e.action, e.kind, e.target, json.dumps(e.before),
                 json.dumps(e.after)] for e in entries.iterator())
        response = StreamingHttpResponse((writer.writerow(r) for r in itertools.chain([header], rows)),
                                         content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="audit.csv"'
        return response
    query = request.GET.copy()
    query.pop("page", None)
    return _render(request, "audit.html", {
        "entries": Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page")),
        "filters": request.GET, "query": query.urlencode(),
        "kinds": AuditEntry.objects.order_by("kind").values_list("kind", flat=True).distinct(),
    }, "audit")


# ---------------------------------------------------------------------- data sources


@admin_page
def data_sources(request: HttpRequest) -> HttpResponse:
    errors: dict[str, str] = {}
    status = 200
    tested: dict[str, str | None] = {}
    if request.method == "POST" and request.POST.get("delete"):
        services.delete_data_source(request.user, request.POST["delete"])
        messages.success(request, f"Data source {request.POST['delete']} deleted.")
        return redirect("administration:data_sources")
    if request.method == "POST" and request.POST.get("test"):
        source = DataSource.objects.filter(name=request.POST["test"]).first()
        if source is not None:
            tested[source.name] = connection_problem(source.name, source.url) or ""
    elif request.method == "POST":
        try:
            source = services.save_data_source(request.user, request.POST.get("name", ""), request.POST.get("url", ""))
        except services.ChangeInvalid as exc:
            errors, status = exc.errors, 400
        else:
            messages.success(request, f"Data source {source.name} saved.")
            return redirect("administration:data_sources")
    rows = [{"name": s.name, "url": services.url_without_password(s.url), "tested": s.name in tested,
             "problem": tested.get(s.name)} for s in DataSource.objects.order_by("name")]
    return _render(request, "data_sources.html", {"rows": rows, "errors": errors,
                                                  "typed": {"name": request.POST.get("name", "")}},
                   "data_sources", status)
