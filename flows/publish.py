"""The publish flow: bring the reader portal up to date, then mail each reader the latest edition.

Runs after a successful build (``briefkit publish``, or the scheduled deployment of
``build_and_publish``). The portal is published first so the links in the messages work.
Each edition's deliveries are one task (briefkit.distribution.mail.deliver_all) without
Prefect retries: a retry could send a message the server already has, so deliver_all
retries only what the server surely does not have. The run's markdown artifact lists what
was sent, what is pending, unconfirmed (resent only with ``resend_unconfirmed``) or failed. Credentials are read from the environment or a
Prefect block inside the delivery task: they are never flow parameters, log lines or
artifact text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path

import flows.quiet  # noqa: F401 - before prefect is imported

# isort: split
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import FlowRun
from prefect.context import FlowRunContext
from prefect.futures import wait
from prefect.states import Cancelled, State

from briefkit.diagnostics import Diagnostic, has_errors
from briefkit.distribution.alerts import Alert, alert_editors
from briefkit.distribution.config import DistributionSettings, get_distribution_settings
from briefkit.distribution.ledger import FAILED, PENDING, SENT, UNCONFIRMED, Delivery, Ledger
from briefkit.distribution.mail import Connect, Outcome, deliver_all, smtp_connector
from briefkit.distribution.portal import SiteReport, publish_site
from briefkit.distribution.readers import Reader, load_readers
from briefkit.manifest import Manifest, edition_dir, latest_dir, published_publications, read_manifest
from briefkit.settings import get_settings
from exporters import registry
from flows.artifacts import markdown_text
from flows.build import BuildFailed, build, resolve
from flows.outcomes import Outcome as Built
from flows.runs import name_run, publication_run_name


@dataclass(frozen=True)
class PublishReport:
    site_root: Path
    site: SiteReport
    mail_enabled: bool
    sent: tuple[tuple[str, str, str], ...] = ()  # (publication, edition, address) sent by this run
    already_sent: int = 0
    pending: tuple[Delivery, ...] = ()  # tried again by the next run
    unconfirmed: tuple[Delivery, ...] = ()  # the server may have them: resent only when asked
    failed: tuple[Delivery, ...] = ()  # refused for good: retried only when asked
    reader_problems: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return not (self.pending or self.unconfirmed or self.failed or has_errors(list(self.reader_problems)))


def connector(settings: DistributionSettings) -> Connect:
    """SMTP connections from the named EmailServerCredentials block, or from BRIEFKIT_SMTP_*."""
    if settings.smtp_block:
        from prefect_email import EmailServerCredentials  # only when a block is named

        return EmailServerCredentials.load(settings.smtp_block).get_server
    return smtp_connector(settings)


@task(name="publish-portal", cache_policy=NO_CACHE)
def publish_portal(
    output: Path, site_root: Path, title: str, base_url: str, publications: list[str] | None = None
) -> SiteReport:
    report = publish_site(output, site_root, title, base_url, publications=publications)
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
    retries=0,  # deliver_all retries what is safe to; a task retry could resend what the server has
    cache_policy=NO_CACHE,
    task_run_name="deliver {manifest.publication_id} {manifest.edition_id}",
)
def deliver_edition(
    manifest: Manifest,
    directory: Path,
    readers: list[Reader],
    ledger_path: Path,
    resend_unconfirmed: bool = False,
    retry_failed: bool = False,
) -> list[Outcome]:
    settings = get_distribution_settings()  # here, not as a parameter: parameters are recorded
    with Ledger(ledger_path) as ledger:
        outcomes = deliver_all(
            ledger,
            manifest,
            directory,
            readers,
            settings,
            connector(settings),
            resend_unconfirmed=resend_unconfirmed,
            retry_failed=retry_failed,
        )
    logger = get_run_logger()
    for o in outcomes:
        done = ("sent" if o.now else "already sent") if o.status == SENT else o.status
        logger.info("%s %s to %s%s", done, manifest.edition_id, o.key.address, f": {o.error}" if o.error else "")
    return outcomes


@flow(name="publish")
def publish(
    output_dir: str | None = None,
    source_dir: str | None = None,
    site_dir: str | None = None,
    publications: list[str] | None = None,
    resend_unconfirmed: bool = False,
    retry_failed: bool = False,
) -> PublishReport:
    """Bring the portal up to date with ``output_dir`` and mail the latest editions of
    ``publications`` (default: every one) to their readers; ``resend_unconfirmed`` and
    ``retry_failed`` are the operator's: no run does either by itself."""
    settings = get_distribution_settings()
    output = Path(output_dir) if output_dir else settings.output_dir
    source = Path(source_dir) if source_dir else settings.source_dir
    site_root = Path(site_dir) if site_dir else settings.site_root(output)
    site = publish_portal(output, site_root, settings.site_title, settings.base_url, publications)
    report = PublishReport(site_root, site, settings.mail_enabled)
    if settings.mail_enabled:
        scope = [p for p in published_publications(output) if publications is None or p in publications]
        report = _mail(report, output, source, scope, settings, resend_unconfirmed, retry_failed)
    create_markdown_artifact(
        key="publish-report", markdown=to_markdown(report), description="Portal and deliveries of this publish run"
    )
    return report


