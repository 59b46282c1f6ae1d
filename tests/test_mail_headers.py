"""Composing a message: no title, name or setting can add a header, on any Python.

This machine's Python 3.11.7 has CVE-2024-6923: an RFC 2047 encoded word carrying CR LF
becomes a raw line break, so a title of '=?utf-8?q?x=0D=0AReply-To:...?=' would add a
Reply-To header. compose must come out with exactly its own headers whatever the values.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
from pathlib import Path

import pytest

from briefkit.distribution.config import DistributionSettings
from briefkit.distribution.mail import HEADERS, DeliveryError, compose, plan
from briefkit.distribution.readers import Reader
from briefkit.manifest import Manifest, edition_dir
from tests.editions import publish_edition
from tests.smtp_server import Inbox, smtp_server
from tests.test_mail import run, settings

DATE = "Thu, 03 Dec 2026 10:00:00 +0000"
TITLES = {
    "encoded CR LF": "Weekly =?utf-8?q?brief=0D=0AReply-To:_attacker@evil.example?=",
    "raw CR LF": "Weekly brief\r\nReply-To: attacker@evil.example",
    "raw LF": "Weekly brief\nReply-To: attacker@evil.example",
    "line separator": "Weekly brief\u2028Reply-To: attacker@evil.example",
    "next line": "Weekly brief\x85Reply-To: attacker@evil.example",
    "encoded LF in base64": "Weekly =?utf-8?b?YnJpZWYKUmVwbHktVG86IGF0dGFja2VyQGV2aWwuZXhhbXBsZQ==?=",
}
NAMES = {
    "encoded CR LF": "=?utf-8?q?R=0D=0AX-Injected:_yes?=",
    "raw CR LF": "R\r\nX-Injected: yes",
    "paragraph separator": "R\u2029X-Injected: yes",
    "quoted encoded word": '"=?utf-8?q?R=0D=0AX-Injected:_yes?=" <x@evil.example>',
}


def composed(tmp_path: Path, m: Manifest, reader: Reader, **overrides: object) -> bytes:
    values: dict[str, object] = {"output_dir": tmp_path / "output", "smtp_from": "Briefings <briefs@example.org>"}
    s = DistributionSettings(**(values | overrides))
    msg = compose(m, edition_dir(s.output_dir, m.publication_id, m.edition), plan(m, reader, s), s, DATE)
    return msg.as_bytes(policy=email.policy.SMTP)


def header_names(raw: bytes) -> list[str]:
    return list(email.message_from_bytes(raw, policy=email.policy.default).keys())


def assert_only_own_headers(raw: bytes) -> None:
    block = raw.split(b"\r\n\r\n", 1)[0]
    assert sorted(header_names(raw)) == sorted(HEADERS), block
    for forbidden in (b"Reply-To", b"X-Injected", b"reply-to", b"x-injected"):
        assert b"\r\n" + forbidden not in block and b"\n" + forbidden not in block, block


@pytest.mark.parametrize("title", TITLES.values(), ids=TITLES.keys())
def test_no_title_adds_a_header(tmp_path: Path, title: str) -> None:
    m = publish_edition(tmp_path / "output", title=title)
    raw = composed(tmp_path, m, Reader("Ada", "ada@example.org", None))
    assert_only_own_headers(raw)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"].startswith("[OFFICIAL] Weekly") and "\n" not in parsed["Subject"]


@pytest.mark.parametrize("name", NAMES.values(), ids=NAMES.keys())
def test_no_reader_name_adds_a_header(tmp_path: Path, name: str) -> None:
    m = publish_edition(tmp_path / "output")
    raw = composed(tmp_path, m, Reader(name, "ada@example.org", None))
    assert_only_own_headers(raw)
    (to,) = email.message_from_bytes(raw, policy=email.policy.default)["To"].addresses
    assert to.addr_spec == "ada@example.org" and "\n" not in to.display_name


def test_no_sender_setting_adds_a_header(tmp_path: Path) -> None:
    m = publish_edition(tmp_path / "output")
    raw = composed(
        tmp_path, m, Reader("Ada", "ada@example.org", None), smtp_from="=?utf-8?q?B=0D=0AReply-To:_x?= <b@example.org>"
    )
    assert_only_own_headers(raw)
    with pytest.raises(DeliveryError, match="BRIEFKIT_SMTP_FROM"):
        composed(tmp_path, m, Reader("Ada", "ada@example.org", None), smtp_from="not an address")


def test_a_value_that_does_not_come_back_as_set_is_refused(tmp_path: Path) -> None:
    m = publish_edition(tmp_path / "output")
    s = DistributionSettings(output_dir=tmp_path / "output", smtp_from="b@example.org")
    out = dataclasses.replace(plan(m, Reader("Ada", "ada@example.org", None), s), message_id="<a@b> <c@d>")
    with pytest.raises(DeliveryError, match="Message-ID header did not come out as it was set"):
        compose(m, edition_dir(s.output_dir, m.publication_id, m.edition), out, s, DATE)


def test_the_classification_leads_the_subject(tmp_path: Path) -> None:
    reader = Reader("Ada", "ada@example.org", None)
    for classification, want in (
        ("OFFICIAL-SENSITIVE", "[OFFICIAL-SENSITIVE] Title: edition of 2026-12-03"),
        ("", "Title: edition of 2026-12-03"),
    ):
        m = publish_edition(
            tmp_path / "output", edition=dt.date(2026, 12, 3), title="Title", classification=classification
        )
        parsed = email.message_from_bytes(composed(tmp_path, m, reader), policy=email.policy.default)
        assert parsed["Subject"] == want


def test_what_the_smtp_server_receives_has_no_injected_header(tmp_path: Path) -> None:
    m = publish_edition(tmp_path / "output", title=TITLES["encoded CR LF"])
    inbox = Inbox()
    with smtp_server(inbox) as port:
        s = settings(tmp_path, port, smtp_username="")
        (outcome,) = run(s, m, Reader(NAMES["encoded CR LF"], "ada@example.org", None))
        assert outcome.now, outcome
    (msg,) = inbox.messages
    assert sorted(msg.keys()) == sorted(HEADERS)
