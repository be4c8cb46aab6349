"""Logins and what ends them: lockout after failures, API tokens that expire, revocation.

- Repeated failed logins (the login page, ``POST /api/auth/token``) lock the user name from
  that address out for a while (django-axes); the answer says so and for how long, and a
  log line records it (``ipa.logins``).
- An API token lives ``IPA_TOKEN_LIFETIME_HOURS`` (0: for ever) from its creation; an
  expired one authenticates nobody, and asking for a token again gives a new one.
- Logging out revokes the user's API tokens and closes that session's live sockets; an
  administrator revokes a token by deleting it (admin, Tokens) and deactivates a user, and
  either closes the sockets concerned at once (close code 4401).

Sockets join the groups named here when they connect (``socket_groups``); the signal
handlers below send ``logins.revoked`` to those groups after the change commits.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync
from axes import utils as axes_utils
from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_ip_address
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from ipa_portal.problems import PROBLEM_JSON, problem_body
from processes.queries import HotQuery

from .models import User

log = logging.getLogger("ipa.logins")
REVOKED_EVENT = "logins.revoked"  # handled by the consumers' logins_revoked: close with 4401


# ------------------------------------------------------------------------------ lockout


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict[str, Any] | None = None) -> HttpResponse:
    """What a locked-out login gets (axes' AXES_LOCKOUT_CALLABLE): 429 with a message to act on."""
    minutes = _cool_off_minutes()
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    log.warning("login locked out: user %r from %s after %d failures", username,
                request.META.get("REMOTE_ADDR", "?"), settings.AXES_FAILURE_LIMIT)
    message = (f"Too many failed logins: this account is locked for {minutes} minutes from this address. "
               "Try again later, or ask an administrator to unlock it.")
    if request.path.startswith("/api/"):
        response = JsonResponse(problem_body(429, message), status=429, content_type=PROBLEM_JSON)
        response["Retry-After"] = str(minutes * 60)
        return response
    response = render(request, "registration/locked_out.html", {"message": message}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


class LockoutBackend(AxesStandaloneBackend):
    """axes' check before the password backend, for logins that come over the network.

    A call of ``authenticate`` with no request (a management command, a test client's
    ``login``) is not a login from the network: axes would refuse it outright, here it
    passes on to the password backend unthrottled.
    """

    def authenticate(self, request: HttpRequest | None, username: str | None = None,  # type: ignore[override]
                     password: str | None = None, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def login_succeeded(request: HttpRequest, user: User) -> None:
    """A login that is not a session (a token asked for): the failures before it are forgotten,
    as axes does for a session login (AXES_RESET_ON_SUCCESS)."""
    if settings.AXES_ENABLED and settings.AXES_RESET_ON_SUCCESS:
        axes_utils.reset(ip=get_client_ip_address(request), username=user.get_username())


def _cool_off_minutes() -> int:
    cool_off = settings.AXES_COOLOFF_TIME
    hours = cool_off.total_seconds() / 3600 if isinstance(cool_off, timedelta) else float(cool_off or 0)
    return max(1, round(hours * 60))


# ------------------------------------------------------------------------------- tokens


def token_expired(token: Token) -> bool:
    hours = settings.IPA_TOKEN_LIFETIME_HOURS
    return bool(hours) and token.created < timezone.now() - timedelta(hours=hours)


def token_for(user: User) -> Token:
    """The user's API token, a new one when the old one expired."""
    token, created = Token.objects.get_or_create(user=user)
    if not created and token_expired(token):
        token.delete()
        token = Token.objects.create(user=user)
    return token


# Every API request reads its token: compiled once (processes.queries), as the engine's reads are.
_token_and_user = HotQuery(lambda key: Token.objects.select_related("user").filter(key=key))


def user_for_token(key: str) -> User | None:
    """The active user a token belongs to, or None (unknown, expired or the user deactivated)."""
    token = _token_and_user.first(key)
    if token is None or token_expired(token) or not token.user.is_active:
        return None
    return token.user


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, refusing an expired token (401), its read compiled once."""

    def authenticate_credentials(self, key: str) -> tuple[User, Token]:
        token = _token_and_user.first(key)
        if token is None:
            raise AuthenticationFailed(_("Invalid token."))
        user = token.user
        if not user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        if token_expired(token):
            raise AuthenticationFailed("The token has expired: ask for a new one at /api/auth/token.")
        return user, token


def revoke_tokens(user: User) -> None:
    Token.objects.filter(user=user).delete()  # post_delete closes the sockets they opened


# ---------------------------------------------------------------------- socket groups


def session_group(session_key: str) -> str:
    return f"logins.session.{hashlib.sha256(session_key.encode()).hexdigest()[:32]}"


def tokens_group(user_id: int) -> str:
    return f"logins.tokens.{user_id}"


def user_group(user_id: int) -> str:
    return f"logins.user.{user_id}"


def socket_groups(user_id: int, session_key: str | None, by_token: bool) -> list[str]:
    """The groups a socket joins: closed when its session logs out, its token is revoked, or
    its user is deactivated."""
    groups = [user_group(user_id)]
    if by_token:
        groups.append(tokens_group(user_id))
    elif session_key:
        groups.append(session_group(session_key))
    return groups


def close_sockets(group: str) -> None:
    """After commit: every socket in ``group`` closes with 4401."""
    layer = get_channel_layer()
    if layer is None:
        return

    def send() -> None:
        try:
            async_to_sync(layer.group_send)(group, {"type": REVOKED_EVENT})
        except Exception:  # noqa: BLE001 - a lost close must not fail the logout
            log.exception("could not close the sockets of %s", group)

    transaction.on_commit(send, robust=True)


# ---------------------------------------------------------------------- signal handlers


def on_logged_out(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    if user is None:
        return
    revoke_tokens(user)
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        close_sockets(session_group(session_key))


def on_token_deleted(sender: Any, instance: Token, **kwargs: Any) -> None:
    close_sockets(tokens_group(instance.user_id))


def on_user_saved(sender: Any, instance: User, created: bool, **kwargs: Any) -> None:
    if not created and not instance.is_active:
        close_sockets(user_group(instance.pk))
