"""The `briefkit` command line, the application's edge: validate and import here; build, serve
and publish hand off to the flows. Nothing imports this module.

Exit status: 0 success, 1 problems in the input or a failed run, 2 usage errors. Bad input
never produces a traceback: it produces diagnostics.
"""

from __future__ import annotations

import contextlib
import enum
import os
import signal
import sys
import tempfile
import threading
import time
import zoneinfo
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.text import Text

from briefkit import importer, report
from briefkit.cron import cron_problem
from briefkit.diagnostics import Diagnostic, has_errors
from briefkit.loader import PUBLICATION_FILE, SLUG, load_publication, locate_publication, publication_dirs, read_source
from briefkit.manifest import Manifest, edition_dir, latest_dir, published_publications, read_manifest
from briefkit.settings import get_settings
from exporters import registry
from flows.outcomes import Outcome, already_built, print_outcomes

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console()
err_console = Console(stderr=True)


class OutputFormat(str, enum.Enum):
    text = "text"
    json = "json"


def resolve_publications(paths: list[Path] | None) -> list[Path]:
    """Publication directories: the given ones, as paths or ids under source/ (a source root
    expands), or all under source/. What is neither stays as given, for validation to name."""
    source = get_settings().source_dir
    if not paths:
        return publication_dirs(source)
    found: list[Path] = []
    for given in paths:
        path = located if (located := locate_publication(str(given), source)).exists() else given
        is_source_root = any((d / PUBLICATION_FILE).exists() for d in publication_dirs(path))
        if not (path / PUBLICATION_FILE).exists() and is_source_root:
            found.extend(publication_dirs(path))
        else:
            found.append(path)
    return found


_PLAIN = {"markup": False, "highlight": False, "soft_wrap": True}  # text from input printed as it is, paths whole


def fail_usage(message: str) -> typer.Exit:
    err_console.print(f"briefkit: {message}", **_PLAIN)
    return typer.Exit(2)


def directory_option(path: Path, option: str, written: bool = True) -> Path:
    """``path``, given as ``option``, unless it names something that is not a directory,
    or, when the command will write there, a directory that cannot be made or written."""
    if path.exists() and not path.is_dir():
        raise fail_usage(f"{option} {path} is not a directory; give a directory (it is created if missing)")
    if written:
        try:
            path.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=path):
                pass
        except OSError as exc:
            raise fail_usage(
                f"{option} {path}: cannot write there ({exc.strerror}); give a directory you can write to"
            ) from None
    return path


@app.command()
def validate(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Publication ids under source/ or directories (default: every one).")
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as errors.")] = False,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="text for people, json for programs.")
    ] = OutputFormat.text,
) -> None:
    """Check publications and report every problem with file, line and fix."""
    dirs = resolve_publications(paths)
    if not dirs:
        raise fail_usage(f"no publications found under {get_settings().source_dir}/")
    diagnostics: list[Diagnostic] = []
    for directory in dirs:
        diagnostics.extend(load_publication(directory, known_formats=registry.names())[1])
        diagnostics.extend(reader_problems(directory))
    if output_format is OutputFormat.json:
        sys.stdout.write(report.to_json(diagnostics) + "\n")
    else:
        report.print_text(diagnostics, console)
        if not diagnostics:
            console.print(f"{len(dirs)} publication{'s' * (len(dirs) != 1)} checked: clean", highlight=False)
    failed = has_errors(diagnostics) or (strict and bool(diagnostics))
    raise typer.Exit(1 if failed else 0)


@app.command("import")
def import_text(
    file: Annotated[
        Path, typer.Argument(help="A Word document (.docx), or UTF-8 plain text: one passage per paragraph or line.")
    ],
    into: Annotated[Path, typer.Option("--into", help="New publication directory, e.g. source/my-brief.")],
    title: Annotated[str, typer.Option("--title", help="The publication's title (default: the document's).")] = "",
) -> None:
    """Create a publication from a Word document (headings split passages) or a plain text file."""
    if not file.is_file():
        raise fail_usage(f"{file}: no such file")
    if into.exists() and any(into.iterdir()):
        raise fail_usage(f"{into} already exists and is not empty; choose a new directory")
    if file.suffix.lower() == ".docx":
        from briefkit.word_import import WordImportError, plan_docx

        try:
            found_title, passages = plan_docx(file)
        except WordImportError as exc:
            raise fail_usage(str(exc)) from None
    else:
        diagnostics: list[Diagnostic] = []
        text = read_source(file, limit=1 << 30, diags=diagnostics)
        if text is None or has_errors(diagnostics):
            report.print_text(diagnostics, console)
            raise typer.Exit(1)
        found_title, passages = "", importer.plan(text)
    if not passages:
        raise fail_usage(f"{file} has no text to import")
    importer.write_publication(passages, into, title.strip() or found_title or file.stem)
    console.print(f"imported {len(passages)} passages into {into}", **_PLAIN)
    report.print_text(load_publication(into)[1], console)


