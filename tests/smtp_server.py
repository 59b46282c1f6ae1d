"""Test helper: a real SMTP server (aiosmtpd) on 127.0.0.1 that can refuse or drop connections."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USERNAME, PASSWORD = "briefkit-test", "s3cret-Passw0rd-never-logged"


class Parsed(Sequence[EmailMessage]):
    """Stored messages, parsed when read: parsing each as it came would be slower than sending it.
    (Not a property of Inbox: aiosmtpd's inspect.getmembers would read it on every connection.)"""

    def __init__(self, raw: list[bytes]) -> None:
        self.raw = raw

    def __len__(self) -> int:
        return len(self.raw)

    def __getitem__(self, i: int) -> EmailMessage:  # type: ignore[override]  # no slices
        return email.message_from_bytes(self.raw[i], policy=email.policy.default)


@dataclass
class Inbox:
    """Accepts messages; the first ``failures`` DATA (or RCPT) commands instead get ``mode``:
    'refuse' (a 451 reply to DATA), 'drop' (the connection closes before DATA is answered),
    'drop-after-accept' (250, then the connection closes before QUIT is answered), 'late'
    (the message is stored, the 250 comes ``late_by`` seconds later), 'rcpt-refuse' (451 to
    RCPT) or 'rcpt-reject' (550 to RCPT). From the ``stall_at``-th stored message on, each
    is stored but not answered until :meth:`release`."""

    failures: int = 0
    mode: str = "refuse"
    late_by: float = 0.0
    stall_at: int = 0
    raw: list[bytes] = field(default_factory=list)  # each stored message as it came
    messages: Parsed = field(init=False)
    received: Counter[str] = field(default_factory=Counter)  # stored messages per recipient address
    data_commands: int = 0
    logins: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.messages = Parsed(self.raw)

    def _failing(self, rcpt: bool) -> bool:
        failing = self.failures > 0 and self.mode.startswith("rcpt-") == rcpt
        self.failures -= failing
        return failing

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if self._failing(rcpt=True):
            return "550 5.1.1 No such user" if self.mode == "rcpt-reject" else "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.data_commands += 1
        failing = self._failing(rcpt=False)
        if failing and self.mode == "refuse":
            return "451 4.3.0 Temporarily unable to accept mail, try again"
        if failing and self.mode == "drop":
            server.transport.close()
            return "421 closing"  # never reaches the client: the transport is closed
        self.raw.append(envelope.content)
        self.received.update(a.lower() for a in envelope.rcpt_tos)
        if failing and self.mode == "drop-after-accept":
            server._drop_after_reply = True
        if failing and self.mode == "late":
            await asyncio.sleep(self.late_by)
        while 0 < self.stall_at <= len(self.raw):
            await asyncio.sleep(0.01)
        return "250 2.0.0 Message accepted"

    def release(self) -> None:
        """Answer the stalled messages, and stall no more."""
        self.stall_at = 0

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
