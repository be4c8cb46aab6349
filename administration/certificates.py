"""Whether a text is a PEM certificate OpenSSL accepts: checked when an administrator saves a
certification authority, and again when ``processes.external.trust`` builds the CA bundle."""

from __future__ import annotations

import ssl
from functools import lru_cache

PEM_BEGIN = "-----BEGIN CERTIFICATE-----"


def valid_pem(text: str) -> str | None:
    """None if ``text`` holds one or more certificates OpenSSL accepts, else why not."""
    if PEM_BEGIN not in text:
        return "no -----BEGIN CERTIFICATE----- block"
    return _check_pem(text)


@lru_cache(maxsize=256)
def _check_pem(text: str) -> str | None:
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=text)
    except (ssl.SSLError, ValueError) as error:
        return str(error)
    return None
