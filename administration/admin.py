"""Django's /admin/ for superusers, held to the same rules as the administration pages.

Rights are chosen from the three known ones, license seats and parameter rules are
checked by ``administration.services`` / ``parameters``, and changes are recorded in the
audit trail. The portal's own pages (/administration/) are the place to work; this stays
for superusers who know Django's admin.
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm
from rest_framework.authtoken.admin import TokenAdmin as BaseTokenAdmin
from rest_framework.authtoken.models import TokenProxy

from . import models, services
from .models import (
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
from .parameters import parameter_problem

RIGHT_CHOICES = [(right, right) for right in RIGHTS]


def rights_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        choices=RIGHT_CHOICES, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="For all processes. Rights for some processes are given on the portal's administration "
                  "pages; saving here keeps them.")


class RightsKept:
    """Django's admin ticks rights for all processes only; the rights held for some processes are kept."""

    instance: Any

    def keep_scoped_rights(self, data: dict[str, Any]) -> None:
        if "rights" in data:
            data["rights"] = [*data["rights"], *(r for r in self.instance.rights or [] if isinstance(r, dict))]


class UserForm(RightsKept, UserChangeForm):
    rights = rights_field()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self.keep_scoped_rights(data)
        license_name = data.get("license")
        if license_name and data.get("is_active", True):
            holder = User(pk=self.instance.pk, username=data.get("username") or self.instance.username)
            if problem := services.seat_problem(license_name, holder=holder):
                self.add_error("license", problem)
        return data


class UserSkillInline(admin.TabularInline):
    model = UserSkill
    extra = 0


class AuditedAdmin(admin.ModelAdmin):
    """Records each change in the audit trail (the same trail the administration pages write)."""

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        services.record(request.user, obj._meta.verbose_name, str(obj), "changed" if change else "created",
                        None, {k: str(v) for k, v in form.cleaned_data.items() if k != "password"})

    def delete_model(self, request: Any, obj: Any) -> None:
        services.record(request.user, obj._meta.verbose_name, str(obj), "deleted", None, None)
        super().delete_model(request, obj)


@admin.register(User)
class UserAdmin(BaseUserAdmin, AuditedAdmin):
    form = UserForm
    inlines = [UserSkillInline]
    list_display = ["username", "first_name", "last_name", "license", "presence", "is_superuser"]
    list_filter = ["license", "presence", "is_superuser"]
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        ("Process automation", {"fields": ["license", "rights", "workgroups", "roles", "presence"]}),
    ]


class RightsForm(RightsKept, forms.ModelForm):
    rights = rights_field()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self.keep_scoped_rights(data)
        return data


@admin.register(Workgroup, Role)
class RightsHolderAdmin(AuditedAdmin):
    form = RightsForm


class LicenseAllocationForm(forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        data = super().clean()
        license_name, seats = data.get("license"), data.get("seats")
        if license_name and seats is not None and (problem := services.seat_problem(license_name, seats=seats)):
            self.add_error("seats", problem)
        return data


@admin.register(LicenseAllocation)
class LicenseAllocationAdmin(AuditedAdmin):
    form = LicenseAllocationForm


class ServerParameterForm(forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("name") and (problem := parameter_problem(data["name"], data.get("value") or "")):
            self.add_error("value", problem)
        return data


@admin.register(ServerParameter)
class ServerParameterAdmin(AuditedAdmin):
    form = ServerParameterForm


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read only: the trail is never edited."""

    list_display = ["at", "actor_name", "action", "kind", "target"]
    list_filter = ["kind", "action"]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


admin.site.register([Skill, SecuritySpecification, DataSource], AuditedAdmin)
admin.site.register(models.CertificateAuthority, AuditedAdmin)  # the CA bundle of HTTPS web services


# API tokens: the stock page lists every key in clear. Here a token is listed by its user
# and age only, and an administrator revokes one by deleting it (the user logs in again).
admin.site.unregister(TokenProxy)


@admin.register(TokenProxy)
class TokenAdmin(BaseTokenAdmin):
    list_display = ["user", "created"]
    fields = ["user"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False