def _finished(flow: object, flow_run: FlowRun, state: State) -> None:
    """One line per finished run for `serve`'s terminal; a run that failed or crashed alerts the editors
    (a cancelled one waited for another run building the publication: that one alerts if it fails)."""
    directory = resolve(str(flow_run.parameters["publication"]))
    output = Path(flow_run.parameters.get("output_dir") or get_distribution_settings().output_dir)
    latest = read_manifest(latest_dir(output, directory.name))
    seconds = (dt.datetime.now(dt.UTC) - flow_run.start_time).total_seconds() if flow_run.start_time else 0.0
    edition = f"edition {latest.edition_id}" if latest else "no edition"
    print(f"{directory.name}  {state.name}  {edition}  {seconds:.1f} s  (run {flow_run.name})", flush=True)
    if not (state.is_failed() or state.is_crashed()):
        return
    error = state.result(raise_on_failure=False) if state.is_failed() else None
    details = (
        [str(d) for o in error.outcomes for d in o.diagnostics if d.is_error] if isinstance(error, BuildFailed) else []
    )
    for line in details:
        print(f"  {line}", flush=True)
    settings = get_distribution_settings()
    editors, _ = load_readers(directory, (), key="editors")
    if settings.mail_enabled and editors:
        alert = Alert(directory.name, flow_run.name, state.name, state.message or "", tuple(details))
        for problem in alert_editors(alert, editors, settings, connector(settings)):
            print(f"  {problem}", flush=True)


@flow(
    name="build-and-publish",
    flow_run_name=publication_run_name,
    on_completion=[_finished],
    on_failure=[_finished],
    on_crashed=[_finished],
)
def build_and_publish(
    publication: str, output_dir: str | None = None, strict: bool = False, lock_wait: float | None = None
) -> PublishReport | State:
    """Build one publication, then publish; a failed build raises, so nothing is published.
    ``strict``: warnings fail the build too (as a publication's own ``strict: true`` does).
    ``lock_wait`` (default BRIEFKIT_LOCK_WAIT_SECONDS): how long to wait for another run that is
    building the publication; then the run ends Cancelled, saying which run holds it."""
    directory = resolve(publication)
    wait = get_settings().lock_wait_seconds if lock_wait is None else lock_wait
    built = build(publication=publication, output_dir=output_dir, strict=strict, lock_wait=wait, return_state=True)
    if built.is_cancelled():
        cancelled = Cancelled(message=built.message)
        run = FlowRunContext.get().flow_run  # type: ignore[union-attr]
        _finished(build_and_publish, run, cancelled)  # Prefect runs no hook for a returned Cancelled state
        return cancelled
    try:
        outcomes: list[Built] = built.result()
    except BuildFailed as failed:  # named as its build is, then failed with its reason
        name_run(failed.outcomes)
        raise
    name_run(outcomes)
    return publish(output_dir=output_dir, source_dir=str(directory.parent), publications=[directory.name])


def _mail(
    report: PublishReport,
    output: Path,
    source: Path,
    publications: list[str],
    settings: DistributionSettings,
    resend_unconfirmed: bool,
    retry_failed: bool,
) -> PublishReport:
    ledger_path = settings.ledger_path(output)
    problems: list[Diagnostic] = []
    futures = []
    for pub in publications:
        manifest = read_manifest(latest_dir(output, pub))
        readers, diags = load_readers(source / pub, registry.names())
        problems += diags
        if manifest is None or has_errors(diags):
            continue
        directory = edition_dir(output, pub, manifest.edition_id)
        futures.append(
            deliver_edition.submit(manifest, directory, readers, ledger_path, resend_unconfirmed, retry_failed)
        )
    wait(futures)  # every edition's deliveries end before a failed one's error is raised
    outcomes = [o for f in futures for o in f.result()]
    editions = {(o.key.publication_id, o.key.edition) for o in outcomes}
    with Ledger(ledger_path) as ledger:
        rows = [d for d in ledger.rows() if (d.publication_id, d.edition) in editions]
    return replace(
        report,
        sent=tuple((o.key.publication_id, o.key.edition, o.key.address) for o in outcomes if o.now),
        already_sent=sum(o.status == SENT and not o.now for o in outcomes),
        pending=tuple(d for d in rows if d.status == PENDING),
        unconfirmed=tuple(d for d in rows if d.status == UNCONFIRMED),
        failed=tuple(d for d in rows if d.status == FAILED),
        reader_problems=tuple(problems),
    )


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
        f"**Mail**: {len(report.sent)} sent now, {report.already_sent} sent before, {len(report.pending)} pending, "
        f"{len(report.unconfirmed)} unconfirmed, {len(report.failed)} failed."
    )
    if report.sent:
        lines += ["", "| publication | edition | reader | status |", "| --- | --- | --- | --- |"]
        lines += [f"| {p} | {e} | {markdown_text(a)} | sent |" for p, e, a in report.sent]
    for title, rows in (
        ("Pending (retried on the next run)", report.pending),
        (
            "Unconfirmed (the server may have them: check with the reader, or resend with --resend-unconfirmed)",
            report.unconfirmed,
        ),
        ("Failed (refused for good: fix the cause, then retry with --retry-failed)", report.failed),
    ):
        if rows:
            lines += [
                "",
                f"## {title}",
                "",
                "| publication | edition | reader | attempts | last error |",
                "| --- | --- | --- | --- | --- |",
            ]
            lines += [
                f"| {d.publication_id} | {d.edition} | {markdown_text(d.address)} | {d.attempts} | {markdown_text(d.last_error)} |"
                for d in rows
            ]
    if report.reader_problems:
        lines += ["", "## Reader lists with problems (nothing sent for these)", ""]
        lines += [f"- {markdown_text(str(d))}" for d in report.reader_problems]
    return "\n".join(lines) + "\n"
