from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

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
