from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from rest_framework.authtoken.admin import TokenAdmin as BaseTokenAdmin
from rest_framework.authtoken.models import TokenProxy

from . import models
from .models import DataSource, LicenseAllocation, Role, SecuritySpecification, ServerParameter, Skill, User, Workgroup
from .parameters import parameter_problem


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "license", "presence", "is_superuser"]
    list_filter = ["license", "presence", "is_superuser"]
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        ("Process automation", {"fields": ["license", "rights", "workgroups", "roles", "presence"]}),
    ]


class ServerParameterForm(forms.ModelForm):
    class Meta:
        model = ServerParameter
        fields = ["name", "value"]

    def clean(self):
        cleaned = super().clean()
        if problem := parameter_problem(cleaned.get("name") or "", cleaned.get("value") or ""):
            raise forms.ValidationError(problem)
        return cleaned


@admin.register(ServerParameter)
class ServerParameterAdmin(admin.ModelAdmin):
    form = ServerParameterForm
    list_display = ["name", "value"]


admin.site.register([Workgroup, Role, Skill, LicenseAllocation, SecuritySpecification, DataSource])
admin.site.register(models.CertificateAuthority)  # the CA bundle of HTTPS web services, applied on the next call


# API tokens: the stock page lists every key in clear. Here a token is listed by its user
# and age only, and an administrator revokes one by deleting it (the user logs in again).
admin.site.unregister(TokenProxy)


@admin.register(TokenProxy)
class TokenAdmin(BaseTokenAdmin):
    list_display = ["user", "created"]
    fields = ["user"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False
