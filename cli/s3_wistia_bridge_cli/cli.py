"""`s3-wistia-bridge`: the operator's command line (list, replay, show, discard, backfill,
status, doctor). Thin: each command resolves the bridge's resources, calls the module that does
the work, and prints its report. Exit statuses: exits.ExitCode (docs/runbook.md).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import click
from s3_wistia_bridge.batch import job_overrides
from s3_wistia_bridge.batch_job import ReportScope
from s3_wistia_bridge.config import BridgeConfig, ConfigError
from s3_wistia_bridge.observability import logger, metrics

from . import __version__, batch_jobs, messages
from .backfill import BackfillOptions, BackfillStatus, BackfillTarget, ObjectResult, backfill
from .confirm import Decision, Plan, decide, refusal
from .doctor.run import run_doctor
from .exits import ExitCode
from .queue import REASON_FILTERS, FailureQueue, IngestQueue, reason_filter
from .replay import (
    Invoker,
    LambdaInvoker,
    LocalInvoker,
    MessageResult,
    ReplayOptions,
    ReplayReport,
    ReplayStatus,
    Row,
    Target,
    replay,
)
from .resources import Aws, OperatorError, Resources, function_environment, resolve
from .stackname import StackName, choose, read_samconfig
from .status import State, object_status
from .ui import OutputFormat, Ui, format_age

PROG = "s3-wistia-bridge"
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 80}
# Backfill results whose detail is worth a line, and the rows a dry run's summary shows.
_SHOWN_DETAIL = frozenset({BackfillStatus.REJECTED, BackfillStatus.FAILED})
_DRY_RUN_ROWS = frozenset({BackfillStatus.WOULD_COPY.row, BackfillStatus.REJECTED.row})
_WOULD_SEND = frozenset({ReplayStatus.WOULD_REPLAY, ReplayStatus.WOULD_REQUEUE})
_STATUS_EXIT = {
    State.COPIED: ExitCode.OK,
    State.FAILED: ExitCode.FAILED,
    State.IN_PROGRESS: ExitCode.NOT_KNOWN,
    State.UNKNOWN: ExitCode.NOT_KNOWN,
}


@dataclass
class Globals:
    """The options every command takes, before or after its name, and this process's streams."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    cwd: Path = field(default_factory=Path.cwd)
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    stack: str | None = None
    output: OutputFormat = OutputFormat.TABLE
    verbose: bool = False
    progress: bool = True

    def aws(self) -> Aws:
        return Aws(self.region, profile=self.profile, endpoint_url=self.endpoint_url)

    def ui(self) -> Ui:
        return Ui(self.stdout, self.stderr, self.output, self.progress)

    def stack_name(self) -> StackName | None:
        return choose(self.stack, self.environ, read_samconfig(self.cwd))


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: the exit status as an int (click's own errors included)."""
    streams = Globals()  # the real stdout: the bridge's own is redirected while a command runs
    try:
        code = app.main(
            args=list(argv) if argv is not None else None, prog_name=PROG, obj=streams, standalone_mode=False
        )
    except OperatorError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return ExitCode.USAGE
    except click.UsageError as error:
        error.show()
        return ExitCode.USAGE
    except click.ClickException as error:
        error.show()
        return ExitCode.USAGE
    except (KeyboardInterrupt, click.Abort):
        print(f"{PROG}: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    return int(code or 0)


# --- options -----------------------------------------------------------------------------------


def _store(name: str, value_of: Callable[[Any], Any] = lambda v: v) -> Callable[..., None]:
    """Keep a global option in the Globals, wherever it was given: given after the command, it
    wins over the same option before it; not given there, it leaves that one alone."""

    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is not None and value is not False:
            setattr(ctx.ensure_object(Globals), name, value_of(value))

    return callback


_GLOBAL_OPTIONS = (
    click.option(
        "--stack",
        metavar="NAME",
        expose_value=False,
        callback=_store("stack"),
        help="CloudFormation stack (default: $S3_WISTIA_BRIDGE_STACK, then samconfig.toml)",
    ),
    click.option(
        "--profile",
        metavar="NAME",
        expose_value=False,
        callback=_store("profile"),
        help="AWS profile (default: the SDK's, e.g. $AWS_PROFILE)",
    ),
    click.option(
        "--region",
        metavar="REGION",
        expose_value=False,
        callback=_store("region"),
        help="AWS region (default: the SDK's, e.g. $AWS_REGION)",
    ),
    click.option(
        "--endpoint-url",
        metavar="URL",
        expose_value=False,
        callback=_store("endpoint_url"),
        help="AWS endpoint (default: $AWS_ENDPOINT_URL, else AWS)",
    ),
    click.option(
        "--output",
        type=click.Choice([f.value for f in OutputFormat]),
        expose_value=False,
        callback=_store("output", OutputFormat),
        help="table (text, default) or json",
    ),
    click.option(
        "--json",
        "json_",
        is_flag=True,
        expose_value=False,
        callback=_store("output", lambda _v: OutputFormat.JSON),
        help="the same as --output json",
    ),
    click.option(
        "--verbose",
        is_flag=True,
        expose_value=False,
        callback=_store("verbose"),
        help="the bridge's own logs (--local) on stderr",
    ),
    click.option(
        "--no-progress",
        is_flag=True,
        expose_value=False,
        callback=_store("progress", lambda _v: False),
        help="no progress bar on stderr",
    ),
)


def global_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_GLOBAL_OPTIONS):
        command = option(command)
    return command


def _where(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options that name one resource instead of (or over) the stack's output."""
    helps = {
        "queue_url": ("--queue-url", "URL", "failure queue (default: the stack's)"),
        "function_name": ("--function-name", "NAME", "ingest function name or ARN (default: the stack's)"),
        "table": ("--table", "NAME", "idempotency table (default: the stack's)"),
        "ingest_queue_url": (
            "--ingest-queue-url",
            "URL",
            "a buffered stack's ingest queue (default: the stack's)",
        ),
    }

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for name in reversed(names):
            flag, metavar, text = helps[name]
            command = click.option(flag, name, metavar=metavar, help=text)(command)
        return command

    return decorate


def _filters(command: Callable[..., Any]) -> Callable[..., Any]:
    """replay's and list's selection of messages."""
    options = (
        click.option("--prefix", metavar="PREFIX", help="only messages about keys under PREFIX"),
        click.option(
            "--reason",
            type=click.Choice(REASON_FILTERS, case_sensitive=False),
            metavar="REASON",
            help="only this failure reason, or a class: permanent, transient, unknown",
        ),
        click.option(
            "--max", "max_messages", type=click.IntRange(min=1), metavar="N", help="at most N messages"
        ),
        click.option(
            "--visibility-timeout",
            type=click.IntRange(min=1),
            metavar="SECONDS",
            help="how long a received message stays hidden",
        ),
    )
    for option in reversed(options):
        command = option(command)
    return command


# The small path's parallel sends when --concurrency is not given (a Batch Operations job has none).
SMALL_PATH_CONCURRENCY = 4
_YES = click.option("--yes", "-y", is_flag=True, help="do not ask for confirmation")
_SCAN_LIMIT = click.option(
    "--scan-limit",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    metavar="N",
    help="failure-queue messages to search",
)


@dataclass(frozen=True)
class Where:
    queue_url: str | None = None
    function_name: str | None = None
    table: str | None = None
    ingest_queue_url: str | None = None

    @property
    def explicit(self) -> bool:
        return any((self.queue_url, self.function_name, self.table, self.ingest_queue_url))


def bridge_command(run: Callable[..., int]) -> Callable[..., int]:
    """A command's body, with the Globals first and the bridge's own output kept off stdout."""

    @functools.wraps(run)
    def command(*args: Any, **kwargs: Any) -> int:
        g = click.get_current_context().ensure_object(Globals)
        where = Where(
            **{name: kwargs.pop(name) for name in list(kwargs) if name in Where.__dataclass_fields__}
        )
        with bridge_output(verbose=g.verbose):
            return run(g, where, *args, **kwargs)

    return command


@contextmanager
def bridge_output(verbose: bool) -> Iterator[None]:
    """The bridge logs JSON and prints EMF on stdout; in the CLI both go to stderr (verbose) or
    away, and the bridge logs only warnings and errors unless verbose."""
    handler = logger.registered_handler
    previous_stream = handler.setStream(sys.stderr)  # type: ignore[attr-defined]
    previous_level = logger.log_level
    logger.setLevel("DEBUG" if verbose else "WARNING")
    with (
        open(os.devnull, "w", encoding="utf-8") as devnull,
        redirect_stdout(sys.stderr if verbose else devnull),
    ):
        try:
            yield
        finally:
            metrics.clear_metrics()
            logger.setLevel(previous_level)
            handler.setStream(previous_stream)  # type: ignore[attr-defined]


# --- the group ---------------------------------------------------------------------------------


@click.group(
    context_settings=CONTEXT,
    epilog="Exit status: 0 ok, 1 something failed, 2 operator "
    "or usage error, 130 interrupted; status: 0 copied, 1 failed, 3 not known.",
)
@click.version_option(__version__, "--version", prog_name=PROG, message="%(prog)s %(version)s")
@global_options
def app() -> None:
    """Operate the S3 to Wistia bridge: inspect and replay failures, backfill a bucket, look up
    an object, check a deployment (doctor). Global options work before or after the command."""


# --- list and replay ---------------------------------------------------------------------------


@app.command("list", context_settings=CONTEXT, short_help="Show the failure queue, classified.")
@_where("queue_url", "function_name", "ingest_queue_url")
@_filters
@global_options
@bridge_command
def list_command(g: Globals, where: Where, **filters: Any) -> int:
    """Show the failure queue, classified (the same as replay --dry-run)."""
    return _replay(
        g, where, filters, dry_run=True, concurrency=1, local=False, discard_test_events=False, yes=True
    )


@app.command("replay", context_settings=CONTEXT, short_help="Replay failure-queue messages.")
@_where("queue_url", "function_name", "ingest_queue_url")
@_filters
@click.option("--dry-run", is_flag=True, help="show what would be replayed; change nothing")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    metavar="N",
    help="parallel invocations (buffered: parallel requeue calls)",
)
@click.option("--local", is_flag=True, help="run the bridge in this process (debugging)")
@click.option("--discard-test-events", is_flag=True, help="delete s3:TestEvent messages")
@_YES
@global_options
@bridge_command
def replay_command(g: Globals, where: Where, **options: Any) -> int:
    """Re-invoke the function with failure-queue messages (a buffered stack: requeue them to the
    ingest queue); a message leaves the queue only once that succeeded."""
    filters = {k: options.pop(k) for k in ("prefix", "reason", "max_messages", "visibility_timeout")}
    return _replay(g, where, filters, **options)


def _replay(
    g: Globals,
    where: Where,
    filters: dict[str, Any],
    *,
    dry_run: bool,
    concurrency: int,
    local: bool,
    discard_test_events: bool,
    yes: bool,
) -> int:
    aws, ui = g.aws(), g.ui()
    resources = _resources(g, where, aws)
    url = resources.require_queue()
    queue = FailureQueue(aws.client("sqs"), url)
    visible = queue.approximate_count()
    target = _replay_target(aws, resources, dry_run=dry_run, local=local)
    options = ReplayOptions(
        dry_run=dry_run,
        prefix=filters["prefix"],
        reason=reason_filter(filters["reason"] and filters["reason"].lower()),
        max_messages=filters["max_messages"],
        concurrency=concurrency,  # --local: one bridge per worker thread
        discard_test_events=discard_test_events,
        visibility_timeout=filters["visibility_timeout"],
    )
    if not dry_run:
        _confirm(ui, _replay_plan(queue, target, options, local), yes=yes)

    def show(result: MessageResult) -> None:
        bar.advance(result.status)
        if result.status is not ReplayStatus.FILTERED:
            _print_message(ui, result, dry_run=dry_run)

    with ui.progress("list" if dry_run else "replay", visible or None) as bar:
        report = replay(queue, target, options, show)
    _print_replay_report(ui, report, queue.url, target, dry_run=dry_run)
    if dry_run:
        return ExitCode.OK
    return ExitCode.FAILED if report.failed else ExitCode.OK


def _replay_target(aws: Aws, resources: Resources, *, dry_run: bool, local: bool) -> Target | None:
    """A buffered stack's events go back to its ingest queue, so the event source mapping's
    concurrency limit paces them; --local still runs them here (debugging). A dry run of a
    direct stack needs no function."""
    if resources.buffered and not local:
        return IngestQueue(aws.client("sqs"), resources.require_ingest_queue())
    if dry_run:
        return None
    return _invoker(aws, resources, local=local)


def _replay_plan(queue: FailureQueue, target: Target | None, options: ReplayOptions, local: bool) -> Plan:
    """What the replay would send, counted by a dry run of the same selection."""
    preview = replay(
        queue, target if isinstance(target, IngestQueue) else None, replace(options, dry_run=True)
    )
    chosen = [r for r in preview.results if r.status in _WOULD_SEND]
    if isinstance(target, IngestQueue):
        destination = f"requeue to {target.url}"
    else:
        destination = "run the bridge here" if local else "invoke the function"
    objects = sum(len(r.message.objects) for r in chosen)
    return Plan("replay", len(chosen), objects, destination, free_items=1)


def _print_message(ui: Ui, result: MessageResult, *, dry_run: bool) -> None:
    message = result.message
    objects = ", ".join(message.object_uris) or "-"
    reason = f"{message.reason or '?'} ({message.reason_class})"
    attempts = "?" if message.attempts is None else str(message.attempts)
    ui.line(
        f"{result.status:<12} {objects}  reason={reason}  attempts={attempts}  "
        f"age={format_age(message.age_seconds)}  kind={message.kind.value}",
        status=result.status,
    )
    detail = result.error or (message.detail if dry_run else None)
    if detail:
        ui.line(f"{'':<12} {detail}")


def _print_replay_report(
    ui: Ui, report: ReplayReport, queue_url: str, target: Target | None, *, dry_run: bool
) -> None:
    summary = report.summary()
    ingest_url = target.url if isinstance(target, IngestQueue) else None
    if ui.json:
        ui.document(
            {
                "command": "replay",
                "dryRun": dry_run,
                "delivery": "buffered" if ingest_url else "direct",
                "queueUrl": queue_url,
                "ingestQueueUrl": ingest_url,
                "messages": [r.as_dict() for r in report.results],
                "summary": summary,
            }
        )
    elif not report.results:
        ui.line("nothing to replay: the failure queue is empty")
    else:
        ui.line("")
        ui.table(summary.items(), ("messages", "count"))
        if all(r.status is ReplayStatus.FILTERED for r in report.results):
            ui.line("nothing matched the filters")
        elif summary.get(Row.REQUEUED):
            ui.line(_REQUEUED_FOLLOW_UP.format(url=ingest_url, what="requeued"))


# A requeue's outcome is the function's, later: where to look for it.
_REQUEUED_FOLLOW_UP = (
    "{what} to {url}: the function copies them at the event source mapping's pace.\n"
    f"Follow up with `{PROG} status s3://BUCKET/KEY` and `{PROG} list` (what fails "
    "again comes back as a new failure record, or after maxReceiveCount receives), and the alarms."
)


# --- show and discard --------------------------------------------------------------------------


@app.command("show", context_settings=CONTEXT, short_help="Show one failure-queue message and its event.")
@click.argument("message_id")
@_where("queue_url")
@_SCAN_LIMIT
@global_options
@bridge_command
def show_command(g: Globals, where: Where, message_id: str, scan_limit: int) -> int:
    """Show one failure-queue message, classified, with its event; change nothing."""
    aws, ui = g.aws(), g.ui()
    url = _resources(g, where, aws).require_queue()
    queue = FailureQueue(aws.client("sqs"), url)
    found = messages.find(queue, message_id, scan_limit)
    try:
        _print_found(ui, found)
    finally:
        queue.release([found.message.receipt_handle])
    return ExitCode.OK


def _print_found(ui: Ui, found: messages.Found) -> None:
    if ui.json:
        ui.document(found.document())
        return
    summary = found.message.summary()
    for name in ("messageId", "kind", "objects", "reason", "reasonClass", "attempts", "ageSeconds", "detail"):
        value = summary[name]
        ui.line(f"{name:<12} {', '.join(value) if isinstance(value, list) else value}")
    ui.line("event:")
    ui.line(json.dumps(found.message.event, indent=2, default=str))


@app.command("discard", context_settings=CONTEXT, short_help="Delete one message, after saving a copy.")
@click.argument("message_id")
@_where("queue_url")
@_SCAN_LIMIT
@click.option(
    "--to",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="where to save the copy (default: ./discarded-MESSAGE_ID.json)",
)
@global_options
@bridge_command
def discard_command(g: Globals, where: Where, message_id: str, scan_limit: int, path: Path | None) -> int:
    """Delete one failure-queue message, after saving a copy of it to a local file."""
    aws, ui = g.aws(), g.ui()
    url = _resources(g, where, aws).require_queue()
    queue = FailureQueue(aws.client("sqs"), url)
    found = messages.find(queue, message_id, scan_limit)
    try:
        saved = messages.save(found, path or messages.default_path(message_id))
    except OperatorError:
        queue.release([found.message.receipt_handle])
        raise
    queue.delete(found.message.receipt_handle)
    if ui.json:
        ui.document({"command": "discard", "messageId": message_id, "savedTo": str(saved.resolve())})
    else:
        ui.line(f"discarded {message_id}; its copy: {saved.resolve()}")
    return ExitCode.OK


# --- backfill ----------------------------------------------------------------------------------


_BATCH_OPTIONS = (
    click.option(
        "--batch",
        is_flag=True,
        help="run it as an S3 Batch Operations job (large buckets: see below)",
    ),
    click.option(
        "--inventory",
        metavar="s3://.../manifest.json",
        help="--batch over an S3 Inventory report (CSV) instead of a listing",
    ),
    click.option("--status", "job_id", metavar="JOB", help="a --batch job's progress and report"),
    click.option("--replay-failed", is_flag=True, help="with --status: a new job of the failed tasks"),
    click.option(
        "--manifest-bucket",
        metavar="NAME",
        help="--batch: bucket of manifest and report (default: the stack's)",
    ),
    *(
        click.option(flag, default=default, show_default=True, metavar="PREFIX", help=f"--batch: {text}")
        for flag, default, text in (
            ("--manifest-prefix", batch_jobs.MANIFEST_PREFIX, "where the manifest goes"),
            ("--report-prefix", batch_jobs.REPORT_PREFIX, "where the completion report goes"),
        )
    ),
    click.option(
        "--report-scope",
        type=click.Choice(["all", "failed"]),
        default="all",
        show_default=True,
        help="--batch: report every task (needed for the full summary) or failed ones",
    ),
    click.option(
        "--priority",
        type=click.IntRange(min=0, max=2_147_483_647),
        default=10,
        show_default=True,
        metavar="N",
        help="--batch: the job's priority (higher runs first)",
    ),
    click.option("--project", metavar="ID", help="--batch: every object to this Wistia project"),
    click.option("--hold", is_flag=True, help="--batch: create the job waiting for update-job-status Ready"),
    click.option(
        "--function-arn",
        metavar="ARN",
        help="--batch: the pinned batch function (default: the stack's alias)",
    ),
    click.option("--role-arn", metavar="ARN", help="--batch: the job's role (default: the stack's)"),
)


def _batch_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_BATCH_OPTIONS):
        command = option(command)
    return command