@app.command()
def new(
    publication: Annotated[str, typer.Argument(help="The new publication's id: lower-case letters, digits, hyphens.")],
    title: Annotated[str, typer.Option("--title", help="Its title (default: from the id).")] = "",
) -> None:
    """Start a publication under source/: publication.yaml and an example passage that validate clean."""
    if not SLUG.match(publication):
        raise fail_usage(f"'{publication}' is not a publication id: use lower-case letters, digits and single hyphens")
    into = get_settings().source_dir / publication
    if into.exists():
        raise fail_usage(f"{into} already exists; choose another id")
    importer.write_skeleton(into, title.strip() or publication.replace("-", " ").capitalize())
    console.print(
        f"created {into}: edit {into / PUBLICATION_FILE} and {into / 'passages'}/, then `briefkit validate {publication}`",
        **_PLAIN,
    )


def resolve_names(names: list[str] | None) -> list[Path]:
    """Publication directories from ids under source/ or paths; unknown names are usage errors."""
    source = get_settings().source_dir
    if not names:
        return publication_dirs(source)
    found: list[Path] = []
    for name in names:
        path = locate_publication(name, source)
        if not path.is_dir():
            known = ", ".join(d.name for d in publication_dirs(source)) or "none"
            raise fail_usage(
                f"unknown publication '{name}': not a directory nor an id under {source}/ (known: {known})"
            )
        found.append(path)
    return found


