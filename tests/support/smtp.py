"""A real SMTP server (aiosmtpd) on a free loopback port, keeping what it receives."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.ports import free_port

__all__ = ["SmtpInbox", "smtp_server"]


@dataclass
class SmtpInbox:
    host: str
    port: int
    username: str
    password: str
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"smtp://{quote(self.username, safe='')}:{quote(self.password, safe='')}@{self.host}:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.messages.append(parsed)
            self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == (
            self.username,
            self.password,
        )
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok)

    def wait_for(self, count: int, timeout: float = 15.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.messages)


@contextmanager
def smtp_server(username: str = "tierslieu", password: str = "s3cret pass") -> Iterator[SmtpInbox]:
    """Start aiosmtpd requiring AUTH LOGIN/PLAIN (allowed without TLS on loopback for the test)."""
    inbox = SmtpInbox("127.0.0.1", free_port(), username, password)
    controller = Controller(
        inbox,
        hostname=inbox.host,
        port=inbox.port,
        authenticator=inbox.authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
