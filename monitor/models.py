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
