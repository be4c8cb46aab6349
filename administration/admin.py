from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from rest_framework.authtoken.admin import TokenAdmin as BaseTokenAdmin
from rest_framework.authtoken.models import TokenProxy

from . import models
from .models import DataSource, LicenseAllocation, Role, SecuritySpecification, ServerParameter, Skill, User, Workgroup


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "license", "presence", "is_superuser"]
    list_filter = ["license", "presence", "is_superuser"]
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        ("Process automation", {"fields": ["license", "rights", "workgroups", "roles", "presence"]}),
    ]


admin.site.register([Workgroup, Role, Skill, LicenseAllocation, SecuritySpecification, ServerParameter, DataSource])
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