@app.command(
    "backfill",
    context_settings=CONTEXT,
    short_help="Send a bucket's existing objects through the bridge.",
    epilog="Without --batch, objects are listed and sent from this machine: fine for "
    "thousands of objects. For more (a day at Wistia's 600 requests/min is about 860,000), "
    "or without a machine that stays up, use --batch: S3 Batch Operations runs the batch "
    "function over a manifest, resumably, with a report per object, within the "
    "stack's BackfillRatePerMinute. The stack needs BatchOperationsRole=true.",
)
@click.argument("target", metavar="[s3://BUCKET[/PREFIX]]", required=False)
@_where("function_name", "ingest_queue_url")
@click.option("--dry-run", is_flag=True, help="list and count only: send nothing, create no job")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    metavar="N",
    help=f"parallel invocations or sends (default {SMALL_PATH_CONCURRENCY})",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    metavar="N",
    help="at most N objects sent per second, N > 0 (default: no limit)",
)
@click.option(
    "--page-size",
    type=click.IntRange(min=1, max=1000),
    default=1000,
    show_default=True,
    metavar="N",
    help="objects per listing page",
)
@click.option("--local", is_flag=True, help="run the bridge in this process (debugging)")
@_batch_options
@_YES
@global_options
@bridge_command
def backfill_command(
    g: Globals,
    where: Where,
    *,
    target: str | None,
    dry_run: bool,
    concurrency: int | None,
    rate: float | None,
    page_size: int,
    local: bool,
    yes: bool,
    **batch: Any,
) -> int:
    """Send the objects already in a bucket through the bridge: a direct stack's function is
    invoked, a buffered stack's ingest queue gets each object's S3 notification; with --batch,
    an S3 Batch Operations job does it (--status JOB follows it)."""
    if batch["job_id"] or batch["batch"] or batch["inventory"]:
        _refuse_small_path_options(concurrency=concurrency, rate=rate, local=local)
    if batch["job_id"]:
        return _backfill_status(g, batch["job_id"], replay=batch["replay_failed"], yes=yes)
    if batch["batch"] or batch["inventory"]:
        return _backfill_batch(g, where, target, batch, dry_run=dry_run, page_size=page_size, yes=yes)
    if target is None:
        raise OperatorError("backfill needs s3://BUCKET[/PREFIX] (or --batch --inventory, or --status JOB)")
    bucket, prefix = _s3_target(target, need_key=False)
    options = BackfillOptions(
        prefix=prefix,
        dry_run=dry_run,
        concurrency=concurrency or SMALL_PATH_CONCURRENCY,
        rate=rate,
        page_size=page_size,
    )
    return _backfill_small(g, where, bucket, options, local=local, yes=yes)


