"""`s3-wistia-bridge`: the operator's command line (replay, list, backfill, status).

Exit status: 0 done (for a buffered stack's replay: every selected event requeued), 1 something
failed (see the summary), 2 an operator error (unknown stack, missing permission, missing queue
or function, bad arguments), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from typing import TextIO

from ..config import BridgeConfig, ConfigError
from ..observability import logger, metrics
from .backfill import BackfillOptions, BackfillStatus, ObjectResult, backfill
from .progress import Progress, format_age, table
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
from .status import object_status

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# Backfill results whose detail is worth a line, and the rows a dry run's summary shows.
_SHOWN_DETAIL = frozenset({BackfillStatus.REJECTED, BackfillStatus.FAILED})
_DRY_RUN_ROWS = frozenset({BackfillStatus.WOULD_COPY.row, BackfillStatus.REJECTED.row})


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    out = sys.stdout  # the CLI's own output; the bridge's stdout is redirected below
    try:
        with bridge_output(verbose=args.verbose):
            code: int = args.run(args, out)
            return code
    except OperatorError as error:
        print(f"s3-wistia-bridge: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("s3-wistia-bridge: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("where the bridge is")
    where.add_argument("--stack", help="CloudFormation stack name: its outputs give the resources")
    where.add_argument("--queue-url", help="failure queue URL (overrides the stack output)")
    where.add_argument("--function-name", help="ingest function name or ARN (overrides the stack output)")
    where.add_argument("--table", help="idempotency table name (overrides the stack output)")
    where.add_argument("--region", help="AWS region (default: the AWS SDK's)")
    output = common.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    output.add_argument("--verbose", action="store_true", help="show the bridge's own logs on stderr")
    output.add_argument("--no-progress", action="store_true", help="no progress line on stderr")

    parser = argparse.ArgumentParser(
        prog="s3-wistia-bridge",
        description="Operate the S3 to Wistia bridge: replay failures, backfill a bucket, look up an object.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def replay_options(sub: argparse.ArgumentParser, *, listing: bool) -> None:
        sub.add_argument("--prefix", help="only messages about keys under this prefix")
        sub.add_argument(
            "--reason",
            type=_folded,
            choices=REASON_FILTERS,
            metavar="REASON",
            help="only this failure reason, or a class: permanent, transient, unknown",
        )
        sub.add_argument("--max", type=_positive, dest="max_messages", help="at most N messages")
        sub.add_argument(
            "--visibility-timeout", type=_positive, help="seconds a received message stays hidden"
        )
        sub.add_argument(
            "--ingest-queue-url",
            help="requeue to this ingest queue (buffered delivery; default: the stack's, if buffered)",
        )
        if listing:
            return
        sub.add_argument("--dry-run", action="store_true", help="show what would be replayed; change nothing")
        sub.add_argument(
            "--concurrency",
            type=_positive,
            default=4,
            help="parallel invocations or requeue calls (default 4)",
        )
        sub.add_argument("--local", action="store_true", help="run the bridge in this process (debugging)")
        sub.add_argument("--discard-test-events", action="store_true", help="delete s3:TestEvent messages")

    replay = commands.add_parser(
        "replay",
        parents=[common],
        help="re-invoke the function (or requeue, for a buffered stack) for failure-queue messages",
    )
    replay_options(replay, listing=False)
    replay.set_defaults(run=_run_replay)
    listing = commands.add_parser("list", parents=[common], help="show the failure queue (replay --dry-run)")
    replay_options(listing, listing=True)
    listing.set_defaults(run=_run_replay, dry_run=True, concurrency=1, local=False, discard_test_events=False)

    backfill = commands.add_parser(
        "backfill", parents=[common], help="send objects already in a bucket through the function"
    )
    backfill.add_argument("target", metavar="s3://BUCKET[/PREFIX]")
    backfill.add_argument("--dry-run", action="store_true", help="list accepted and rejected objects only")
    backfill.add_argument("--concurrency", type=_positive, default=4, help="parallel invocations (default 4)")
    backfill.add_argument("--rate", type=float, help="at most N invocations per second")
    backfill.add_argument("--page-size", type=_positive, default=1000, help="objects per ListObjectsV2 page")
    backfill.add_argument("--local", action="store_true", help="run the bridge in this process (debugging)")
    backfill.set_defaults(run=_run_backfill)

    status = commands.add_parser("status", parents=[common], help="what the bridge knows about one object")
    status.add_argument("target", metavar="s3://BUCKET/KEY")
    status.add_argument("--version-id", help="a specific object version")
    status.add_argument("--scan-limit", type=_positive, default=1000, help="queue messages to search")
    status.set_defaults(run=_run_status)
    return parser


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


# --- commands ----------------------------------------------------------------------------------


def _resources(args: argparse.Namespace, aws: Aws) -> Resources:
    return resolve(
        aws,
        stack=args.stack,
        queue_url=args.queue_url,
        function_name=args.function_name,
        table=args.table,
        ingest_queue_url=getattr(args, "ingest_queue_url", None),  # replay and list only
    )


def _replay_target(args: argparse.Namespace, aws: Aws, resources: Resources) -> Target | None:
    """A buffered stack's events go back to its ingest queue, so the event source mapping's
    concurrency limit paces them; --local still runs them here (debugging). A dry run of a
    direct stack needs no function."""
    if resources.buffered and not args.local:
        return IngestQueue(aws.client("sqs"), resources.require_ingest_queue())
    if args.dry_run:
        return None
    return _invoker(args, aws, resources)


def _invoker(args: argparse.Namespace, aws: Aws, resources: Resources) -> Invoker:
    if args.local:
        return LocalInvoker.from_environment(_bridge_env(aws, resources))
    return LambdaInvoker(aws.client("lambda"), resources.require_function())


def _bridge_env(aws: Aws, resources: Resources) -> dict[str, str]:
    env = function_environment(aws, resources.function_name)
    try:
        BridgeConfig.from_environ(env)
    except ConfigError as error:
        where = f"function {resources.function_name}" if resources.function_name else "this environment"
        raise OperatorError(f"the bridge configuration of {where} is not valid: {error}") from None
    return env


def _run_replay(args: argparse.Namespace, out: TextIO) -> int:
    aws = Aws(args.region)
    resources = _resources(args, aws)
    queue = FailureQueue(aws.client("sqs"), resources.require_queue())
    visible = queue.approximate_count()
    target = _replay_target(args, aws, resources)
    progress = Progress("list" if args.dry_run else "replay", visible or None, enabled=_progress(args))

    def show(result: MessageResult) -> None:
        progress.advance(result.status)
        if not args.json and result.status is not ReplayStatus.FILTERED:
            progress.break_line()
            _print_message(result, out, dry_run=args.dry_run)

    try:
        report = replay(queue, target, _replay_options(args), show)
    finally:
        progress.close()
    _print_replay_report(report, args, queue.url, target, out)
    if args.dry_run:
        return EXIT_OK
    return EXIT_FAILED if report.failed else EXIT_OK


def _replay_options(args: argparse.Namespace) -> ReplayOptions:
    return ReplayOptions(
        dry_run=args.dry_run,
        prefix=args.prefix,
        reason=reason_filter(args.reason),
        max_messages=args.max_messages,
        concurrency=args.concurrency,  # --local: one bridge per worker thread
        discard_test_events=args.discard_test_events,
        visibility_timeout=args.visibility_timeout,
    )


def _print_message(result: MessageResult, out: TextIO, *, dry_run: bool) -> None:
    message = result.message
    objects = ", ".join(message.object_uris) or "-"
    reason = f"{message.reason or '?'} ({message.reason_class})"
    attempts = "?" if message.attempts is None else str(message.attempts)
    print(
        f"{result.status:<12} {objects}  reason={reason}  attempts={attempts}  "
        f"age={format_age(message.age_seconds)}  kind={message.kind.value}",
        file=out,
    )
    detail = result.error or (message.detail if dry_run else None)
    if detail:
        print(f"{'':<12} {detail}", file=out)


def _print_replay_report(
    report: ReplayReport, args: argparse.Namespace, queue_url: str, target: Target | None, out: TextIO
) -> None:
    summary = report.summary()
    ingest_url = target.url if isinstance(target, IngestQueue) else None
    if args.json:
        document = {
            "command": "replay",
            "dryRun": args.dry_run,
            "delivery": "buffered" if ingest_url else "direct",
            "queueUrl": queue_url,
            "ingestQueueUrl": ingest_url,
            "messages": [r.as_dict() for r in report.results],
            "summary": summary,
        }
        print(json.dumps(document, indent=2, default=str), file=out)
    elif not report.results:
        print("nothing to replay: the failure queue is empty", file=out)
    else:
        print(file=out)
        print(table(summary.items(), ("messages", "count")), file=out)
        if all(r.status is ReplayStatus.FILTERED for r in report.results):
            print("nothing matched the filters", file=out)
        elif summary.get(Row.REQUEUED):
            print(_REQUEUED_FOLLOW_UP.format(url=ingest_url), file=out)


# A requeue's outcome is the function's, later: where to look for it.
_REQUEUED_FOLLOW_UP = (
    "requeued to {url}: the function copies them at the event source mapping's pace.\n"
    "Follow up with `s3-wistia-bridge status s3://BUCKET/KEY` and `s3-wistia-bridge list` (what fails "
    "again comes back as a new failure record, or after maxReceiveCount receives), and the alarms."
)


def _run_backfill(args: argparse.Namespace, out: TextIO) -> int:
    bucket, prefix = _s3_target(args.target, need_key=False)
    aws = Aws(args.region)
    resources = _resources(args, aws)
    env = _bridge_env(aws, resources)
    config = BridgeConfig.from_environ(env)
    invoker = None
    if not args.dry_run:
        invoker = _invoker(args, aws, resources)
    options = BackfillOptions(
        prefix=prefix,
        dry_run=args.dry_run,
        concurrency=args.concurrency,  # --local: one bridge per worker thread
        rate=args.rate,
        page_size=args.page_size,
    )
    progress = Progress("backfill", enabled=_progress(args))

    def show(result: ObjectResult) -> None:
        progress.advance(result.status)
        if args.json:
            return
        progress.break_line()
        extra = "  ".join(
            part
            for part in (
                f"reason={result.reason}" if result.reason else "",
                f"hashed_id={result.hashed_id}" if result.hashed_id else "",
                result.detail if result.status in _SHOWN_DETAIL and result.detail else "",
            )
            if part
        )
        print(f"{result.status:<10} {result.uri}  {extra}".rstrip(), file=out)

    try:
        report = backfill(aws.client("s3"), bucket, config, invoker, options, on_result=show)
    finally:
        progress.close()
    summary = report.summary()
    if args.dry_run:
        summary = {k: v for k, v in summary.items() if k in _DRY_RUN_ROWS}
    else:
        summary.pop(BackfillStatus.WOULD_COPY.row)
    if args.json:
        document = {
            "command": "backfill",
            "dryRun": args.dry_run,
            "target": f"s3://{bucket}/{prefix}",
            "objects": [r.as_dict() for r in report.results],
            "summary": summary,
            "interrupted": report.interrupted,
        }
        print(json.dumps(document, indent=2), file=out)
    elif not report.results:
        print(f"no objects under s3://{bucket}/{prefix}", file=out)
    else:
        print(file=out)
        print(table(summary.items(), ("objects", "count")), file=out)
    if report.interrupted:
        print("interrupted: rerun the same command; copied objects will report duplicate", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_FAILED if report.failed else EXIT_OK


def _run_status(args: argparse.Namespace, out: TextIO) -> int:
    bucket, key = _s3_target(args.target, need_key=True)
    aws = Aws(args.region)
    resources = _resources(args, aws)
    if not resources.table and not resources.queue_url:
        raise OperatorError("nothing to look in: pass --stack NAME, or --table and/or --queue-url")
    queue = FailureQueue(aws.client("sqs"), resources.queue_url) if resources.queue_url else None
    report = object_status(
        aws.client("s3"),
        bucket,
        key,
        table=resources.table,
        queue=queue,
        version_id=args.version_id,
        scan_limit=args.scan_limit,
        dynamodb=aws.client("dynamodb") if resources.table else None,
    )
    if args.json:
        print(json.dumps(report.as_dict(), indent=2), file=out)
    else:
        print(report.text(), file=out)
    return EXIT_OK


# --- helpers -----------------------------------------------------------------------------------


def _s3_target(target: str, *, need_key: bool) -> tuple[str, str]:
    if not target.startswith("s3://"):
        raise OperatorError(f"{target!r} is not an s3://bucket/key address")
    bucket, _, rest = target[len("s3://") :].partition("/")
    if not bucket:
        raise OperatorError(f"{target!r} has no bucket name")
    if need_key and not rest:
        raise OperatorError(f"{target!r} has no object key: use s3://bucket/key")
    return bucket, rest


def _progress(args: argparse.Namespace) -> bool | None:
    return False if (args.no_progress or args.json) else None


def _folded(text: str) -> str:
    return text.strip().lower()


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


if __name__ == "__main__":
    sys.exit(main())
