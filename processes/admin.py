from django.contrib import admin

from .models import ProcessDefinition, ProcessInstance


@admin.register(ProcessDefinition)
class ProcessDefinitionAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "published", "imported_at"]
    list_filter = ["published"]
    readonly_fields = ["name", "version", "document"]  # a stored version never changes: import a new one


@admin.register(ProcessInstance)
class ProcessInstanceAdmin(admin.ModelAdmin):
    list_display = ["id", "process_name", "status", "current_state", "waiting_on", "started_at"]
    list_filter = ["status", "process_name"]
    readonly_fields = ["execution"]
