"""Which web pages may open a WebSocket with this site's session cookie (cross-site WebSocket hijacking).

A browser sends its session cookie with a WebSocket opened by any page, of any site, and
WebSockets have no CORS: the ``Origin`` header is the only sign of whose page it is. A
socket that authenticates with the session is accepted when its ``Origin`` (scheme, host
and port, all three) is this site itself (the scheme and ``Host`` the socket was opened
with, the host being one of ``ALLOWED_HOSTS``) or one of ``IPA_ALLOWED_ORIGINS`` (by
default ``CSRF_TRUSTED_ORIGINS``, the same list Django's forms trust). ``ALLOWED_HOSTS='*'``
no longer lets any page in: a page of another site has another origin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]


def parse_origin(text: str) -> Origin | None:
    """``("https", "portal.example.com", 443)`` from an origin or URL; None when it is not one."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host, port or DEFAULT_PORTS[scheme]


def _own_origin(headers: Mapping[bytes, bytes], scope_scheme: str) -> Origin | None:
    host_header = headers.get(b"host", b"").decode("latin-1")
    host, _port = split_domain_port(host_header)
    allowed_hosts = settings.ALLOWED_HOSTS or (["localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else [])
    if not host or not validate_host(host, allowed_hosts):
        return None
    scheme = "https" if scope_scheme in ("wss", "https") or _forwarded_secure(headers) else "http"
    return parse_origin(f"{scheme}://{host_header}")


def _forwarded_secure(headers: Mapping[bytes, bytes]) -> bool:
    """Behind a TLS proxy (SECURE_PROXY_SSL_HEADER), the socket itself is plain ws."""
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not proxy_header:
        return False
    name, value = proxy_header
    wsgi_name = name.removeprefix("HTTP_").lower().replace("_", "-").encode("latin-1")
    return headers.get(wsgi_name, b"").decode("latin-1") == value


def trusted_origins() -> list[Origin]:
    configured: Iterable[str] = settings.IPA_ALLOWED_ORIGINS or settings.CSRF_TRUSTED_ORIGINS
    return [origin for origin in map(parse_origin, configured) if origin is not None]


def origin_allowed(scope: Mapping) -> bool:
    """Whether the page that opened this socket may use the session (no ``Origin``: not a browser)."""
    headers = dict(scope.get("headers") or [])
    if b"origin" not in headers:
        return True
    origin = parse_origin(headers[b"origin"].decode("latin-1"))
    if origin is None:
        return False
    own = _own_origin(headers, scope.get("scheme", "ws"))
    return origin == own or origin in trusted_origins()
