"""Email delivery: compose one message per reader and edition, send it once, record it.

The message carries the reader's formats as attachments (or links to the portal when they
exceed the size limit), with a plain-text and an HTML body. Its Message-ID is derived from
publication, edition and address, so even a copy sent twice (a crash between the server's
acceptance and the ledger's update) is recognisable as the same message.

No value can add a header: each is made one line of plain text (header_text), the headers
are built by email.headerregistry under email.policy.SMTP, and the composed message is
serialised and parsed back to check that exactly the headers set came out, each with its
value, on any Python (3.11.7's email package turns an encoded CR LF into a raw line break,
CVE-2024-6923).
"""

from __future__ import annotations

import datetime as dt
import email.policy
import hashlib
import re
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime, parseaddr
from pathlib import Path
from urllib.parse import quote

from briefkit.distribution.config import DistributionSettings
from briefkit.distribution.ledger import Delivery, Ledger
from briefkit.distribution.portal import edition_path
from briefkit.distribution.readers import Reader
from briefkit.distribution.render import render
from briefkit.loader import SLUG
from briefkit.manifest import Manifest, ManifestFile, sha256_file

Connect = Callable[[], smtplib.SMTP]  # an open, logged-in SMTP connection


# Controls and the Unicode line and paragraph separators: none belongs in one line of a header
_NOT_IN_HEADERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_HOSTNAME = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
HEADERS = ("Subject", "From", "To", "Date", "Message-ID", "MIME-Version", "Content-Type")  # all a message has


class DeliveryError(Exception):
    pass


def header_text(value: str) -> str:
    """``value`` as one line of header text that stays text: control characters and line breaks
    become spaces, runs of space one, and '=?' no longer opens an RFC 2047 encoded word."""
    return " ".join(_NOT_IN_HEADERS.sub(" ", value).replace("=?", "= ?").split())


def subject(m: Manifest) -> str:
    """'[CLASSIFICATION] Title: edition of 2026-12-03', the classification only when there is one."""
    text = f"{m.title}: edition of {m.edition.isoformat()}"
    return header_text(f"[{m.classification}] {text}" if m.classification.strip() else text)


@dataclass(frozen=True)
class Outgoing:
    """What goes to one reader: the message and the formats it carries."""

    reader: Reader
    formats: tuple[str, ...]
    message_id: str
    attached: bool


def message_id(m: Manifest, address: str, sender: str) -> str:
    """The same id for the same publication, edition and address; only safe characters in it."""
    key = hashlib.sha256(f"{m.publication_id}\0{m.edition.isoformat()}\0{address.lower()}".encode()).hexdigest()[:32]
    domain = parseaddr(sender)[1].rpartition("@")[2]
    prefix = f"{m.publication_id}." if SLUG.match(m.publication_id) else ""
    return f"<{prefix}{m.edition.isoformat()}.{key}@{domain if _HOSTNAME.match(domain) else 'briefkit.invalid'}>"


def _address(name: str, addr_spec: str, whose: str) -> Address:
    try:
        return Address(display_name=header_text(name), addr_spec=addr_spec)
    except (ValueError, IndexError, HeaderParseError):
        raise DeliveryError(f"{whose} address {addr_spec!r} is not a valid email address") from None


def _verify_headers(msg: EmailMessage, want: dict[str, object]) -> None:
    """Serialise ``msg`` as an SMTP server receives it and parse its header block back: exactly
    the headers of ``want``, each once and with its value; else DeliveryError, and it is not sent."""
    block = msg.as_bytes(policy=email.policy.SMTP).split(b"\r\n\r\n", 1)[0]
    parsed = BytesHeaderParser(policy=email.policy.default).parsebytes(block + b"\r\n\r\n")
    names = [n.lower() for n in parsed]
    stray = b"\r" in block.replace(b"\r\n", b"") or b"\n" in block.replace(b"\r\n", b"")
    if stray or sorted(names) != sorted(n.lower() for n in HEADERS):
        raise DeliveryError(f"a header value would have added or broken headers ({', '.join(names)}); not sent")
    for name, value in want.items():
        got = parsed[name].addresses if isinstance(value, Address) else str(parsed[name]).strip()
        if got != ((value,) if isinstance(value, Address) else value):
            raise DeliveryError(f"the {name} header did not come out as it was set ({got!r}); not sent")


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
    sender_name, sender_address = parseaddr(settings.smtp_from)
    headers: dict[str, object] = {
        "Subject": subject(m),
        "From": _address(sender_name, sender_address, "the sender (BRIEFKIT_SMTP_FROM)"),
        "To": _address(out.reader.name, out.reader.address, "the reader's"),
        "Date": header_text(date),
        "Message-ID": header_text(out.message_id),
    }
    msg = EmailMessage(policy=email.policy.SMTP)
    for name, value in headers.items():
        msg[name] = value
    msg.set_content(render("mail.txt.j2", **context))
    msg.add_alternative(render("mail.html.j2", **context), subtype="html")
    if out.attached:
        for f in files:
            path = edition_dir / f.name
            if sha256_file(path) != f.sha256:
                raise DeliveryError(f"{path} does not match the sha256 in its manifest")
            maintype, _, subtype = f.media_type.partition("/")
            msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=header_text(f.name))
    _verify_headers(msg, headers)
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
