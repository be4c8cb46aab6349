"""The certification authorities page: the CAs trusted for HTTPS web services, added, replaced and deleted."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from administration import services
from administration.authorities import delete_certificate_authority, save_certificate_authority
from administration.models import CertificateAuthority
from administration.views import admin_page, render_admin


@admin_page
def certificate_authorities(request: HttpRequest) -> HttpResponse:
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST" and request.POST.get("delete"):
        delete_certificate_authority(request.user, request.POST["delete"])
        messages.success(request, f"Certification authority {request.POST['delete']} deleted.")
        return redirect("administration:certificate_authorities")
    if request.method == "POST":
        try:
            authority = save_certificate_authority(request.user, request.POST.get("name", ""),
                                                   request.POST.get("certificate", ""))
        except services.ChangeInvalid as exc:
            errors, status = exc.errors, 400
        else:
            messages.success(request, f"Certification authority {authority.name} saved.")
            return redirect("administration:certificate_authorities")
    return render_admin(request, "certificate_authorities.html", {
        "authorities": CertificateAuthority.objects.order_by("name"), "errors": errors,
        "typed": {"name": request.POST.get("name", ""), "certificate": request.POST.get("certificate", "")},
    }, "certificate_authorities", status)
