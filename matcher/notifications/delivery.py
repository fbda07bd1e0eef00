"""Delivering one outbox row: e-mail over SMTP (``smtplib``, ``email``) or a webhook signed with HMAC-SHA256.

Webhooks are POSTed as JSON with ``X-Rismep-Delivery`` (the delivery id: the same on every retry, so a
receiver drops duplicates), ``X-Rismep-Event`` and ``X-Rismep-Signature: sha256=<hex HMAC-SHA256 of the raw
body with the recipient's secret>``. Any 2xx answer counts as delivered; anything else is retried.
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

SIGNATURE_HEADER = "X-Rismep-Signature"
DELIVERY_HEADER = "X-Rismep-Delivery"
EVENT_HEADER = "X-Rismep-Event"


class DeliveryError(Exception):
    """One attempt failed; the worker retries later (the message says why, for the dead-letter list)."""


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the raw body with the webhook secret."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def is_valid_signature(secret: str, body: bytes, header: str | None) -> bool:
    """What a receiver checks (constant-time)."""
    return bool(header) and hmac.compare_digest(signature(secret, body), header)


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None
    port: int = 25
    user: str | None = None
    password: str | None = None
    sender: str = "rismep@localhost"
    starttls: bool = False
    ssl: bool = False
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings) -> SmtpSettings:
        """From the app's ``SMTP_*`` settings (``RISMEP_SMTP_HOST``, ``RISMEP_SMTP_PORT``, ...)."""
        return cls(host=settings.get("SMTP_HOST") or None, port=int(settings.get("SMTP_PORT") or 25),
                   user=settings.get("SMTP_USER") or None, password=settings.get("SMTP_PASSWORD") or None,
                   sender=settings.get("SMTP_FROM") or "rismep@localhost",
                   starttls=bool(settings.get("SMTP_STARTTLS")), ssl=bool(settings.get("SMTP_SSL")),
                   timeout=float(settings.get("SMTP_TIMEOUT") or 10))


class Mailer:
    """One SMTP connection reused for a batch of messages (opened on first use, closed by ``close``)."""

    def __init__(self, settings: SmtpSettings):
        self.settings, self.connection = settings, None

    def send(self, *, to: str, subject: str, text: str, delivery_id: str) -> None:
        if not self.settings.host:
            raise DeliveryError("SMTP is not configured: set RISMEP_SMTP_HOST (and RISMEP_SMTP_PORT, ...)")
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.settings.sender, to, subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = f"<{delivery_id}@rismep>"
        message[DELIVERY_HEADER] = delivery_id
        message.set_content(text, charset="utf-8")
        try:
            self._connection().send_message(message)
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise DeliveryError(f"SMTP {self.settings.host}:{self.settings.port}: {error}") from None

    def _connection(self):
        if self.connection is None:
            s = self.settings
            smtp = (smtplib.SMTP_SSL if s.ssl else smtplib.SMTP)(s.host, s.port, timeout=s.timeout)
            if s.starttls and not s.ssl:
                smtp.starttls()
            if s.user:
                smtp.login(s.user, s.password or "")
            self.connection = smtp
        return self.connection

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self.connection = None


def post_webhook(url: str, secret: str | None, body: bytes, *, delivery_id: str, kind: str,
                 timeout: float = 10.0) -> int:
    """POST the signed body; the HTTP status, or DeliveryError for a refusal, a non-2xx answer or no answer."""
    headers = {"Content-Type": "application/json; charset=utf-8", DELIVERY_HEADER: delivery_id,
               EVENT_HEADER: kind, "User-Agent": "rismep-notify"}
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        error.close()
        raise DeliveryError(f"webhook {url} answered {error.code}") from None
    except (OSError, ValueError) as error:
        raise DeliveryError(f"webhook {url}: {error}") from None
