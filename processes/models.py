"""Process definitions (versioned documents) and the instances running them."""

from django.conf import settings
from django.db import models

from processes.errors import DefinitionImmutable

INSTANCE_STATUSES = [
    ("running", "Running"),
    ("waiting", "Waiting"),
    ("completed", "Completed"),
    ("cancelled", "Cancelled"),
    ("error", "Error"),
    ("restored_in_error", "Restored in error"),
]
ENDED_STATUSES = ("completed", "cancelled")
OPEN_STATUSES = ("running", "waiting", "error", "restored_in_error")  # not ended: owned by a node, counted, cancellable
# The storage id that ``import_instances`` loads instances under (the seed's PFCT storage id):
# no node ever has it, so they wait, untouched by any engine, until ``flow_admin transfer``.
IMPORT_STORAGE_ID = "import"


class ProcessDefinition(models.Model):
    """One version of a process; the document never changes once imported."""

    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField()
    document = models.JSONField()
    category = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    published = models.BooleanField(default=False)
    published_at = models.DateTimeField(null=True, blank=True)
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name", "-version"]
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="unique_process_version")]
        indexes = [models.Index(fields=["name", "published"])]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def save(self, *args, **kwargs) -> None:
        """A stored version never changes its document, name or number, from any page, admin or API."""
        fields = kwargs.get("update_fields")
        if self.pk and (fields is None or {"document", "name", "version"} & set(fields)):
            stored = ProcessDefinition.objects.filter(pk=self.pk).values("document", "name", "version").first()
            if stored and stored != {"document": self.document, "name": self.name, "version": self.version}:
                raise DefinitionImmutable(f"{stored['name']} v{stored['version']} cannot be changed in place: "
                                          "import the new document as a new version.")
        super().save(*args, **kwargs)

    @property
    def status(self) -> str:
        """draft (never published), published (launched by users) or retired (published once, no longer)."""
        return "published" if self.published else ("retired" if self.published_at else "draft")


class ProcessInstance(models.Model):
    definition = models.ForeignKey(ProcessDefinition, on_delete=models.PROTECT, related_name="instances")
    process_name = models.CharField(max_length=200)  # copied from the definition for filters
    status = models.CharField(max_length=20, choices=INSTANCE_STATUSES, default="running")
    current_state = models.CharField(max_length=200, blank=True)
    waiting_on = models.CharField(max_length=20, blank=True)
    waiting_detail = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="started_instances"
    )
    initiator = models.CharField(max_length=150, blank=True)  # the launching user's name, for the engine
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    is_test = models.BooleanField(default=False)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    parent_token = models.CharField(max_length=20, blank=True)  # set when the parent waits for this child
    depth = models.PositiveSmallIntegerField(default=0)
    # The top-level instance a subprocess was launched under (null: this one is top-level), so a
    # step can count its launch tree against PAS_MaxInstancesPerLaunch with one indexed query.
    launch_tree = models.BigIntegerField(null=True, blank=True, db_index=True)
    owner = models.CharField(max_length=100, blank=True)  # storage id of the engine node that owns it
    execution = models.JSONField(default=dict)  # the engine's execution state

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["process_name", "status", "-started_at"]),
            models.Index(fields=["status", "-started_at"]),
            models.Index(fields=["started_by", "-started_at"]),
            # The monitor's filters (docs/performance.md): current state, what it waits on, how
            # long it has waited, and the few instances with an error message.
            models.Index(fields=["process_name", "current_state"], name="instance_process_state"),
            models.Index(fields=["waiting_on", "-started_at"], name="instance_waiting_on"),
            models.Index(fields=["updated_at"], name="instance_updated_at"),
            models.Index(fields=["-started_at"], condition=~models.Q(error=""), name="instance_with_error"),
        ]

    def __str__(self) -> str:
        return f"{self.process_name} #{self.pk}"

    @property
    def has_ended(self) -> bool:
        return self.status in ENDED_STATUSES


class HistoryEntry(models.Model):
    """What happened to an instance. Names states, actions and variables, never values."""

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField()
    what = models.CharField(max_length=40)
    detail = models.CharField(max_length=500, blank=True)
    user = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["instance", "id"]),
            # When each instance entered its current state: the monitor's "time in state" column.
            models.Index(fields=["instance", "at"], condition=models.Q(what="state_entered"),
                         name="history_state_entered"),
        ]


