"""``send_email``: one message through Django's email backend.

The engine has already filled the templates (``subject``, ``body``, optional ``html_body``)
and turned ``to`` into a list of addresses. The message goes from ``DEFAULT_FROM_EMAIL``
through ``EMAIL_BACKEND`` (SMTP at ``EMAIL_HOST``:``EMAIL_PORT`` by default), within
``EMAIL_TIMEOUT`` seconds; with an HTML body it is ``multipart/alternative``. What the
server refuses, a connection that cannot be made and a server that does not answer in time
become the action's ``error``; the result is ``{"recipients": n}``.
"""

from __future__ import annotations

import smtplib
import ssl
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from .errors import ExternalActionError


def send_email(params: dict[str, Any]) -> dict[str, int]:
    """The runner of ``send_email``."""
    to = params.get("to") or []
    if isinstance(to, str):
        to = [to]
    to = [address.strip() for address in to if isinstance(address, str) and address.strip()]
    if not to:
        raise ExternalActionError("bad_input", "send_email has no address to send to")
    message = EmailMultiAlternatives(
        subject=" ".join(str(params.get("subject") or "").splitlines()),  # a header is one line
        body=str(params.get("body") or ""),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
        connection=get_connection(timeout=getattr(settings, "EMAIL_TIMEOUT", None) or None),
    )
    if params.get("html_body"):
        message.attach_alternative(str(params["html_body"]), "text/html")
    where = f"the mail server {settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as error:
        refused = ", ".join(sorted(error.recipients))
        raise ExternalActionError("recipients_refused", f"{where} refused {refused}") from None
    except smtplib.SMTPSenderRefused as error:
        raise ExternalActionError("sender_refused", f"{where} refused the sender {error.sender}: "
                                                    f"{_reply(error.smtp_error)}") from None
    except smtplib.SMTPResponseException as error:
        raise ExternalActionError("smtp_error", f"{where} answered {error.smtp_code} {_reply(error.smtp_error)}"
                                  ) from None
    except TimeoutError:
        raise ExternalActionError("timeout", f"{where} did not answer within {settings.EMAIL_TIMEOUT} s") from None
    except (smtplib.SMTPException, ssl.SSLError, OSError) as error:
        if isinstance(error.__context__, TimeoutError):  # smtplib wraps a timeout in SMTPServerDisconnected
            raise ExternalActionError("timeout", f"{where} did not answer within {settings.EMAIL_TIMEOUT} s") from None
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise ExternalActionError("connection_failed", f"cannot send through {where}: {reason}") from None
    except ValueError:  # BadHeaderError, or an address Django cannot parse
        raise ExternalActionError("bad_input", "an address is not valid or contains a line break") from None
    return {"recipients": len(to)}


def _reply(text: bytes | str) -> str:
    return text.decode(errors="replace") if isinstance(text, bytes) else str(text)
