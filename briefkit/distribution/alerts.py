"""Alerts: a scheduled run that failed or crashed mails the publication's editors what went wrong.

The editors are listed like readers, under ``editors:`` in publication.yaml or readers.yaml.
Each gets one plain-text message through the same mail settings as the readers; an alert
that cannot be sent is reported by the caller, never retried into a storm.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from briefkit.distribution.config import DistributionSettings
from briefkit.distribution.mail import Connect, address, header_text, send, verify_headers
from briefkit.distribution.readers import Reader


@dataclass(frozen=True)
class Alert:
    """What went wrong with one run of one publication."""

    publication_id: str
    run_name: str
    state: str  # e.g. "Failed", "Crashed"
    reason: str
    details: tuple[str, ...] = ()  # e.g. the validation errors, one a line

    def subject(self) -> str:
        return header_text(f"briefkit: {self.publication_id} was not published (run {self.run_name} {self.state})")

    def body(self) -> str:
        lines = [
            f"The scheduled build of {self.publication_id} ended {self.state}; nothing new reached readers.",
            "",
            f"Run: {self.run_name}",
            f"Reason: {self.reason}",
        ]
        if self.details:
            lines += ["", "What to fix:", *(f"- {d}" for d in self.details)]
        lines += ["", "Check with: briefkit validate " + self.publication_id, ""]
        return "\n".join(lines)


def compose_alert(alert: Alert, editor: Reader, settings: DistributionSettings) -> EmailMessage:
    sender_name, sender_address = parseaddr(settings.smtp_from)
    domain = sender_address.rpartition("@")[2] or "briefkit.invalid"
    headers: dict[str, object] = {
        "Subject": alert.subject(),
        "From": address(sender_name, sender_address, "the sender (BRIEFKIT_SMTP_FROM)"),
        "To": address(editor.name, editor.address, "the editor's"),
        "Date": format_datetime(dt.datetime.now(dt.UTC)),
        "Message-ID": f"<alert.{uuid.uuid4().hex}@{header_text(domain)}>",
    }
    msg = EmailMessage(policy=email.policy.SMTP)
    for name, value in headers.items():
        msg[name] = value
    msg.set_content(alert.body())
    verify_headers(msg, headers)
    return msg


def alert_editors(
    alert: Alert, editors: tuple[Reader, ...], settings: DistributionSettings, connect: Connect
) -> list[str]:
    """Mail ``alert`` to each editor; the problems of those it could not reach."""
    problems = []
    for editor in editors:
        try:
            send(compose_alert(alert, editor, settings), connect)
        except Exception as exc:  # noqa: BLE001 - an alert that fails is reported, not raised over the run's own failure
            problems.append(f"alert to {editor.address} not sent: {exc}")
    return problems
