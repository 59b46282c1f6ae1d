"""Email delivery: compose one message per reader and edition, send it once, record it.

The message carries the reader's formats as attachments (or links to the portal when they
exceed the size limit), with a plain-text and an HTML body. Its Message-ID is derived from
publication, edition and address, so even a copy sent twice (an operator's resend of an
unconfirmed delivery) is recognisable as the same message.

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
import sqlite3
import ssl
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime, parseaddr
from pathlib import Path
from urllib.parse import quote

from briefkit.distribution.config import DistributionSettings
from briefkit.distribution.ledger import FAILED, PENDING, SENDING, SENT, UNCONFIRMED, Key, Ledger, Letter
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
MIME_HEADERS = ("MIME-Version", "Content-Type", "Content-Transfer-Encoding")
HEADERS = ("Subject", "From", "To", "Date", "Message-ID", "MIME-Version", "Content-Type")  # all a delivery has


class DeliveryError(Exception):
    pass


def header_text(value: str) -> str:
    """``value`` as one line of header text that stays text: control characters and line breaks
    become spaces, runs of space one, and '=?' no longer opens an RFC 2047 encoded word."""
    return " ".join(_NOT_IN_HEADERS.sub(" ", value).replace("=?", "= ?").split())


def subject(m: Manifest, review: bool = False) -> str:
    """'[CLASSIFICATION] Title: edition of 2026-12-03', the classification only when there is one;
    a review copy says so first."""
    text = f"{m.title}: edition of {m.edition.isoformat()}"
    if m.corrects:
        text += f" (revision {m.revision}, correcting {m.corrects})"
    text = f"[{m.classification}] {text}" if m.classification.strip() else text
    return header_text(f"Review copy: {text}" if review else text)


@dataclass(frozen=True)
class Outgoing:
    """What goes to one reader: the message and the formats it carries."""

    reader: Reader
    formats: tuple[str, ...]
    message_id: str
    attached: bool
    review: bool = False  # a review copy for an editor, outside the readers' ledger


def message_id(m: Manifest, address: str, sender: str) -> str:
    """The same id for the same publication, edition and address; only safe characters in it."""
    key = hashlib.sha256(f"{m.publication_id}\0{m.edition_id}\0{address.lower()}".encode()).hexdigest()[:32]
    domain = parseaddr(sender)[1].rpartition("@")[2]
    prefix = f"{m.publication_id}." if SLUG.match(m.publication_id) else ""
    return f"<{prefix}{m.edition_id}.{key}@{domain if _HOSTNAME.match(domain) else 'briefkit.invalid'}>"


def address(name: str, addr_spec: str, whose: str) -> Address:
    try:
        return Address(display_name=header_text(name), addr_spec=addr_spec)
    except (ValueError, IndexError, HeaderParseError):
        raise DeliveryError(f"{whose} address {addr_spec!r} is not a valid email address") from None


def verify_headers(msg: EmailMessage, want: dict[str, object]) -> None:
    """Serialise ``msg`` as an SMTP server receives it and parse its header block back: the
    headers of ``want``, each once and with its value, and no others but the MIME ones; else
    DeliveryError, and it is not sent."""
    block = msg.as_bytes(policy=email.policy.SMTP).split(b"\r\n\r\n", 1)[0]
    parsed = BytesHeaderParser(policy=email.policy.default).parsebytes(block + b"\r\n\r\n")
    names = [n.lower() for n in parsed]
    allowed = {n.lower() for n in (*want, *MIME_HEADERS)}
    stray = b"\r" in block.replace(b"\r\n", b"") or b"\n" in block.replace(b"\r\n", b"")
    if stray or len(set(names)) != len(names) or not {n.lower() for n in want} <= set(names) <= allowed:
        raise DeliveryError(f"a header value would have added or broken headers ({', '.join(names)}); not sent")
    for name, value in want.items():
        got = parsed[name].addresses if isinstance(value, Address) else str(parsed[name]).strip()
        if got != ((value,) if isinstance(value, Address) else value):
            raise DeliveryError(f"the {name} header did not come out as it was set ({got!r}); not sent")


def plan(m: Manifest, reader: Reader, settings: DistributionSettings, review: bool = False) -> Outgoing:
    formats = reader.wants([f.format for f in m.files])
    total = sum(f.bytes for f in m.files if f.format in formats)
    # a review copy has an id of its own: it must never pass for the reader's delivery
    mid = message_id(m, ("review:" if review else "") + reader.address, settings.smtp_from)
    return Outgoing(reader, formats, mid, total <= settings.mail_attach_limit, review)


def send_review_copy(
    m: Manifest, edition_dir: Path, address: str, settings: DistributionSettings, connect: Connect
) -> None:
    """Mail edition ``m`` (a draft too) to one ``address`` for review; the readers' ledger is not touched.
    Raises DeliveryError, NotSent or Unconfirmed, as a delivery would record them."""
    out = plan(m, Reader("", address, None), settings, review=True)
    send(compose(m, edition_dir, out, settings, format_datetime(dt.datetime.now(dt.UTC))), connect)


def waiting(
    ledger: Ledger, m: Manifest, readers: Sequence[Reader], reclaim: Collection[str] = ()
) -> list[tuple[Reader, str]]:
    """Each reader with its delivery's status in the ledger ("" for none yet); a run would send
    edition ``m`` to those with none, pending, or a status in ``reclaim``."""
    return [(r, ledger.status(Key(m.publication_id, m.edition_id, r.address)) or "") for r in readers]


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
        "Subject": subject(m, out.review),
        "From": address(sender_name, sender_address, "the sender (BRIEFKIT_SMTP_FROM)"),
        "To": address(out.reader.name, out.reader.address, "the reader's"),
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
    verify_headers(msg, headers)
    return msg


class SettingsProblem(Exception):
    """The mail settings cannot work with this server: no retry can help, the operator must change them."""


class NotSent(Exception):
    """The server surely does not have the message: it refused it, or DATA never began."""

    def __init__(self, reason: str, permanent: bool) -> None:
        super().__init__(reason)
        self.reason, self.permanent = reason, permanent  # permanent: a 5xx to RCPT or DATA


class Unconfirmed(Exception):
    """DATA began but no reply came back (a timeout, a dropped connection): the server may have the message."""


def send(msg: EmailMessage, connect: Connect) -> None:
    """Hand ``msg`` to the server; raises NotSent or Unconfirmed. Once the server has accepted
    it nothing here raises: an error while closing must not turn a sent message into a retry."""
    try:
        sender = msg["From"].addresses[0].addr_spec
        recipients = [a.addr_spec for a in msg["To"].addresses]
        content = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
        smtp = connect()
    except SettingsProblem as exc:
        raise NotSent(str(exc), permanent=True) from exc
    except Exception as exc:  # nothing has been sent: refused, unreachable, TLS or login failed
        raise NotSent(describe(exc), permanent=False) from exc
    try:
        try:
            smtp.ehlo_or_helo_if_needed()
            code, reply = smtp.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, sender)  # the sender is the operator's to fix
            for address in recipients:
                code, reply = smtp.rcpt(address)
                if code not in (250, 251):
                    raise NotSent(describe(smtplib.SMTPRecipientsRefused({address: (code, reply)})), code >= 500)
        except NotSent:
            raise
        except Exception as exc:
            raise NotSent(describe(exc), permanent=False) from exc
        try:
            code, reply = smtp.data(content)
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
        except smtplib.SMTPResponseException as exc:
            if not 400 <= exc.smtp_code < 600:  # no proper refusal either
                raise Unconfirmed(describe(exc)) from exc
            raise NotSent(describe(exc), permanent=exc.smtp_code >= 500) from exc
        except Exception as exc:
            raise Unconfirmed(describe(exc)) from exc
    except BaseException:
        smtp.close()  # not QUIT: after a timeout it would wait as long again
        raise
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


@dataclass(frozen=True)
class Outcome:
    """What one delivery call did: the row's status after it, and whether the server accepted the message now."""

    key: Key
    status: str
    now: bool = False
    error: str = ""