class PendingEvent(models.Model):
    """An event waiting to be handed to an instance: the engine's durable outbox and timers.

    Timers (``kind="timer"``) are due in the future; every other kind is due at once.
    A periodic sweep picks up whatever is due and was not delivered, so nothing depends
    on a broker message or countdown surviving a crash.
    """

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="pending_events")
    kind = models.CharField(max_length=30)
    token = models.CharField(max_length=20, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["due_at"]), models.Index(fields=["instance", "kind", "token"])]


class RelatedInteraction(models.Model):
    """A call, email or chat that a user related to an instance (the seed)."""

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="related_interactions")
    type = models.CharField(max_length=40)
    reference = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class EngineNode(models.Model):
    """A process running the engine (a Celery worker or the embedded ``serve``), by its storage id.

    A node registers when it starts and beats while it runs; one whose heartbeat is older
    than ``ENGINE_NODE_TIMEOUT`` is dead and its instances are taken over by the live ones.
    """

    storage_id = models.CharField(max_length=100, unique=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)  # stopped cleanly, or taken over
    taken_over_by = models.CharField(max_length=100, blank=True)  # set when it stopped by dying
    restoring_until = models.DateTimeField(null=True, blank=True)  # a takeover of it is under way

    class Meta:
        ordering = ["storage_id"]

    def __str__(self) -> str:
        return self.storage_id


EXTERNAL_CALL_STATUSES = [
    ("pending", "Pending"),  # recorded with the step; not started (safe to dispatch again)
    ("running", "Running"),  # a runner took it on ``node``; whether it ran is unknown until it reports
    ("finished", "Finished"),  # reported back: the external_finished / external_failed event was recorded
    ("lost", "Lost"),  # the process running it died: its instance was restored in error
    ("cancelled", "Cancelled"),  # never started: its instance ended or stopped waiting for it
]


class ExternalCall(models.Model):
    """One run of an external action (web service, handler, database, email) outside the step.

    The step that starts the action inserts the row (``pending``); a runner marks it
    ``running`` with the storage id of its node before it starts, so a takeover knows which
    actions were in flight on a dead node; the outcome is recorded with the engine event
    that resumes the instance. ``params`` are the evaluated parameters, kept only until the
    call ends. See docs/external-actions.md.
    """

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="external_calls")
    token = models.CharField(max_length=20)  # the engine's wait token
    kind = models.CharField(max_length=30)  # invoke_web_service, run_handler, database, send_email
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=EXTERNAL_CALL_STATUSES, default="pending")
    owner = models.CharField(max_length=100, blank=True)  # the instance's owner when the call was made
    node = models.CharField(max_length=100, blank=True)  # storage id of the node that ran it
    worker = models.CharField(max_length=200, blank=True)  # "host pid nonce" of the process that ran it
    error_type = models.CharField(max_length=60, blank=True)  # finished with an error: its type
    created_at = models.DateTimeField()
    dispatched_at = models.DateTimeField()  # last handed to a runner (the sweep hands stalled ones again)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["instance", "token"], name="unique_external_call_token")]
        indexes = [models.Index(fields=["status", "dispatched_at"]), models.Index(fields=["status", "node"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.token} of instance {self.instance_id} ({self.status})"


class InstanceImport(models.Model):
    """One run of ``import_instances``: a batch that ``import_instances --back-out`` removes whole."""

    file = models.CharField(max_length=500)
    format = models.CharField(max_length=40)
    exported_at = models.CharField(max_length=40, blank=True)  # as the file's header says
    imported_at = models.DateTimeField(auto_now_add=True)
    counts = models.JSONField(default=dict, blank=True)  # rows created, by kind
    created_definitions = models.JSONField(default=list, blank=True)  # ids this batch added (not reused ones)
    backed_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"import batch {self.pk} ({self.file})"


class ImportedInstance(models.Model):
    """Which batch brought an instance, and its id in the installation it came from."""

    batch = models.ForeignKey(InstanceImport, on_delete=models.CASCADE, related_name="instances")
    instance = models.OneToOneField(ProcessInstance, on_delete=models.CASCADE, related_name="imported_from")
    source_id = models.BigIntegerField()

    class Meta:
        ordering = ["id"]


class VariableLogEntry(models.Model):
    """A new value of a variable flagged ``log: true`` (the seed's variable-level logging); no other
    variable's value is written anywhere but its instance's own state."""

    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="logged_values")
    process_name = models.CharField(max_length=200)
    version = models.PositiveIntegerField()
    variable = models.CharField(max_length=200)
    value = models.JSONField(null=True)
    security = models.CharField(max_length=100, blank=True)  # the variable's specification, applied on reading
    at = models.DateTimeField()
    by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["process_name", "variable", "at"])]