def _refuse_small_path_options(*, concurrency: int | None, rate: float | None, local: bool) -> None:
    """A --batch job is paced by the stack (BackfillRatePerMinute), not by this machine: options
    of the small path would be silently ignored, so they are refused."""
    given = [name for name, value in (("--concurrency", concurrency), ("--rate", rate)) if value is not None]
    given += ["--local"] if local else []
    if given:
        raise OperatorError(
            f"{', '.join(given)}: only for the small path (without --batch); a Batch Operations job "
            "is paced by the stack's BackfillRatePerMinute parameter"
        )


def _backfill_small(
    g: Globals, where: Where, bucket: str, options: BackfillOptions, *, local: bool, yes: bool
) -> int:
    """The small path: listed here, each object sent from this machine."""
    aws, ui = g.aws(), g.ui()
    dry_run, prefix = options.dry_run, options.prefix
    resources = _resources(g, where, aws)
    config = BridgeConfig.from_environ(_bridge_env(aws, resources))
    sender = None if dry_run else _backfill_target(aws, resources, local=local)
    if sender is not None:
        _confirm(ui, _backfill_plan(aws, bucket, config, options, sender), yes=yes)

    def show(result: ObjectResult) -> None:
        bar.advance(result.status)
        _print_object(ui, result)

    with ui.progress("backfill") as bar:
        report = backfill(aws.client("s3"), bucket, config, sender, options, on_result=show)
    _print_backfill_report(ui, report.summary(), report, f"s3://{bucket}/{prefix}", dry_run=dry_run)
    if report.queued and not dry_run and report.summary().get(BackfillStatus.QUEUED.row):
        ui.line(_REQUEUED_FOLLOW_UP.format(url=getattr(sender, "url", ""), what="queued"))
    if report.interrupted:
        ui.error("interrupted: rerun the same command; copied objects will report duplicate")
        return ExitCode.INTERRUPTED
    return ExitCode.FAILED if report.failed else ExitCode.OK