@app.command()
def build(
    publications: Annotated[
        list[str] | None, typer.Argument(help="Publication ids under source/ or directories (default: every one).")
    ] = None,
    formats: Annotated[
        list[str] | None,
        typer.Option(
            "--formats",
            help="Formats to rebuild, e.g. --formats pdf (default: all the publication lists); "
            "the others are carried over when unchanged, else rebuilt too.",
        ),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as errors.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even when the latest edition is up to date.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Output directory (default: output/).")] = None,
    dask: Annotated[
        str, typer.Option("--dask", help="Address of a running Dask scheduler to fan out on, e.g. tcp://host:8786.")
    ] = "",
) -> None:
    """Validate, export every format in parallel, verify and publish: a Prefect flow run."""
    dirs = resolve_names(publications)
    if not dirs:
        raise fail_usage(f"no publications found under {get_settings().source_dir}/")
    output = directory_option(out or get_settings().output_dir, "--out")
    chosen = [f.strip() for spec in formats or [] for f in spec.split(",") if f.strip()] or None
    if unknown := [f for f in chosen or [] if f not in registry.names()]:
        raise fail_usage(f"unknown format {', '.join(unknown)}; known formats: {', '.join(registry.names())}")
    # Nothing to do is found without Prefect (a flow run would say the same, seconds later).
    done = {d: None if force else already_built(d, chosen, strict, output) for d in dirs}
    outcomes = [o for o in done.values() if o is not None]
    if to_build := [d for d, o in done.items() if o is None]:
        outcomes += _run_builds(to_build, chosen, strict, force, output, dask)
        order = [d.name for d in dirs]  # a publication's id is its directory's name
        outcomes.sort(key=lambda o: order.index(o.publication_id) if o.publication_id in order else len(order))
    print_outcomes(outcomes, console)
    raise typer.Exit(0 if all(o.ok for o in outcomes) else 1)


def _run_builds(
    dirs: list[Path], chosen: list[str] | None, strict: bool, force: bool, output: Path, dask: str
) -> list[Outcome]:
    address = dask or get_settings().dask_address
    if address:
        from flows.runners import dask_problem

        if problem := dask_problem(address):
            given = "--dask" if dask else "BRIEFKIT_DASK_ADDRESS"
            raise fail_usage(
                f"{given} {address}: {problem}; start the scheduler (`dask scheduler`) or build without it"
            )
    from flows import handoff  # imports httpx: not needed when everything is up to date

    if (server := handoff.worker_for(address)) is not None:  # the local worker builds at once: no imports
        outcomes, why = handoff.run(server, dirs, chosen, strict, force, output, console)
        if outcomes is None:
            console.print(Text(why, style="bold red"), soft_wrap=True)
    else:
        from flows.console import run_build  # imports prefect: only when building here

        with prefect_server():
            outcomes = run_build(dirs, chosen, strict, force, output, address, console)
    if outcomes is None:
        raise typer.Exit(1)
    return outcomes


def schedule_options(cron: str, timezone: str) -> None:
    """--cron and --timezone, checked before anything is served or written."""
    if cron and (problem := cron_problem(cron)):
        raise fail_usage(f"--cron '{cron}' is not a cron expression: {problem}")
    if timezone not in zoneinfo.available_timezones():
        raise fail_usage(f"--timezone '{timezone}' is not an IANA time zone name; write e.g. Europe/London or UTC")


_CRON_HELP = 'Schedule for publications without their own, e.g. "0 6 * * 1-5" (06:00 on weekdays).'
_TIMEZONE_HELP = "IANA time zone of the schedules, for publications without their own timezone:, e.g. Europe/Kyiv."


@app.command()
def serve(
    publications: Annotated[
        list[str] | None, typer.Argument(help="Publication ids under source/ or directories (default: every one).")
    ] = None,
    cron: Annotated[str, typer.Option("--cron", help=_CRON_HELP)] = "",
    timezone: Annotated[str, typer.Option("--timezone", help=_TIMEZONE_HELP)] = "UTC",
    interval: Annotated[
        float, typer.Option("--interval", help="Schedule every N seconds instead (tests and demos).", hidden=True)
    ] = 0,
    out: Annotated[Path | None, typer.Option("--out", help="Output directory (default: output/).")] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Warnings stop a run from publishing, as errors do.")
    ] = False,
) -> None:
    """Serve the build-and-publish deployments: the Prefect server runs them on schedule or on demand."""
    dirs = resolve_names(publications)
    if not dirs:
        raise fail_usage(f"no publications found under {get_settings().source_dir}/")
    schedule_options(cron, timezone)
    output = directory_option(out or get_settings().output_dir, "--out")
    from flows.serve import ScheduleRejected, plan, serve_builds  # imports prefect: only when serving

    try:
        planned = plan(dirs, cron, timezone)
    except ScheduleRejected as exc:
        raise fail_usage(str(exc)) from None
    with prefect_server():
        serve_builds(planned, interval, output, strict, console)


@app.command()
def deploy(
    cron: Annotated[str, typer.Option("--cron", help=_CRON_HELP)] = "",
    timezone: Annotated[str, typer.Option("--timezone", help=_TIMEZONE_HELP)] = "UTC",
    pool: Annotated[str, typer.Option("--pool", help="The work pool the deployments run on.")] = "briefkit",
    check: Annotated[
        bool, typer.Option("--check", help="Only say whether prefect.yaml is current (exit 1 if not).")
    ] = False,
) -> None:
    """Write prefect.yaml: one build-and-publish deployment per publication under source/, as `serve` has them."""
    dirs = resolve_names(None)
    if not dirs:
        raise fail_usage(f"no publications found under {get_settings().source_dir}/")
    schedule_options(cron, timezone)
    from flows.serve import ScheduleRejected, plan, prefect_yaml

    try:
        text = prefect_yaml(plan(dirs, cron, timezone), pool)
    except ScheduleRejected as exc:
        raise fail_usage(str(exc)) from None
    target = Path("prefect.yaml")
    current = target.read_text(encoding="utf-8") if target.is_file() else ""
    if check:
        console.print(
            "prefect.yaml is current" if current == text else "prefect.yaml is out of date: run `briefkit deploy`",
            **_PLAIN,
        )
        raise typer.Exit(0 if current == text else 1)
    target.write_text(text, encoding="utf-8")
    console.print(
        f"wrote prefect.yaml: {len(dirs)} deployment{'s' * (len(dirs) != 1)} for work pool '{pool}'", **_PLAIN
    )


