"""Work items: the forms that processes send to people."""

from django.conf import settings
from django.db import models

from administration.models import Workgroup
from processes.models import ProcessInstance

WORK_ITEM_STATUSES = [
    ("queued", "Queued"),
    ("offered", "Offered"),
    ("processing", "Processing"),
    ("held", "Held"),
    ("completed", "Completed"),
    ("transferred", "Transferred"),
    ("withdrawn", "Withdrawn"),
    ("cancelled", "Cancelled"),
]
OPEN_STATUSES = ("queued", "offered", "processing", "held")
CLOSED_STATUSES = ("completed", "transferred", "withdrawn", "cancelled")


class WorkItem(models.Model):
    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="work_items")
    token = models.CharField(max_length=20)  # the engine's wait token
    process_name = models.CharField(max_length=200)
    name = models.CharField(max_length=200)  # the work item definition's name
    category = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    priority = models.IntegerField(default=0)
    status = models.CharField(max_length=20, choices=WORK_ITEM_STATUSES)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="work_items"
    )
    workgroup = models.ForeignKey(
        Workgroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="work_items"
    )
    skills = models.JSONField(default=list, blank=True)  # [[name, min_level], ...]
    draft = models.JSONField(default=dict, blank=True)  # values saved without completing
    button = models.CharField(max_length=100, blank=True)  # the exit taken
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    offered_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Agents who let the ACD's offer of this item lapse, most recent last: offered again last.
    lapsed_offers = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-priority", "created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["instance", "token"], name="unique_work_item_token")]
        indexes = [
            models.Index(fields=["user", "status"]),
            models.Index(fields=["workgroup", "status", "-priority", "created_at"]),
            models.Index(fields=["status", "offered_at"]),  # the sweep's lapsed offers
            # My Work Items (open items, in the list's order): the first page is read off this
            # index without sorting a user's whole backlog (bench/: 5,000 items, 30 ms -> ~1 ms).
            models.Index(fields=["user", "-priority", "created_at", "id"], name="workitem_open_by_user",
                         condition=models.Q(status__in=OPEN_STATUSES)),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def is_group_routed(self) -> bool:
        return self.workgroup_id is not None


class ClientSocket(models.Model):
    """One open (or lately closed) ``/ws/workitems/`` connection: presence follows these (``sockets.py``)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="client_sockets")
    channel_name = models.CharField(max_length=200, unique=True)
    opened_at = models.DateTimeField()
    seen_at = models.DateTimeField()  # the last ping
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "closed_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.channel_name}"


class Absence(models.Model):
    """An agent out of office: direct-routed items sent to them in the period go to the substitute."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="absences")
    substitute = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="substituting")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["user", "ends_at"])]
        constraints = [models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")),
                                              name="absence_ends_after_it_starts")]

    def __str__(self) -> str:
        return f"{self.user_id} away {self.starts_at:%Y-%m-%d} – {self.ends_at:%Y-%m-%d}"