def _backfill_batch(
    g: Globals,
    where: Where,
    target: str | None,
    batch: dict[str, Any],
    *,
    dry_run: bool,
    page_size: int,
    yes: bool,
) -> int:
    """backfill --batch: the manifest, then (unless a dry run) the job."""
    aws, ui = g.aws(), g.ui()
    resources = _resources(g, where, aws)
    config = BridgeConfig.from_environ(_bridge_env(aws, resources))
    if batch["project"]:
        _job_argument("project_id", batch["project"])
    job_target = batch_jobs.job_target(
        aws, resources.stack, function_arn=batch["function_arn"], role_arn=batch["role_arn"]
    )
    options = batch_jobs.BatchOptions(
        inventory=batch["inventory"],
        manifest_bucket=batch["manifest_bucket"],
        manifest_prefix=batch["manifest_prefix"],
        report_prefix=batch["report_prefix"],
        report_scope=ReportScope.FAILED_TASKS_ONLY
        if batch["report_scope"] == "failed"
        else ReportScope.ALL_TASKS,
        priority=batch["priority"],
        project=batch["project"],
        hold=batch["hold"],
        page_size=page_size,
        dry_run=dry_run,
    )
    result = batch_jobs.submit(
        aws, job_target, config, target, options, confirm=lambda plan: _confirm(ui, plan, yes=yes)
    )
    batch_jobs.print_submitted(ui, result)
    return ExitCode.OK