def reader_problems(directory: Path) -> list[Diagnostic]:
    """Problems in the publication's reader and editor lists (formats checked against those briefkit builds)."""
    from briefkit.distribution.readers import load_readers

    if not directory.is_dir():
        return []
    return load_readers(directory, registry.names())[1] + load_readers(directory, (), key="editors")[1]


@contextlib.contextmanager
def prefect_server() -> Iterator[str]:
    """Runs inside report to PREFECT_API_URL's server or the local one (flows.local); a server
    that cannot be reached or started is a usage error, before any run."""
    from flows.local import ServerError, prefect_api

    with contextlib.ExitStack() as stack:
        try:
            api = stack.enter_context(prefect_api(notice=lambda text: err_console.print(text, **_PLAIN)))
        except ServerError as exc:
            raise fail_usage(str(exc)) from None
        yield api


def site_option(output: Path, site: Path) -> Path:
    """The portal's directory, made if missing, unless it overlaps the output directory."""
    from briefkit.distribution.portal import PortalError, check_places

    try:
        check_places(output, site)
    except PortalError as exc:
        raise fail_usage(f"--site {site}: {exc}") from None
    return directory_option(site, "--site")


@app.command("publish")
def publish_command(
    publications: Annotated[
        list[str] | None, typer.Argument(help="Publication ids to mail (default: every one); the portal shows all.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output directory the build published to (default: output/).")
    ] = None,
    site: Annotated[
        Path | None,
        typer.Option("--site", help="Web root to write the portal to (default: BRIEFKIT_SITE_DIR or output/site)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say who would get what; send and write nothing.")] = False,
    to: Annotated[
        str,
        typer.Option("--to", help="Mail a review copy to this one address only; readers and their ledger untouched."),
    ] = "",
    resend_unconfirmed: Annotated[
        bool,
        typer.Option(
            "--resend-unconfirmed", help="Send again what a server may or may not have received (same Message-ID)."
        ),
    ] = False,
    retry_failed: Annotated[
        bool,
        typer.Option("--retry-failed", help="Try again deliveries that failed for good (e.g. after fixing settings)."),
    ] = False,
) -> None:
    """Update the reader portal and mail the latest editions to their readers: a Prefect flow run."""
    from rich.markdown import Markdown

    from briefkit.distribution.config import get_distribution_settings

    settings = get_distribution_settings()
    output = directory_option(out or settings.output_dir, "--out", written=False)
    ids = [d.name for d in resolve_names(publications)] if publications else None
    if to:
        raise typer.Exit(review_copies(output, ids, to))
    if dry_run:
        raise typer.Exit(dry_run_report(output, ids, resend_unconfirmed, retry_failed))
    site_option(output, site or settings.site_root(output))
    from flows.publish import PublishReport, publish, to_markdown  # imports prefect: only when publishing

    with prefect_server(), console.status("starting the publish flow…"):
        state = publish(
            output_dir=str(output),
            site_dir=str(site) if site else None,
            publications=ids,
            resend_unconfirmed=resend_unconfirmed,
            retry_failed=retry_failed,
            return_state=True,
        )
    result = state.result(raise_on_failure=False)
    if not isinstance(result, PublishReport):
        err_console.print(f"the publish run ended {state.name}: {state.message or result}", **_PLAIN)
        raise typer.Exit(1)
    if result.reader_problems:
        report.print_text(list(result.reader_problems), console)
    console.print(Markdown(to_markdown(result)))
    raise typer.Exit(0 if result.ok else 1)


def _latest_editions(output: Path, ids: list[str] | None) -> list[tuple[Manifest, Path]]:
    """The latest edition of each publication in ``ids`` (default: every one) under ``output``."""
    found = []
    for pub in published_publications(output):
        if (ids is None or pub in ids) and (manifest := read_manifest(latest_dir(output, pub))) is not None:
            found.append((manifest, edition_dir(output, pub, manifest.edition_id)))
    if ids is not None and (missing := sorted(set(ids) - {m.publication_id for m, _ in found})):
        raise fail_usage(f"no published edition of {', '.join(missing)} under {output}/: build it first")
    return found