def deliver(
    ledger: Ledger,
    m: Manifest,
    edition_dir: Path,
    reader: Reader,
    settings: DistributionSettings,
    connect: Connect,
    reclaim: Collection[str] = (),
) -> Outcome:
    """Deliver edition ``m`` to ``reader`` unless the ledger has it sent, being sent, or in a
    status not listed in ``reclaim``. A refusal before the server could have the message is
    tried again BRIEFKIT_MAIL_RETRIES times, then left pending; nothing else is retried.
    Call it within a run (see :func:`deliver_all`): the run's lock makes claims safe to recover."""
    key = Key(m.publication_id, m.edition_id, reader.address)
    status = ledger.status(key)
    if status not in (None, PENDING, *reclaim):
        return Outcome(key, status)
    out = plan(m, reader, settings)
    letter = Letter(key, reader.name, out.formats, out.message_id)
    try:
        msg, problem = compose(m, edition_dir, out, settings, format_datetime(dt.datetime.now(dt.UTC))), ""
    except (DeliveryError, OSError) as exc:
        msg, problem = None, describe(exc)
    for retry in range(settings.mail_retries + 1):
        if retry:
            time.sleep(settings.mail_retry_delay * 2 ** (retry - 1))
        if not ledger.claim(letter, reclaim):
            return Outcome(key, ledger.status(key) or PENDING)
        if msg is None:
            return _finish(ledger, key, FAILED, problem)
        try:
            send(msg, connect)
        except NotSent as exc:
            outcome = _finish(ledger, key, FAILED if exc.permanent else PENDING, exc.reason)
            if outcome.status != PENDING:
                return outcome
            continue
        except Unconfirmed as exc:
            return _finish(ledger, key, UNCONFIRMED, str(exc))
        return _finish(ledger, key, SENT, now=True)
    return outcome  # pending: the next run tries again


