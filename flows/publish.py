"""The publish flow: bring the reader portal up to date, then mail each reader the latest edition.

Runs after a successful build (``briefkit publish``, or the scheduled deployment of
``build_and_publish``). The portal is published first so the links in the messages work.
Each (reader, edition) delivery is one task with retries and exponential backoff; one
still failing stays pending in the ledger for the next run. The run's markdown artifact
lists what was sent and what is pending. Credentials are read from the environment or a
Prefect block inside the delivery task: they are never flow parameters, log lines or
artifact text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import wait

import flows.console  # noqa: F401  (quiet Prefect before it loads)
from briefkit.diagnostics import Diagnostic, has_errors
from briefkit.distribution.config import DistributionSettings, get_distribution_settings
from briefkit.distribution.ledger import PENDING, Delivery, Ledger
from briefkit.distribution.mail import Connect, deliver, smtp_connector
from briefkit.distribution.portal import SiteReport, publish_site
from briefkit.distribution.readers import Reader, load_readers
from briefkit.manifest import Manifest, edition_dir, latest_dir, published_publications, read_manifest
from exporters import registry
from flows.build import build, markdown_text, resolve


@dataclass(frozen=True)
class PublishReport:
    site_root: Path
    site: SiteReport
    mail_enabled: bool
    sent: tuple[tuple[str, dt.date, str], ...] = ()  # (publication, edition, address) sent by this run
    already_sent: int = 0
    pending: tuple[Delivery, ...] = ()
    reader_problems: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.pending and not has_errors(list(self.reader_problems))


def connector(settings: DistributionSettings) -> Connect:
    """SMTP connections from the named EmailServerCredentials block, or from BRIEFKIT_SMTP_*."""
    if settings.smtp_block:
        from prefect_email import EmailServerCredentials  # only when a block is named

        return EmailServerCredentials.load(settings.smtp_block).get_server
    return smtp_connector(settings)


@task(name="publish-portal", cache_policy=NO_CACHE)
def publish_portal(output: Path, site_root: Path, title: str, base_url: str) -> SiteReport:
    report = publish_site(output, site_root, title, base_url)
    get_run_logger().info(
        "portal %s: %d files written, %d unchanged, %d removed",
        site_root,
        len(report.written),
        report.unchanged,
        len(report.removed),
    )
    return report


@task(
    name="deliver",
    cache_policy=NO_CACHE,
    task_run_name="deliver {manifest.publication_id} {manifest.edition} to {reader.address}",
)
def deliver_edition(manifest: Manifest, directory: Path, reader: Reader, ledger_path: Path) -> bool:
    settings = get_distribution_settings()  # here, not as a parameter: parameters are recorded
    sent = deliver(Ledger(ledger_path), manifest, directory, reader, settings, connector(settings))
    get_run_logger().info("%s %s to %s", "sent" if sent else "already sent", manifest.edition, reader.address)
    return sent


@flow(name="publish")
def publish(output_dir: str | None = None, source_dir: str | None = None, site_dir: str | None = None) -> PublishReport:
    """Publish every edition under ``output_dir`` to the portal and mail the latest ones."""
    settings = get_distribution_settings()
    output = Path(output_dir) if output_dir else settings.output_dir
    source = Path(source_dir) if source_dir else settings.source_dir
    site_root = Path(site_dir) if site_dir else settings.site_root(output)
    site = publish_portal(output, site_root, settings.site_title, settings.base_url)
    report = PublishReport(site_root, site, settings.mail_enabled)
    if settings.mail_enabled:
        report = _mail(report, output, source, settings)
    create_markdown_artifact(
        key="publish-report", markdown=to_markdown(report), description="Portal and deliveries of this publish run"
    )
    return report


@flow(name="build-and-publish")
def build_and_publish(publication: str, output_dir: str | None = None) -> PublishReport:
    """Build one publication, then publish; a failed build raises, so nothing is published."""
    build(publication=publication, output_dir=output_dir)
    return publish(output_dir=output_dir, source_dir=str(resolve(publication).parent))


def _mail(report: PublishReport, output: Path, source: Path, settings: DistributionSettings) -> PublishReport:
    ledger_path = settings.ledger_path(output)
    ledger = Ledger(ledger_path)
    delays = [settings.mail_retry_delay * 2**n for n in range(settings.mail_retries)]
    task = deliver_edition.with_options(retries=settings.mail_retries, retry_delay_seconds=delays)
    problems: list[Diagnostic] = []
    futures = []
    already = 0
    with ledger.exclusive():  # a second run at the same time would send the same messages
        for pub in published_publications(output):
            manifest = read_manifest(latest_dir(output, pub))
            readers, diags = load_readers(source / pub, registry.names())
            problems += diags
            if manifest is None or has_errors(diags):
                continue
            ledger.supersede(pub, manifest.edition)
            directory = edition_dir(output, pub, manifest.edition)
            for reader in readers:
                if ledger.is_sent(pub, manifest.edition, reader.address):
                    already += 1
                else:
                    futures.append((manifest, reader, task.submit(manifest, directory, reader, ledger_path)))
        wait([f for _, _, f in futures])
    sent = tuple(
        (m.publication_id, m.edition, r.address) for m, r, f in futures if f.state.is_completed() and f.result()
    )
    editions = {(m.publication_id, m.edition) for m, _, _ in futures}
    pending = tuple(d for d in ledger.rows(PENDING) if (d.publication_id, d.edition) in editions)
    return replace(report, sent=sent, already_sent=already, pending=pending, reader_problems=tuple(problems))


def to_markdown(report: PublishReport) -> str:
    lines = [
        "# Publish run",
        "",
        f"**Portal** `{report.site_root}`: {len(report.site.written)} files written, {report.site.unchanged} unchanged, {len(report.site.removed)} removed.",
        "",
    ]
    if not report.mail_enabled:
        lines.append("**Mail** is not configured (set BRIEFKIT_SMTP_HOST or BRIEFKIT_SMTP_BLOCK): nothing was sent.")
        return "\n".join(lines) + "\n"
    lines.append(
        f"**Mail**: {len(report.sent)} sent now, {report.already_sent} sent before, {len(report.pending)} pending."
    )
    if report.sent:
        lines += ["", "| publication | edition | reader | status |", "| --- | --- | --- | --- |"]
        lines += [f"| {p} | {e} | {markdown_text(a)} | sent |" for p, e, a in report.sent]
    if report.pending:
        lines += [
            "",
            "## Pending (retried on the next run)",
            "",
            "| publication | edition | reader | attempts | last error |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {d.publication_id} | {d.edition} | {markdown_text(d.address)} | {d.attempts} | {markdown_text(d.last_error)} |"
            for d in report.pending
        ]
    if report.reader_problems:
        lines += ["", "## Reader lists with problems (nothing sent for these)", ""]
        lines += [f"- {markdown_text(str(d))}" for d in report.reader_problems]
    return "\n".join(lines) + "\n"
