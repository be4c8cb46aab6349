"""Certification authorities trusted for HTTPS web services: saved and deleted from the
administration page (and Django's admin), each change checked by OpenSSL and audited.

A change applies on the next web service call, without a restart (``processes.external.trust``
builds the CA bundle from these rows and the file ``IPA_CA_BUNDLE``).
"""

from __future__ import annotations

import hashlib

from django.db import transaction

from administration import services
from administration.certificates import valid_pem
from administration.models import CertificateAuthority, User


def save_certificate_authority(actor: User | None, name: str, certificate: str) -> CertificateAuthority:
    """Create or replace a named authority (``ChangeInvalid`` for a missing name or a text OpenSSL refuses)."""
    name, certificate = name.strip(), certificate.strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "is required"
    if problem := valid_pem(certificate):
        errors["certificate"] = f"not a PEM certificate OpenSSL accepts: {problem}"
    if errors:
        raise services.ChangeInvalid(errors)
    with transaction.atomic():
        stored = CertificateAuthority.objects.filter(name=name).first()
        before = _fingerprint(stored.certificate) if stored else None
        authority, _ = CertificateAuthority.objects.update_or_create(name=name, defaults={"certificate": certificate})
        services.record(actor, "certification authority", name, "changed" if stored else "created", before,
                        _fingerprint(certificate))
    return authority


def _fingerprint(certificate: str) -> dict[str, str]:
    """What the trail keeps of a certificate: its text's SHA-256 (the text is public, but long)."""
    return {"sha256": hashlib.sha256(certificate.encode()).hexdigest()}


def delete_certificate_authority(actor: User | None, name: str) -> None:
    with transaction.atomic():
        if CertificateAuthority.objects.filter(name=name).delete()[0]:
            services.record(actor, "certification authority", name, "deleted")
