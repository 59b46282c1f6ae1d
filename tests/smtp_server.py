"""Test helper: a real SMTP server (aiosmtpd) on 127.0.0.1 that can refuse or drop connections."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USERNAME, PASSWORD = "briefkit-test", "s3cret-Passw0rd-never-logged"


@dataclass
class Inbox:
    """Accepts messages; the first ``failures`` DATA commands instead get ``mode``:
    'refuse' (a 451 reply), 'drop' (the connection closes before any reply) or
    'drop-after-accept' (250, then the connection closes before QUIT is answered)."""

    failures: int = 0
    mode: str = "refuse"
    messages: list[EmailMessage] = field(default_factory=list)
    data_commands: int = 0
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.data_commands += 1
        failing = self.failures > 0
        self.failures -= failing
        if failing and self.mode == "refuse":
            return "451 4.3.0 Temporarily unable to accept mail, try again"
        if failing and self.mode == "drop":
            server.transport.close()
            return "421 closing"  # never reaches the client: the transport is closed
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        if failing and self.mode == "drop-after-accept":
            server._drop_after_reply = True
        return "250 2.0.0 Message accepted"

    async def handle_QUIT(self, server, session, envelope) -> str:
        if getattr(server, "_drop_after_reply", False):
            server.transport.close()
        return "221 Bye"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == USERNAME
            and auth_data.password.decode() == PASSWORD
        )
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)  # handled=True would leave the reply to us


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def smtp_server(inbox: Inbox, auth: bool = False) -> Iterator[int]:
    """Run an SMTP server for ``inbox`` on 127.0.0.1; yields its port."""
    port = free_port()
    options = (
        {
            "authenticator": inbox.authenticate,
            "auth_require_tls": False,
            "auth_required": True,
            "auth_exclude_mechanism": ["LOGIN"],
        }
        if auth
        else {}
    )
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