def _backfill_status(g: Globals, job_id: str, *, replay: bool, yes: bool) -> int:
    """backfill --status JOB [--replay-failed]: exit 0 complete, 1 something failed, 3 not done."""
    aws, ui = g.aws(), g.ui()
    account = batch_jobs.account_id(aws)
    status = batch_jobs.job_status(aws, job_id, account=account)
    if replay:
        status = batch_jobs.replay_failed(
            aws, status, lambda plan: _confirm(ui, plan, yes=yes), account=account
        )
    batch_jobs.print_status(ui, status)
    return ExitCode.OK if status.replay_job_id else status.exit_code


def _job_argument(name: str, value: str) -> None:
    """A UserArgument checked as the batch function will check it."""
    try:
        job_overrides({name: value})
    except ConfigError as error:
        raise OperatorError(f"--project: {error}") from None


def _backfill_target(aws: Aws, resources: Resources, *, local: bool) -> BackfillTarget:
    """A buffered stack gets the notifications on its ingest queue (its MaximumConcurrency
    protects Wistia); --local runs the bridge here; a direct stack's function is invoked."""
    if resources.buffered and not local:
        return IngestQueue(aws.client("sqs"), resources.require_ingest_queue())
    return _invoker(aws, resources, local=local)


def _backfill_plan(
    aws: Aws, bucket: str, config: BridgeConfig, options: BackfillOptions, sender: BackfillTarget
) -> Plan:
    preview = backfill(aws.client("s3"), bucket, config, None, replace(options, dry_run=True))
    accepted = sum(1 for r in preview.results if r.status is BackfillStatus.WOULD_COPY)
    if isinstance(sender, IngestQueue):
        destination = f"enqueue their notifications on {sender.url}"
    else:
        destination = "run the bridge here" if isinstance(sender, LocalInvoker) else "invoke the function"
    return Plan("backfill", accepted, accepted, destination)


