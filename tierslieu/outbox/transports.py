"""Where e-mails go: an SMTP server (``TIERSLIEU_SMTP_URL``), or ``.eml`` files under the data
folder when no server is configured, so nothing is lost and staff can read what would have gone.

A transport is one method, ``send(email, key)``; a failure raises :class:`DeliveryError`.
"""

from __future__ import annotations

import os
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = [
    "DeliveryError",
    "FileTransport",
    "SmtpTransport",
    "SmtpUrl",
    "Transport",
    "parse_smtp_url",
]

SMTP_TIMEOUT_SECONDS = 30.0
_TRUE = {"1", "true", "yes", "on"}


class DeliveryError(Exception):
    """The message could not be handed over; the worker tries again later."""


class Transport(Protocol):
    name: str

    def send(self, email: EmailMessage, key: str) -> None: ...

    def close(self) -> None:
        """End of a pass: let go of any connection kept between messages."""


@dataclass(frozen=True)
class SmtpUrl:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None

    def __repr__(self) -> str:  # never log the password
        return f"SmtpUrl({self.host}:{self.port}, tls={self.implicit_tls}, starttls={self.starttls})"


def parse_smtp_url(url: str) -> SmtpUrl:
    """``smtp://user:pass@host:port`` (STARTTLS with ``?starttls=true``, the default on port 587)
    or ``smtps://user:pass@host:port`` (TLS from the first byte, port 465 by default)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("TIERSLIEU_SMTP_URL must look like smtp://user:password@host:port or smtps://…")
    implicit = parts.scheme == "smtps"
    port = parts.port or (465 if implicit else 25)
    query = parse_qs(parts.query)
    starttls_values = query.get("starttls")
    starttls = (starttls_values[-1].lower() in _TRUE) if starttls_values else (not implicit and port == 587)
    return SmtpUrl(
        host=parts.hostname,
        port=port,
        implicit_tls=implicit,
        starttls=starttls and not implicit,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class SmtpTransport:
    """One connection per pass of the worker, reused for its messages (a dropped connection is
    opened again once before the message counts as failed)."""

    name = "smtp"

    def __init__(self, url: str, *, timeout: float = SMTP_TIMEOUT_SECONDS) -> None:
        self.url = parse_smtp_url(url)
        self.timeout = timeout
        self._client: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        url = self.url
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if url.implicit_tls:
            client = smtplib.SMTP_SSL(url.host, url.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(url.host, url.port, timeout=self.timeout)
        try:
            if url.starttls:
                client.starttls(context=context)
            if url.username:
                client.login(url.username, url.password or "")
        except BaseException:
            client.close()
            raise
        return client

    def send(self, email: EmailMessage, key: str) -> None:
        try:
            try:
                self._client = self._client or self._connect()
                self._client.send_message(email)
            except smtplib.SMTPServerDisconnected:
                self.close()
                self._client = self._connect()
                self._client.send_message(email)
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()


class FileTransport:
    """One ``.eml`` file per message under ``folder``, named after its key: writing it again
    replaces the same file (atomic rename), never a second copy."""

    name = "file"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_for(self, key: str) -> Path:
        return self.folder / (re.sub(r"[^A-Za-z0-9_.-]+", "-", key).strip("-.") + ".eml")

    def send(self, email: EmailMessage, key: str) -> None:
        target = self.path_for(key)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".eml.part")
            partial.write_bytes(email.as_bytes())
            os.replace(partial, target)
        except OSError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        return None