def review_copies(output: Path, ids: list[str] | None, address: str) -> int:
    """Mail the latest edition of each publication to ``address`` for review; the exit status."""
    from briefkit.distribution.config import get_distribution_settings
    from briefkit.distribution.mail import DeliveryError, NotSent, Unconfirmed, send_review_copy
    from briefkit.distribution.readers import ADDRESS
    from flows.publish import connector  # BRIEFKIT_SMTP_* or the named Prefect block, as deliveries use

    if not ADDRESS.match(address):
        raise fail_usage(f"--to {address!r} is not an email address; write one plain address such as name@example.org")
    settings = get_distribution_settings()
    if not settings.mail_enabled:
        raise fail_usage(
            "mail is not configured: set BRIEFKIT_SMTP_HOST (or BRIEFKIT_SMTP_BLOCK) and BRIEFKIT_SMTP_FROM"
        )
    failed, connect = 0, connector(settings)
    for manifest, directory in _latest_editions(output, ids):
        what = f"{manifest.publication_id} {manifest.edition_id}"
        try:
            send_review_copy(manifest, directory, address, settings, connect)
        except (DeliveryError, NotSent, Unconfirmed, OSError) as exc:
            failed += 1
            err_console.print(f"review copy of {what} to {address} not sent: {exc}", **_PLAIN)
        else:
            console.print(f"review copy of {what} sent to {address}", **_PLAIN)
    return 1 if failed else 0


def dry_run_report(output: Path, ids: list[str] | None, resend_unconfirmed: bool, retry_failed: bool) -> int:
    """Who would get what, from the reader lists and the ledger; nothing is sent or written."""
    from rich.table import Table

    from briefkit.distribution.config import get_distribution_settings
    from briefkit.distribution.ledger import FAILED, PENDING, UNCONFIRMED, Ledger
    from briefkit.distribution.mail import plan, waiting
    from briefkit.distribution.readers import load_readers

    settings = get_distribution_settings()
    reclaim = (UNCONFIRMED,) * resend_unconfirmed + (FAILED,) * retry_failed
    table = Table(title="briefkit publish --dry-run: nothing is sent", title_justify="left")
    for column in ("publication", "edition", "reader", "formats", "would"):
        table.add_column(column, overflow="fold")
    problems: list[Diagnostic] = []
    ledger_path = settings.ledger_path(output)
    with Ledger(ledger_path) if ledger_path.is_file() else contextlib.nullcontext() as ledger:
        for manifest, _ in _latest_editions(output, ids):
            readers, diags = load_readers(settings.source_dir / manifest.publication_id, registry.names())
            problems += diags
            statuses = waiting(ledger, manifest, readers, reclaim) if ledger else [(r, "") for r in readers]
            for reader, status in statuses:
                out = plan(manifest, reader, settings)
                sends = status in ("", PENDING, *reclaim)
                would = ("attach" if out.attached else "link") if sends else f"not send ({status})"
                row = (
                    manifest.publication_id,
                    manifest.edition_id,
                    reader.address,
                    ", ".join(out.formats),
                    would,
                )
                table.add_row(*row)
    if problems:
        report.print_text(problems, console)
    console.print(table)
    if not settings.mail_enabled:
        console.print(
            "mail is not configured (BRIEFKIT_SMTP_HOST or BRIEFKIT_SMTP_BLOCK): a real run sends nothing", **_PLAIN
        )
    return 1 if has_errors(problems) else 0