def _print_object(ui: Ui, result: ObjectResult) -> None:
    extra = "  ".join(
        part
        for part in (
            f"reason={result.reason}" if result.reason else "",
            f"hashed_id={result.hashed_id}" if result.hashed_id else "",
            result.detail if result.status in _SHOWN_DETAIL and result.detail else "",
        )
        if part
    )
    ui.line(f"{result.status:<10} {result.uri}  {extra}".rstrip(), status=result.status)


def _print_backfill_report(
    ui: Ui, summary: dict[str, int], report: Any, where: str, *, dry_run: bool
) -> None:
    if dry_run:
        summary = {k: v for k, v in summary.items() if k in _DRY_RUN_ROWS}
    else:
        summary.pop(BackfillStatus.WOULD_COPY.row)
    if ui.json:
        ui.document(
            {
                "command": "backfill",
                "dryRun": dry_run,
                "target": where,
                "delivery": "buffered" if report.queued else "direct",
                "objects": [r.as_dict() for r in report.results],
                "summary": summary,
                "interrupted": report.interrupted,
            }
        )
    elif not report.results:
        ui.line(f"no objects under {where}")
    else:
        ui.line("")
        ui.table(summary.items(), ("objects", "count"))


# --- status ------------------------------------------------------------------------------------


@app.command("status", context_settings=CONTEXT, short_help="What the bridge knows about one object.")
@click.argument("target", metavar="s3://BUCKET/KEY")
@_where("queue_url", "table")
@click.option("--version-id", metavar="ID", help="a specific object version")
@_SCAN_LIMIT
@global_options
@bridge_command
def status_command(g: Globals, where: Where, target: str, version_id: str | None, scan_limit: int) -> int:
    """What the bridge knows about one object. Exit status: 0 copied, 1 in the failure queue,
    3 not known (in progress, or nothing known)."""
    bucket, key = _s3_target(target, need_key=True)
    aws, ui = g.aws(), g.ui()
    resources = _resources(g, where, aws)
    if not resources.table and not resources.queue_url:
        raise OperatorError("nothing to look in: pass --stack NAME, or --table and/or --queue-url")
    queue = FailureQueue(aws.client("sqs"), resources.queue_url) if resources.queue_url else None
    report = object_status(
        aws.client("s3"),
        bucket,
        key,
        table=resources.table,
        queue=queue,
        version_id=version_id,
        scan_limit=scan_limit,
        dynamodb=aws.client("dynamodb") if resources.table else None,
    )
    if ui.json:
        ui.document(report.as_dict())
    else:
        ui.line(report.text(), status=report.state.value)
    return _STATUS_EXIT[report.state]