def _finish(ledger: Ledger, key: Key, status: str, error: str = "", now: bool = False) -> Outcome:
    """End the claim; a ledger that cannot be written leaves it ``sending``, which the next run
    reports as unconfirmed: never a reason to send again."""
    try:
        ledger.finish(key, status, error)
    except sqlite3.Error as exc:
        return Outcome(key, SENDING, now, f"{status}, but the ledger could not record it: {describe(exc)}")
    return Outcome(key, status, now, error)


def deliver_all(
    ledger: Ledger,
    m: Manifest,
    edition_dir: Path,
    readers: Sequence[Reader],
    settings: DistributionSettings,
    connect: Connect,
    *,
    resend_unconfirmed: bool = False,
    retry_failed: bool = False,
    workers: int = 8,
) -> list[Outcome]:
    """One run's deliveries of edition ``m``, ``workers`` at a time, in ``readers``' order.

    Holds the ledger's run lock, so a concurrent run waits and then finds them sent; marks
    what a dead run left ``sending`` unconfirmed first, and older editions' pending rows
    superseded. Unconfirmed rows are sent again only with ``resend_unconfirmed``, failed
    ones only with ``retry_failed``: both are the operator's decision, never a retry's."""
    reclaim = (UNCONFIRMED,) * resend_unconfirmed + (FAILED,) * retry_failed
    with ledger.exclusive():
        ledger.recover()
        ledger.supersede(m.publication_id, m.edition_id)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deliver") as pool:
            return list(pool.map(lambda r: deliver(ledger, m, edition_dir, r, settings, connect, reclaim), readers))


def describe(exc: BaseException) -> str:
    """A one-line reason for the ledger and the report; SMTP replies carry no credentials."""
    return f"{type(exc).__name__}: {exc}".replace("\n", " ")[:300]


def smtp_connector(settings: DistributionSettings) -> Connect:
    """Connections from BRIEFKIT_SMTP_* settings, with a timeout so a silent server cannot hang a run."""
    context = ssl.create_default_context()  # once: loading the CA certificates takes 80 ms of CPU

    def connect() -> smtplib.SMTP:
        if settings.smtp_ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
        try:
            if settings.smtp_starttls and not settings.smtp_ssl:
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    raise SettingsProblem(
                        f"the server at {settings.smtp_host}:{settings.smtp_port} does not offer STARTTLS: set "
                        "BRIEFKIT_SMTP_STARTTLS=false for a plain local relay, or BRIEFKIT_SMTP_SSL=true for implicit TLS"
                    )
                smtp.starttls(context=context)
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        except BaseException:
            smtp.close()
            raise
        return smtp

    return connect
