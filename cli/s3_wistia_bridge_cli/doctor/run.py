"""The doctor's run: the checks in order, each printed as it is decided; exit status 1 when one
failed. A check whose inputs are missing (an output, a failed call) says so instead."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from s3_wistia_bridge.config import DEFAULT_API_URL, CopyMode

from ..exits import ExitCode
from ..resources import (
    BUFFERED,
    OUTPUT_ALARM_TOPIC,
    OUTPUT_BUCKET,
    OUTPUT_DELIVERY,
    OUTPUT_FUNCTION,
    OUTPUT_INGEST_QUEUE,
    OUTPUT_INGEST_QUEUE_ARN,
    OUTPUT_MAPPING,
    OUTPUT_QUEUE,
    Aws,
)
from ..stackname import StackName
from ..ui import Ui
from . import checks
from .checks import Failure, Result, Verdict
from .gather import Function, Probe

TOKEN_PATH = "/modern/token"  # noqa: S105 - a URL path, not a secret
ACCOUNT_USAGE_PATH = "/modern/account_usage"
ERROR_HOURS = 1
DEFAULT_BACKLOG_ALARM_SECONDS = 900  # the template's BacklogAgeAlarmSeconds default


def run_doctor(aws: Aws, ui: Ui, stack: StackName) -> int:
    results: list[Result] = []
    with ui.progress("doctor") as bar:
        for result in diagnose(Probe(aws), stack.name):
            bar.advance(result.verdict.value)
            results.append(result)
            _print(ui, result)
    failed = checks.exit_failed(results)
    if ui.json:
        ui.document({"command": "doctor", "stack": stack.name, "checks": [r.as_dict() for r in results]})
    else:
        ui.line("")
        ui.line(_tally(results))
    return ExitCode.FAILED if failed else ExitCode.OK


def _tally(results: list[Result]) -> str:
    counts = {verdict: sum(1 for r in results if r.verdict is verdict) for verdict in Verdict}
    return ", ".join(f"{n} {verdict.value}" for verdict, n in counts.items() if n)


def _print(ui: Ui, result: Result) -> None:
    ui.line(f"{result.verdict.value:<5} {result.check:<21} {result.found}", status=result.verdict.value)
    if result.fix and result.verdict is not Verdict.PASS:
        ui.line(f"{'':<5} {'':<21} fix: {result.fix}")


def diagnose(probe: Probe, stack_name: str) -> Iterator[Result]:
    description = probe.stack(stack_name)
    if isinstance(description, Failure):
        yield checks.stack(stack_name, description, {})
        return
    outputs, parameters = description.outputs, description.parameters
    yield checks.stack(stack_name, description.status, outputs)
    function = _function(probe, outputs)
    yield from _wistia(probe, function)
    yield from _delivery(probe, stack_name, outputs, parameters, function)
    yield _grant(probe, outputs, parameters, function)
    yield from _capacity(probe, outputs, parameters)
    yield _alarm(probe, outputs)
    name = outputs.get(OUTPUT_FUNCTION)
    yield checks.function_errors(
        probe.errors(name, ERROR_HOURS) if name else _missing(OUTPUT_FUNCTION), ERROR_HOURS
    )


def _missing(output: str) -> Failure:
    return Failure(f"the stack has no output {output}")


def _function(probe: Probe, outputs: Mapping[str, str]) -> Function | Failure:
    name = outputs.get(OUTPUT_FUNCTION)
    return probe.function(name) if name else _missing(OUTPUT_FUNCTION)


def _wistia(probe: Probe, function: Function | Failure) -> Iterator[Result]:
    if isinstance(function, Failure):
        yield checks.secret("?", function)
        return
    secret_id = function.environment.get("WISTIA_SECRET_ID", "")
    token = probe.token(secret_id) if secret_id else Failure("the function has no WISTIA_SECRET_ID")
    yield checks.secret(secret_id, "ok" if isinstance(token, str) else token)
    if not isinstance(token, str):
        return
    api = function.environment.get("WISTIA_API_URL") or DEFAULT_API_URL
    answer = probe.wistia(api, TOKEN_PATH, token)
    yield checks.token(answer)
    if isinstance(answer, checks.Http) and answer.status == 401:
        yield Result("wistia account", Verdict.SKIP, "not asked: Wistia refuses the token")
        return
    yield checks.account(probe.wistia(api, ACCOUNT_USAGE_PATH, token))


def _delivery(
    probe: Probe,
    stack_name: str,
    outputs: Mapping[str, str],
    parameters: Mapping[str, str],
    function: Function | Failure,
) -> Iterator[Result]:
    buffered = outputs.get(OUTPUT_DELIVERY) == BUFFERED
    function_arn = "" if isinstance(function, Failure) else function.arn
    target = outputs.get(OUTPUT_INGEST_QUEUE_ARN, "") if buffered else function_arn
    bucket = outputs.get(OUTPUT_BUCKET, "")
    config = probe.notification(bucket) if bucket else _missing(OUTPUT_BUCKET)
    if parameters.get("TriggerMode") == "ExistingBucket":
        yield checks.eventbridge_bucket(bucket, config)
        rule = probe.rule(stack_name)
        targets = [] if isinstance(rule, Failure) else probe.rule_targets(str(rule.get("Name")))
        yield checks.eventbridge_rule(rule, targets, target)
    else:
        yield checks.s3_notification(bucket, config, target, buffered=buffered)
    if buffered:
        found = _mapping(probe, outputs)
        yield checks.mapping(found if isinstance(found, Failure) else str(found.get("State", "?")))


def _grant(
    probe: Probe, outputs: Mapping[str, str], parameters: Mapping[str, str], function: Function | Failure
) -> Result:
    environment = {} if isinstance(function, Failure) else function.environment
    mode = parameters.get("CopyMode") or environment.get("COPY_MODE") or CopyMode.S3_COPY.value
    if mode != CopyMode.S3_COPY.value:
        return Result("wistia grant", Verdict.SKIP, f"{mode}: Wistia fetches presigned URLs, no grant needed")
    bucket = outputs.get(OUTPUT_BUCKET, "")
    partition = outputs.get("FailureQueueArn", "arn:aws:").split(":")[1] or "aws"
    return checks.wistia_grant(
        f"arn:{partition}:s3:::{bucket}",
        probe.bucket_policy(bucket) if bucket else _missing(OUTPUT_BUCKET),
        parameters.get("WistiaAwsAccountId", ""),
        new_bucket=parameters.get("TriggerMode", "NewBucket") == "NewBucket",
    )


def _capacity(probe: Probe, outputs: Mapping[str, str], parameters: Mapping[str, str]) -> Iterator[Result]:
    buffered = outputs.get(OUTPUT_DELIVERY) == BUFFERED
    found = _mapping(probe, outputs) if buffered else Failure("direct")
    scaling = {} if isinstance(found, Failure) else found.get("ScalingConfig") or {}
    maximum = int(scaling["MaximumConcurrency"]) if "MaximumConcurrency" in scaling else None
    name = outputs.get(OUTPUT_FUNCTION)
    settings = (
        probe.concurrency(name, buffered=buffered, max_concurrency=maximum)
        if name
        else _missing(OUTPUT_FUNCTION)
    )
    yield checks.concurrency(settings)
    queue = outputs.get(OUTPUT_QUEUE)
    yield checks.failure_queue(probe.depth(queue) if queue else _missing(OUTPUT_QUEUE))
    if buffered:
        ingest = outputs.get(OUTPUT_INGEST_QUEUE)
        alarm = int(parameters.get("BacklogAgeAlarmSeconds") or DEFAULT_BACKLOG_ALARM_SECONDS)
        yield checks.ingest_backlog(probe.depth(ingest) if ingest else _missing(OUTPUT_INGEST_QUEUE), alarm)


def _mapping(probe: Probe, outputs: Mapping[str, str]) -> dict[str, Any] | Failure:
    uuid = outputs.get(OUTPUT_MAPPING)
    return probe.mapping(uuid) if uuid else _missing(OUTPUT_MAPPING)


def _alarm(probe: Probe, outputs: Mapping[str, str]) -> Result:
    topic = outputs.get(OUTPUT_ALARM_TOPIC)
    return checks.alarm_subscriptions(
        topic or "?", probe.subscriptions(topic) if topic else _missing(OUTPUT_ALARM_TOPIC)
    )