@app.command("open")
def open_site(
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 (0 picks a free one).")
    ] = 8000,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output directory the build published to (default: output/).")
    ] = None,
) -> None:
    """Preview the portal on this machine, drafts included and marked, until Ctrl-C; nothing public is touched."""
    from briefkit.distribution.config import get_distribution_settings
    from briefkit.distribution.portal import PortalError, publish_site
    from briefkit.distribution.server import site_server, url_of

    settings = get_distribution_settings()
    output = directory_option(out or settings.output_dir, "--out", written=False)
    preview = tempfile.TemporaryDirectory(prefix="briefkit-preview-")  # drafts never go into the public web root
    root = Path(preview.name)
    try:
        publish_site(output, root, settings.site_title, preview=True)
    except PortalError as exc:
        err_console.print(f"briefkit: the portal was not updated: {exc}", **_PLAIN)
        raise typer.Exit(1) from None
    try:
        server = site_server(root, "127.0.0.1", port)
    except OSError as exc:
        raise fail_usage(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}; choose another --port") from None
    console.print(f"serving {root} at {url_of(server)} (Ctrl-C to stop)", markup=False, highlight=False, soft_wrap=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        preview.cleanup()


app.command("preview", hidden=True)(open_site)

server_app = typer.Typer(no_args_is_help=True, help="The local Prefect server runs report to, and its worker.")
app.add_typer(server_app, name="server")


@server_app.command("start")
def server_start(
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 (0: 4200 if free).")] = 0,
) -> None:
    """Start the local Prefect server in the background, unless it runs, and wait for its warm worker."""
    from flows.local import START_SECONDS, ServerError, start, takes_builds, wait

    try:
        server, started = start(port)
    except ServerError as exc:
        raise fail_usage(str(exc)) from None
    state = "started" if started else "already running"
    console.print(f"local Prefect server {state}: UI {server.ui_url}, API {server.api_url}", **_PLAIN)
    with console.status("warming up the worker (exporters, fonts, EPUBCheck)…"):
        ready = wait(lambda: takes_builds(server), START_SECONDS)
    console.print(
        "warm worker ready" if ready else "the warm worker is not ready: builds run in each command", **_PLAIN
    )


@server_app.command("stop")
def server_stop() -> None:
    """Stop the local Prefect server briefkit started."""
    from flows.local import stop

    server = stop()
    console.print(
        f"stopped the local Prefect server at {server.ui_url}" if server else "no local Prefect server runs", **_PLAIN
    )


@server_app.command("status")
def server_status() -> None:
    """Where runs report: PREFECT_API_URL's server, or the local one. Exit 1 when none answers."""
    from flows import handoff
    from flows.local import api_problem, checker_pid, configured_api, running

    if api := configured_api():
        problem = api_problem(api)
        console.print(problem or f"PREFECT_API_URL {api} answers", **_PLAIN)
        raise typer.Exit(1 if problem else 0)
    server = running()
    console.print(f"local Prefect server: UI {server.ui_url}" if server else "no local Prefect server runs", **_PLAIN)
    if server is not None:
        pid = checker_pid(server)
        console.print(f"format checks: {f'a warm worker, pid {pid}' if pid else 'in each run'}", **_PLAIN)
        why = handoff.refusal(server)
        console.print(f"on-demand builds run in: {f'each command ({why})' if why else 'the warm worker'}", **_PLAIN)
    raise typer.Exit(0 if server else 1)


# Seconds that a command, once interrupted, waits for its tasks' threads before it ends anyway.
INTERRUPT_GRACE_SECONDS = 5.0


def _end_promptly_when_interrupted() -> None:
    """Ctrl-C or SIGTERM: the run stops as Prefect stops it (its flow marked crashed), and if an
    export's thread still holds the exit after a grace period, the process ends anyway.

    Nothing published is harmed: editions change only by atomic renames, the kernel frees the
    publication's lock, and the next run clears the staging left. The signal is seen through
    Python's wakeup fd, which every signal with a Python handler writes to, whichever handler
    runs: during a flow run Prefect's own SIGTERM handler runs, and unwinds only once the
    task runner's threads have finished.
    """
    read, write = os.pipe()
    os.set_blocking(write, False)
    signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # unwind as Ctrl-C does

    def watch() -> None:
        signum = os.read(read, 1)[0]
        name = signal.Signals(signum).name
        # a run that had published when the signal came ends as it would have (Prefect lets it finish)
        err_console.print(f"briefkit: interrupted ({name}); what was not yet published is left unpublished", **_PLAIN)
        time.sleep(INTERRUPT_GRACE_SECONDS)
        os._exit(128 + signum)

    threading.Thread(target=watch, name="briefkit-interrupted", daemon=True).start()


def main() -> None:
    _end_promptly_when_interrupted()
    try:
        app()
    except ValidationError as exc:  # a BRIEFKIT_* setting of the wrong type or form
        problem = exc.errors()[0]
        name = "BRIEFKIT_" + str(problem["loc"][0]).upper() if problem["loc"] else "a BRIEFKIT_ setting"
        err_console.print(f"briefkit: {name}={problem.get('input')!r}: {problem['msg']}; fix or unset it", **_PLAIN)
        sys.exit(2)
