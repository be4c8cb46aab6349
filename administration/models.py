"""The directory: who the users are, what they may do and which data they may see.

The seed's Interaction Administrator configuration: licenses with seat counts, access
rights (launch, view, manage) given to users, workgroups or roles, skills with levels,
security specifications on data, server parameters and data sources.
"""

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models

from .certificates import valid_pem

LICENSES = ("direct_routed", "group_routed", "process_monitor", "process_designer")
LICENSE_CHOICES = [
    ("direct_routed", "Direct Routed Work Items"),
    ("group_routed", "Group Routed Work Items"),
    ("process_monitor", "Process Monitor"),
    ("process_designer", "Process Designer"),
]
RIGHTS = ("launch", "view", "manage")
PRESENCE_CHOICES = [
    ("available", "Available"),
    ("away", "Away"),
    ("do_not_disturb", "Do not disturb"),
    ("offline", "Offline"),
]


def license_rank(license_name: str) -> int:
    """0 for no license, 1..4 in the seed's cumulative order."""
    return LICENSES.index(license_name) + 1 if license_name in LICENSES else 0


class Skill(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Workgroup(models.Model):
    name = models.CharField(max_length=100, unique=True)
    rights = models.JSONField(default=list, blank=True)
    skills = models.ManyToManyField(Skill, blank=True, related_name="workgroups")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.Model):
    name = models.CharField(max_length=100, unique=True)
    rights = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    license = models.CharField(max_length=32, choices=LICENSE_CHOICES, blank=True, default="")
    rights = models.JSONField(default=list, blank=True)
    workgroups = models.ManyToManyField(Workgroup, blank=True, related_name="members")
    roles = models.ManyToManyField(Role, blank=True, related_name="members")
    presence = models.CharField(max_length=20, choices=PRESENCE_CHOICES, default="offline")
    presence_since = models.DateTimeField(null=True, blank=True)
    # When the agent last became Available or finished a group-routed item, whichever is later:
    # the ACD offers a workgroup's item to the qualifying agent idle the longest (workitems.routing).
    idle_since = models.DateTimeField(null=True, blank=True)

    @property
    def is_admin(self) -> bool:
        return self.is_superuser


class UserSkill(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="skill_levels")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="user_levels")
    level = models.PositiveSmallIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "skill"], name="unique_user_skill")]


class LicenseAllocation(models.Model):
    """How many seats of a license the installation has."""

    license = models.CharField(max_length=32, choices=LICENSE_CHOICES, unique=True)
    seats = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.license}: {self.seats}"


class SecuritySpecification(models.Model):
    """Only the users, workgroups and roles listed may see or change data marked with it."""

    name = models.CharField(max_length=100, unique=True)
    users = models.ManyToManyField(User, blank=True, related_name="security_specifications")
    workgroups = models.ManyToManyField(Workgroup, blank=True, related_name="security_specifications")
    roles = models.ManyToManyField(Role, blank=True, related_name="security_specifications")

    def __str__(self) -> str:
        return self.name


class ServerParameter(models.Model):
    name = models.CharField(max_length=100, unique=True)
    value = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class DataSource(models.Model):
    """A named database that ``database`` actions query."""

    name = models.CharField(max_length=100, unique=True)
    url = models.CharField(max_length=500)

    def __str__(self) -> str:
        return self.name


class CertificateAuthority(models.Model):
    """A certification authority trusted for HTTPS web services: an entry of the CA bundle.

    Used with the file ``IPA_CA_BUNDLE`` (the seed's ca-bundle.crt); a change applies on the
    next web service call, without a restart (processes.external.trust).
    """

    name = models.CharField(max_length=200, unique=True)
    certificate = models.TextField(help_text="The PEM text, -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "certificate authorities"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if problem := valid_pem(self.certificate or ""):
            raise ValidationError({"certificate": f"not a PEM certificate OpenSSL accepts: {problem}"})


class AuditEntry(models.Model):
    """One administrative change: who, when, what, and the record before and after.

    The snapshots never hold a password or a token (administration.services builds them).
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)  # kept when the actor is deleted
    kind = models.CharField(max_length=40, db_index=True)  # user, workgroup, role, skill, license, ...
    target = models.CharField(max_length=200)
    action = models.CharField(max_length=20)  # created, changed, deleted, imported
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.kind} {self.target}"
