"""Django's admin for definitions and instances.

An instance's execution state holds every variable's value, protected or not, so the
admin never shows it: the instance page shows what the policy lets the administrator
see of the globals, read-only. Instances change only through the engine's verbs
(cancel, retry, skip, move), never by editing the row here.
"""

import json

from django.contrib import admin
from django.utils.html import format_html

from .models import ProcessDefinition, ProcessInstance
from .services import instances


@admin.register(ProcessDefinition)
class ProcessDefinitionAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "published", "imported_at"]
    list_filter = ["published"]
    readonly_fields = ["name", "version", "document"]  # a stored version never changes: import a new one


@admin.register(ProcessInstance)
class ProcessInstanceAdmin(admin.ModelAdmin):
    list_display = ["id", "process_name", "status", "current_state", "waiting_on", "started_at"]
    list_filter = ["status", "process_name"]
    exclude = ["execution"]
    readonly_fields = ["definition", "process_name", "status", "current_state", "waiting_on", "waiting_detail",
                       "error", "started_by", "initiator", "started_at", "ended_at", "is_test", "parent",
                       "parent_token", "depth", "owner", "variables_you_may_see", "locals_you_may_see"]

    def get_object(self, request, object_id, from_field=None):
        instance = super().get_object(request, object_id, from_field)
        if instance is not None:
            instance.admin_viewer = request.user  # who the read-only variables are shown to
        return instance

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # read-only: the engine's verbs change instances, never a raw edit

    @admin.display(description="Variables (those you may see)")
    def variables_you_may_see(self, instance: ProcessInstance) -> str:
        viewer = getattr(instance, "admin_viewer", None)
        if viewer is None:
            return "—"
        return shown_json(instances.instance_variables(viewer, instance))

    @admin.display(description="State and task locals (those you may see)")
    def locals_you_may_see(self, instance: ProcessInstance) -> str:
        viewer = getattr(instance, "admin_viewer", None)
        if viewer is None:
            return "—"
        return shown_json(dict(instances.instance_locals(viewer, instance)))


def shown_json(values: dict) -> str:
    return format_html("<pre>{}</pre>", json.dumps(values, indent=2, ensure_ascii=False))
