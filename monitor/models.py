"""The monitor's own table: the filters each supervisor saved (the seed: nothing is monitored
until a supervisor creates a filter)."""

from django.conf import settings
from django.db import models


class SavedFilter(models.Model):
    """A named filter of one user; its keys are those of ``monitor.filters``."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="monitor_filters")
    name = models.CharField(max_length=100)
    filter = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="unique_monitor_filter_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.user_id})"


class BulkJob(models.Model):
    """Cancel, retry or skip run on many instances, one transaction each (``monitor.bulk``).

    ``results`` holds one ``{"id", "ok", "detail"}`` per instance done, in order; the page and
    ``GET /api/jobs/{id}/`` read the row while the job runs.
    """

    STATUSES = [("running", "Running"), ("done", "Done")]

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bulk_jobs")
    action = models.CharField(max_length=20)
    instance_ids = models.JSONField(default=list)
    comment = models.CharField(max_length=400, blank=True)
    status = models.CharField(max_length=20, choices=STATUSES, default="running")
    results = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} x{len(self.instance_ids)} ({self.status})"

    def as_dict(self) -> dict:
        return {"id": self.pk, "action": self.action, "status": self.status, "total": len(self.instance_ids),
                "done": len(self.results), "results": self.results}