# --- doctor ------------------------------------------------------------------------------------


@app.command("doctor", context_settings=CONTEXT, short_help="Check a deployed stack end to end.")
@global_options
@bridge_command
def doctor_command(g: Globals, where: Where) -> int:
    """Check a deployed stack end to end: outputs, Wistia token and account, S3 notifications
    or EventBridge, bucket policy, concurrency, queues, alarm subscription, recent errors.
    Each check passes, warns or fails and says the fix; exit status 1 when one fails."""
    stack = g.stack_name()
    if stack is None:
        raise OperatorError("doctor needs a stack: pass --stack NAME (or set S3_WISTIA_BRIDGE_STACK)")
    aws, ui = g.aws(), g.ui()
    return run_doctor(aws, ui, stack)


# --- helpers -----------------------------------------------------------------------------------


def _resources(g: Globals, where: Where, aws: Aws) -> Resources:
    """Explicit resource options replace a stack that was not named on the command line (from
    the environment or samconfig.toml); with --stack they override its single outputs."""
    stack = g.stack_name()
    if stack is not None and stack.implicit and where.explicit:
        stack = None
    return resolve(
        aws,
        stack=stack.name if stack else None,
        queue_url=where.queue_url,
        function_name=where.function_name,
        table=where.table,
        ingest_queue_url=where.ingest_queue_url,
        stack_source=stack.source.value if stack and stack.implicit else "",
    )


