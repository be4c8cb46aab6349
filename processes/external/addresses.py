"""Which network addresses the server's own HTTP calls may reach (against SSRF).

A designer writes the URL of an ``http_json`` call, and often a variable fills it: left
alone, a process could read the server's own admin ports, the cloud's metadata service
(169.254.169.254) or anything on the private network behind it. So every host is
resolved and each of its addresses checked before the call, and again on every redirect:
loopback, link-local, private, reserved, multicast and unspecified addresses are refused
unless ``IPA_HTTP_ALLOW_PRIVATE_ADDRESSES`` is on (an installation whose services live on
its private network, or the tests' peers on loopback).

What remains: a host whose DNS answer changes between this check and the connection
(DNS rebinding). Installations that need that closed too put an egress proxy in front.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit
from urllib.request import HTTPRedirectHandler, Request, build_opener

from django.conf import settings

from .errors import ExternalActionError


def refused_reason(address: str) -> str | None:
    """Why the server may not call ``address`` (an IP address as text), or None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for flag, words in (("is_loopback", "a loopback"), ("is_link_local", "a link-local"),
                        ("is_private", "a private"), ("is_multicast", "a multicast"),
                        ("is_reserved", "a reserved"), ("is_unspecified", "an unspecified")):
        if getattr(ip, flag):
            return f"{words} address"
    return None


def check_url(url: str) -> None:
    """Raise ``ExternalActionError("refused_address")`` when ``url``'s host is not public."""
    if getattr(settings, "IPA_HTTP_ALLOW_PRIVATE_ADDRESSES", False):
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    where = f"{parts.scheme}://{parts.netloc}"
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise ExternalActionError("connection_failed", f"cannot resolve the host of {where}") from None
    for info in infos:
        reason = refused_reason(str(info[4][0]))
        if reason:
            raise ExternalActionError(
                "refused_address",
                f"{where} resolves to {reason}, which processes may not call "
                "(IPA_HTTP_ALLOW_PRIVATE_ADDRESSES allows it)")


class _CheckedRedirects(HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        check_url(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def open_checked(request: Request, timeout: float):  # type: ignore[no-untyped-def]
    """``urlopen`` for a URL a process gave: its host, and every redirect's, must be public."""
    check_url(request.full_url)
    return build_opener(_CheckedRedirects()).open(request, timeout=timeout)
