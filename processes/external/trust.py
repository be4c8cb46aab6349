"""The CA bundle that HTTPS calls of ``invoke_web_service`` are verified against.

The seed has administrators add each web service's certification authority to a
``ca-bundle.crt`` file on the server. Here the bundle is made of, in this order:

1. the file named by the setting ``IPA_CA_BUNDLE`` (default ``<project>/ca-bundle.crt``),
   when it exists: the seed's file, edited with a text editor;
2. the certification authorities stored in the database
   (:class:`administration.models.CertificateAuthority`, edited in the administration pages);
3. the public certification authorities of ``certifi``, unless ``IPA_TRUST_PUBLIC_CAS`` is off.

They are combined into one PEM file per distinct content (named by its SHA-256) in a private
temporary folder of this process, because requests and OpenSSL verify against a file. Every
call reads the database again, so a certificate added or removed in the administration pages
applies on the next call, without a restart; the file is re-read when its size or
modification time changes.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from administration.certificates import PEM_BEGIN, valid_pem
from administration.models import CertificateAuthority

logger = logging.getLogger("ipa.external")

@dataclass(frozen=True)
class Bundle:
    path: str  # the combined PEM file to give to ``verify=``
    digest: str  # SHA-256 of its content
    certificates: int  # how many certificates it holds
    sources: tuple[str, ...]  # what it was made of, for error messages

    def describe(self) -> str:
        return ", ".join(self.sources) if self.sources else "empty"


_lock = threading.Lock()
_folder: str | None = None
_file_cache: dict[str, tuple[int, int, str]] = {}  # path -> (mtime_ns, size, text)


def setting_bundle_path() -> Path | None:
    value = getattr(settings, "IPA_CA_BUNDLE", "")
    return Path(value) if value else None


def trusts_public_cas() -> bool:
    return bool(getattr(settings, "IPA_TRUST_PUBLIC_CAS", True))


def _read_file(path: Path) -> str | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    key = str(path)
    cached = _file_cache.get(key)
    if cached and cached[0] == stat.st_mtime_ns and cached[1] == stat.st_size:
        return cached[2]
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        logger.warning("cannot read the CA bundle %s: %s", path, error)
        return None
    _file_cache[key] = (stat.st_mtime_ns, stat.st_size, text)
    return text


def trusted_certificates() -> list[tuple[str, str]]:
    """``(name, PEM)`` of every stored certification authority OpenSSL accepts (a bad one is logged, left out)."""
    found = []
    for name, pem in CertificateAuthority.objects.order_by("name", "pk").values_list("name", "certificate"):
        problem = valid_pem(pem or "")
        if problem:
            logger.warning("certification authority %r is not a valid PEM certificate and is left out: %s",
                           name, problem)
            continue
        found.append((name, pem.strip()))
    return found


def _private_folder() -> str:
    global _folder
    if _folder is None or not os.path.isdir(_folder):
        # mkdtemp: a folder only this user can write, new for this process, so nobody else
        # can plant a bundle under the name we will look for.
        _folder = tempfile.mkdtemp(prefix="ipa-ca-bundles-")
        atexit.register(_remove_folder, _folder, os.getpid())
    return _folder


def _remove_folder(folder: str, owner: int) -> None:
    if os.getpid() == owner:  # not in a forked worker that inherited the hook
        shutil.rmtree(folder, ignore_errors=True)


def ca_bundle() -> Bundle:
    """The combined bundle as it is now: a file that exists, named by its content."""
    parts: list[str] = []
    sources: list[str] = []
    path = setting_bundle_path()
    if path is not None:
        text = _read_file(path)
        if text is not None and PEM_BEGIN in text:
            parts.append(f"# file {path}\n{text.strip()}\n")
            sources.append(f"the file {path}")
    stored = trusted_certificates()
    for name, pem in stored:
        parts.append(f"# {name} (administration pages)\n{pem}\n")
    if stored:
        sources.append(f"{len(stored)} from the administration pages")
    if trusts_public_cas():
        import certifi

        text = _read_file(Path(certifi.where()))
        if text:
            parts.append(f"# public certification authorities (certifi)\n{text.strip()}\n")
            sources.append("the public certification authorities")
    content = "\n".join(parts)
    digest = hashlib.sha256(content.encode()).hexdigest()
    with _lock:
        target = Path(_private_folder()) / f"ca-bundle-{digest[:32]}.pem"
        if not target.exists():
            scratch = target.with_suffix(".tmp")
            scratch.write_text(content, encoding="utf-8")
            os.replace(scratch, target)
    return Bundle(str(target), digest, content.count(PEM_BEGIN), tuple(sources))
