"""The data sources page: the named databases of ``database`` actions, with a connection test."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from administration import services
from administration.models import DataSource
from administration.views import admin_page, render_admin
from processes.external.database import connection_problem


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
    return render_admin(request, "data_sources.html", {"rows": rows, "errors": errors,
                                                  "typed": {"name": request.POST.get("name", "")}},
                   "data_sources", status)