def _invoker(aws: Aws, resources: Resources, *, local: bool) -> Invoker:
    if local:
        return LocalInvoker.from_environment(_bridge_env(aws, resources), session=aws.session)
    return LambdaInvoker(aws.client("lambda"), resources.require_function())


def _bridge_env(aws: Aws, resources: Resources) -> dict[str, str]:
    env = function_environment(aws, resources.function_name)
    try:
        BridgeConfig.from_environ(env)
    except ConfigError as error:
        where = f"function {resources.function_name}" if resources.function_name else "this environment"
        raise OperatorError(f"the bridge configuration of {where} is not valid: {error}") from None
    return env


def _confirm(ui: Ui, plan: Plan, *, yes: bool) -> None:
    decision = decide(plan, yes=yes, interactive=ui.interactive)
    if decision is Decision.REFUSE:
        raise OperatorError(refusal(plan))
    if decision is Decision.ASK and not click.confirm(f"{plan.sentence()}. Go on?", err=True):
        raise OperatorError("not confirmed: nothing was sent")


def _s3_target(target: str, *, need_key: bool) -> tuple[str, str]:
    if not target.startswith("s3://"):
        raise OperatorError(f"{target!r} is not an s3://bucket/key address")
    bucket, _, rest = target[len("s3://") :].partition("/")
    if not bucket:
        raise OperatorError(f"{target!r} has no bucket name")
    if need_key and not rest:
        raise OperatorError(f"{target!r} has no object key: use s3://bucket/key")
    return bucket, rest


if __name__ == "__main__":
    sys.exit(main())
