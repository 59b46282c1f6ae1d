"""Email delivery: compose one message per reader and edition, send it once, record it.

The message carries the reader's formats as attachments (or links to the portal when they
exceed the size limit), with a plain-text and an HTML body. Its Message-ID is derived from
publication, edition and address, so even a copy sent twice (a crash between the server's
acceptance and the ledger's update) is recognisable as the same message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from urllib.parse import quote

from briefkit.distribution.config import DistributionSettings
from briefkit.distribution.ledger import Delivery, Ledger
from briefkit.distribution.portal import edition_path
from briefkit.distribution.readers import Reader
from briefkit.distribution.render import render
from briefkit.manifest import Manifest, ManifestFile, sha256_file

Connect = Callable[[], smtplib.SMTP]  # an open, logged-in SMTP connection


class DeliveryError(Exception):
    pass


@dataclass(frozen=True)
class Outgoing:
    """What goes to one reader: the message and the formats it carries."""

    reader: Reader
    formats: tuple[str, ...]
    message_id: str
    attached: bool


def message_id(m: Manifest, address: str, sender: str) -> str:
    key = hashlib.sha256(f"{m.publication_id}\0{m.edition.isoformat()}\0{address.lower()}".encode()).hexdigest()[:32]
    domain = parseaddr(sender)[1].rpartition("@")[2] or "briefkit.invalid"
    return f"<{m.publication_id}.{m.edition.isoformat()}.{key}@{domain}>"


def plan(m: Manifest, reader: Reader, settings: DistributionSettings) -> Outgoing:
    formats = reader.wants([f.format for f in m.files])
    total = sum(f.bytes for f in m.files if f.format in formats)
    return Outgoing(
        reader, formats, message_id(m, reader.address, settings.smtp_from), total <= settings.mail_attach_limit
    )


def compose(m: Manifest, edition_dir: Path, out: Outgoing, settings: DistributionSettings, date: str) -> EmailMessage:
    """The message for ``out``; attachments are read from ``edition_dir`` and checked against the manifest."""
    files: list[ManifestFile] = [f for f in m.files if f.format in out.formats]
    if not files:
        raise DeliveryError(f"the edition has none of the formats {out.reader.address} asked for")
    if not out.attached and not settings.base_url:
        raise DeliveryError("the files exceed BRIEFKIT_MAIL_ATTACH_LIMIT and no BRIEFKIT_SITE_URL is set to link them")
    if not settings.smtp_from:
        raise DeliveryError("no sender: set BRIEFKIT_SMTP_FROM")

    def href(f: ManifestFile) -> str:
        return settings.base_url + edition_path(m) + quote(f.name)

    context = {"m": m, "files": files, "attached": out.attached, "href": href, "site_url": settings.base_url}
    msg = EmailMessage()
    msg["Subject"] = f"{m.title}: edition of {m.edition.isoformat()}"
    msg["From"] = settings.smtp_from
    msg["To"] = Address(display_name=out.reader.name, addr_spec=out.reader.address)
    msg["Date"] = date
    msg["Message-ID"] = out.message_id
    msg.set_content(render("mail.txt.j2", **context))
    msg.add_alternative(render("mail.html.j2", **context), subtype="html")
    if out.attached:
        for f in files:
            path = edition_dir / f.name
            if sha256_file(path) != f.sha256:
                raise DeliveryError(f"{path} does not match the sha256 in its manifest")
            maintype, _, subtype = f.media_type.partition("/")
            msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=f.name)
    return msg


def send(msg: EmailMessage, connect: Connect) -> None:
    """Hand ``msg`` to the server. Once the server has accepted it, nothing here raises:
    an error while closing must not turn a sent message into a retry and a duplicate."""
    smtp = connect()
    try:
        smtp.send_message(msg)
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def deliver(
    ledger: Ledger, m: Manifest, edition_dir: Path, reader: Reader, settings: DistributionSettings, connect: Connect
) -> bool:
    """One attempt to deliver edition ``m`` to ``reader``: True if sent now, False if it
    had been sent before. A failure is recorded as pending in the ledger, then raised."""
    if ledger.is_sent(m.publication_id, m.edition, reader.address):
        return False
    out = plan(m, reader, settings)
    ledger.attempt(
        Delivery(
            m.publication_id, m.edition, reader.address, reader.name, out.formats, out.message_id, "pending", 0, "", ""
        )
    )
    try:
        date = format_datetime(dt.datetime.now(dt.UTC))
        send(compose(m, edition_dir, out, settings, date), connect)
    except Exception as exc:
        ledger.failed(m.publication_id, m.edition, reader.address, describe(exc))
        raise
    ledger.sent(m.publication_id, m.edition, reader.address)
    return True


def describe(exc: BaseException) -> str:
    """A one-line reason for the ledger and the report; SMTP replies carry no credentials."""
    return f"{type(exc).__name__}: {exc}".replace("\n", " ")[:300]


def smtp_connector(settings: DistributionSettings) -> Connect:
    """Connections from BRIEFKIT_SMTP_* settings, with a timeout so a silent server cannot hang a run."""

    def connect() -> smtplib.SMTP:
        context = ssl.create_default_context()
        if settings.smtp_ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
        try:
            if settings.smtp_starttls and not settings.smtp_ssl:
                smtp.starttls(context=context)
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        except BaseException:
            smtp.close()
            raise
        return smtp

    return connect
