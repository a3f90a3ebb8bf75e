"""The doctor's decisions: each check a pure function from the answers AWS and Wistia gave to a
verdict, what was found, and the fix. No I/O here (gather.py asks, run.py orders and prints).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

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
    OUTPUT_TABLE,
)


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    WARN = "warn"  # works, but worth a look; does not fail the run
    FAIL = "fail"  # the bridge cannot work as configured: exit status 1
    SKIP = "skip"  # not applicable, or not available on this endpoint


@dataclass(frozen=True)
class Result:
    check: str
    verdict: Verdict
    found: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"check": self.check, "verdict": self.verdict.value, "found": self.found, "fix": self.fix}


@dataclass(frozen=True)
class Failure:
    """A call that did not answer: why, in one line (an OperatorError's text)."""

    why: str


# --- the stack ---------------------------------------------------------------------------------

# Healthy end states; *_IN_PROGRESS is a deploy under way, anything else a failed deploy.
_STABLE = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"})
BASE_OUTPUTS = (
    OUTPUT_QUEUE,
    OUTPUT_FUNCTION,
    OUTPUT_TABLE,
    OUTPUT_DELIVERY,
    OUTPUT_BUCKET,
    OUTPUT_ALARM_TOPIC,
)
BUFFERED_OUTPUTS = (OUTPUT_INGEST_QUEUE, OUTPUT_INGEST_QUEUE_ARN, OUTPUT_MAPPING)


def stack(name: str, status: str | Failure, outputs: Mapping[str, str]) -> Result:
    if isinstance(status, Failure):
        return Result(
            "stack", Verdict.FAIL, status.why, "deploy it (sam deploy), or pass the right --stack/--region"
        )
    wanted = BASE_OUTPUTS + (BUFFERED_OUTPUTS if outputs.get(OUTPUT_DELIVERY) == BUFFERED else ())
    missing = [output for output in wanted if not outputs.get(output)]
    if missing:
        return Result(
            "stack",
            Verdict.FAIL,
            f"{name} ({status}) lacks the outputs {', '.join(missing)}",
            "deploy this version of template.yaml (sam build && sam deploy)",
        )
    if status not in _STABLE:
        verdict = Verdict.WARN if status.endswith("_IN_PROGRESS") else Verdict.FAIL
        return Result(
            "stack", verdict, f"{name} is {status}", "wait for the deploy, or read its events and redeploy"
        )
    return Result("stack", Verdict.PASS, f"{name} is {status}, every output present")


# --- Wistia ------------------------------------------------------------------------------------

# OAuth scopes (Wistia's OAuth2 guide): what uploads, and what may list medias (the bridge's
# duplicate check after an unanswered copy request lists medias by name).
UPLOAD_SCOPES = frozenset({"all:all", "media:upload"})
READ_SCOPES = frozenset({"all:all", "all:read", "media:read"})
KNOWN_SCOPES = UPLOAD_SCOPES | READ_SCOPES | {"stats:read", "project:write"}


@dataclass(frozen=True)
class Http:
    """One Wistia answer: its status and JSON body (None when it was not JSON)."""

    status: int
    body: Any


def secret(secret_id: str, answer: str | Failure) -> Result:
    """`answer`: "ok" when the secret held a well-formed token, else why not."""
    if isinstance(answer, Failure):
        return Result(
            "wistia secret",
            Verdict.FAIL,
            answer.why,
            'store {"access_token": "..."} (or the bare token) in the secret; the caller needs '
            "secretsmanager:GetSecretValue (and kms:Decrypt for a customer managed key)",
        )
    return Result("wistia secret", Verdict.PASS, f"{secret_id} holds a well-formed token")


def token(answer: Http | Failure) -> Result:
    """GET /modern/token: Wistia accepts the token, and it may upload and list medias."""
    if isinstance(answer, Failure):
        return Result(
            "wistia token",
            Verdict.WARN,
            f"Wistia did not answer: {answer.why}",
            "check the WistiaApiUrl parameter and this machine's network",
        )
    if answer.status == 401:
        return Result(
            "wistia token",
            Verdict.FAIL,
            "Wistia refuses the token (HTTP 401)",
            "put a valid API token in the secret; the function re-reads it within TokenCacheSeconds",
        )
    if answer.status != 200 or not isinstance(answer.body, dict):
        return Result(
            "wistia token",
            Verdict.WARN,
            f"GET /modern/token answered HTTP {answer.status}",
            "check Wistia's status (status.wistia.com) and the WistiaApiUrl parameter",
        )
    return _scopes(answer.body)


def _scopes(details: Mapping[str, Any]) -> Result:
    scopes = {str(s) for s in details.get("scopes") or []}
    kind = f"{details.get('type', '?')} token, scopes {', '.join(sorted(scopes)) or 'none'}"
    if not scopes & KNOWN_SCOPES:
        return Result(
            "wistia token",
            Verdict.WARN,
            f"accepted; {kind}: none this check knows",
            "make sure the token may upload and read medias",
        )
    lacking = [
        need
        for need, grants in (("upload", UPLOAD_SCOPES), ("read medias", READ_SCOPES))
        if not scopes & grants
    ]
    if lacking:
        return Result(
            "wistia token",
            Verdict.FAIL,
            f"accepted; {kind}: it may not {' or '.join(lacking)}",
            "use a token with 'Read, update & delete anything' (or upload and 'Read all folder and media "
            "data'): uploads need the first, the recovery after an unanswered request lists medias",
        )
    expires = details.get("expires_at")
    if expires:
        return Result(
            "wistia token",
            Verdict.WARN,
            f"accepted; {kind}; expires at {expires}",
            "replace it with a permanent token before then",
        )
    return Result("wistia token", Verdict.PASS, f"accepted; {kind}")


_BLOCKED_FIX = {
    "reached_media_limit": "archive or delete medias in Wistia, or raise the plan's media limit",
    "reached_storage_limit": "free storage in Wistia, or raise the plan's storage limit",
}


def account(answer: Http | Failure) -> Result:
    """GET /modern/account_usage: the next upload would succeed."""
    if isinstance(answer, Failure):
        return Result("wistia account", Verdict.WARN, f"Wistia did not answer: {answer.why}", "")
    if answer.status != 200 or not isinstance(answer.body, dict):
        return Result(
            "wistia account",
            Verdict.WARN,
            f"GET /modern/account_usage answered HTTP {answer.status}",
            "check the token (above) and Wistia's status",
        )
    if answer.body.get("can_upload") is False:
        reason = str(answer.body.get("upload_blocked_reason") or "not said")
        fix = _BLOCKED_FIX.get(reason, "see the account's plan and usage pages in Wistia")
        return Result("wistia account", Verdict.FAIL, f"uploads are blocked: {reason}", f"{fix}; then replay")
    plan = answer.body.get("plan") or {}
    return Result("wistia account", Verdict.PASS, f"can upload (plan {plan.get('name') or '?'})")


# --- event delivery ----------------------------------------------------------------------------


def s3_notification(
    bucket: str, config: Mapping[str, Any] | Failure, target_arn: str, *, buffered: bool
) -> Result:
    """A new bucket's NotificationConfiguration sends ObjectCreated to this stack's ingest
    queue (buffered) or function (direct)."""
    if isinstance(config, Failure):
        return Result(
            "s3 notifications", Verdict.FAIL, config.why, "the caller needs s3:GetBucketNotification"
        )
    key, arn_key = (
        ("QueueConfigurations", "QueueArn")
        if buffered
        else ("LambdaFunctionConfigurations", "LambdaFunctionArn")
    )
    reaching = [
        c
        for c in config.get(key) or []
        if _same_function(str(c.get(arn_key, "")), target_arn)
        and any(str(e).startswith("s3:ObjectCreated:") for e in c.get("Events") or [])
    ]
    if not reaching:
        return Result(
            "s3 notifications",
            Verdict.FAIL,
            f"{bucket} sends no ObjectCreated event to {target_arn}",
            "redeploy the stack (sam deploy): it owns the bucket's notification configuration, which "
            "something replaced",
        )
    return Result("s3 notifications", Verdict.PASS, f"{bucket}: ObjectCreated -> {target_arn}")


def _same_function(arn: str, target: str) -> bool:
    """A notification may name the function with a qualifier (:$LATEST, an alias)."""
    return arn == target or arn.startswith(target + ":")


def eventbridge_bucket(bucket: str, config: Mapping[str, Any] | Failure) -> Result:
    """An existing bucket sends its events to EventBridge (its notification configuration)."""
    if isinstance(config, Failure):
        return Result("eventbridge on", Verdict.FAIL, config.why, "the caller needs s3:GetBucketNotification")
    if "EventBridgeConfiguration" not in config:
        return Result(
            "eventbridge on",
            Verdict.FAIL,
            f"{bucket} does not send events to EventBridge",
            f"aws s3api put-bucket-notification-configuration --bucket {bucket} --notification-configuration "
            "'{\"EventBridgeConfiguration\": {}}' (add the bucket's other notifications to that document: "
            "it replaces them)",
        )
    return Result("eventbridge on", Verdict.PASS, f"{bucket} sends its events to EventBridge")


def eventbridge_rule(rule: Mapping[str, Any] | Failure, targets: Sequence[str], target_arn: str) -> Result:
    if isinstance(rule, Failure):
        return Result("eventbridge rule", Verdict.FAIL, rule.why, "redeploy the stack (sam deploy)")
    name = str(rule.get("Name", "?"))
    if rule.get("State") != "ENABLED":
        return Result(
            "eventbridge rule",
            Verdict.FAIL,
            f"{name} is {rule.get('State', '?')}",
            f"aws events enable-rule --name {name}",
        )
    if target_arn not in targets:
        return Result(
            "eventbridge rule",
            Verdict.FAIL,
            f"{name} does not target {target_arn}",
            "redeploy the stack (sam deploy)",
        )
    return Result("eventbridge rule", Verdict.PASS, f"{name} is ENABLED -> {target_arn}")


def mapping(state: str | Failure) -> Result:
    """A buffered stack's event source mapping: disabled means the bridge is paused."""
    if isinstance(state, Failure):
        return Result("event source mapping", Verdict.FAIL, state.why, "redeploy the stack (sam deploy)")
    if state != "Enabled":
        return Result(
            "event source mapping",
            Verdict.WARN,
            f"{state}: the bridge is paused, events wait",
            "aws lambda update-event-source-mapping --uuid <IngestEventSourceMappingId> --enabled",
        )
    return Result("event source mapping", Verdict.PASS, "Enabled")


# --- the bucket policy (s3_copy) ---------------------------------------------------------------


def wistia_grant(
    bucket_arn: str, policy: str | Failure | None, wistia_account: str, *, new_bucket: bool
) -> Result:
    """s3_copy: Wistia's AWS account may read the objects (the bucket policy)."""
    send = f"bucket ARN to give Wistia: {bucket_arn}"
    if isinstance(policy, Failure):
        return Result(
            "wistia grant", Verdict.FAIL, f"{policy.why}; {send}", "the caller needs s3:GetBucketPolicy"
        )
    grantees = _readers(policy)
    if wistia_account and wistia_account in grantees:
        return Result("wistia grant", Verdict.PASS, f"account {wistia_account} may read the objects; {send}")
    if new_bucket or wistia_account:
        fix = (
            "deploy with WistiaAwsAccountId=<the account id Wistia gave>"
            if new_bucket
            else f"allow s3:GetObject on {bucket_arn}/* to arn:aws:iam::<Wistia's account>:root in the "
            "bucket policy"
        )
        return Result(
            "wistia grant",
            Verdict.FAIL,
            f"the bucket policy lets no Wistia account read; {send}",
            f"{fix}, or deploy with CopyMode=url_import",
        )
    if grantees:
        return Result(
            "wistia grant",
            Verdict.WARN,
            f"accounts {', '.join(sorted(grantees))} may read; {send}",
            "make sure one of them is Wistia's",
        )
    return Result(
        "wistia grant",
        Verdict.FAIL,
        f"the bucket policy lets no other account read; {send}",
        f"allow s3:GetObject on {bucket_arn}/* to Wistia's account, or deploy with CopyMode=url_import",
    )


_READ_ACTIONS = frozenset({"s3:GetObject", "s3:Get*", "s3:*", "*"})


def _readers(policy: str | None) -> set[str]:
    """The account ids an Allow statement lets s3:GetObject."""
    try:
        document = json.loads(policy) if policy else {}
    except json.JSONDecodeError:
        return set()
    statements = document.get("Statement") or []
    accounts: set[str] = set()
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") == "Allow" and set(_listed(statement.get("Action"))) & _READ_ACTIONS:
            principal = statement.get("Principal")
            aws = principal.get("AWS") if isinstance(principal, dict) else None
            accounts.update(_account_of(p) for p in _listed(aws))
    return accounts


def _listed(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else ([str(value)] if value else [])


def _account_of(principal: str) -> str:
    """arn:aws:iam::123456789012:root (or a role of it) or a bare account id -> the account id."""
    parts = principal.split(":")
    return parts[4] if len(parts) > 4 else principal


# --- concurrency -------------------------------------------------------------------------------

# AWS keeps at least 100 of an account's concurrency unreserved (Lambda Developer Guide,
# "Configuring reserved concurrency").
UNRESERVED_MINIMUM = 100


@dataclass(frozen=True)
class Concurrency:
    account_limit: int
    unreserved: int
    reserved: int | None  # the function's reserved concurrency, None without a reservation
    buffered: bool
    max_concurrency: int | None  # the mapping's MaximumConcurrency


def concurrency(settings: Concurrency | Failure) -> Result:
    if isinstance(settings, Failure):
        return Result(
            "concurrency",
            Verdict.SKIP,
            f"not available: {settings.why}",
            "the caller needs lambda:GetAccountSettings and lambda:GetFunctionConcurrency",
        )
    found = _concurrency_text(settings)
    problem = _concurrency_problem(settings)
    if problem is not None:
        return Result("concurrency", Verdict.WARN, f"{found}; {problem[0]}", problem[1])
    return Result("concurrency", Verdict.PASS, found)


def _concurrency_text(s: Concurrency) -> str:
    reserved = "none reserved" if s.reserved is None else f"{s.reserved} reserved"
    mapping_max = f", MaxConcurrency {s.max_concurrency}" if s.buffered else ""
    return f"account {s.account_limit} ({s.unreserved} unreserved), function {reserved}{mapping_max}"


def _concurrency_problem(s: Concurrency) -> tuple[str, str] | None:
    """The first thing wrong with the settings, and its fix."""
    if s.reserved == 0:
        return "reserved concurrency 0 pauses the bridge", "deploy with ReservedConcurrency=-1 (or above 0)"
    available = s.reserved if s.reserved is not None else s.unreserved
    if s.buffered and s.max_concurrency is not None and s.max_concurrency > available:
        return (
            f"MaxConcurrency {s.max_concurrency} is more than the {available} the function can run",
            "deploy with ReservedConcurrency=-1 and a MaxConcurrency within the account's concurrency",
        )
    if s.reserved is not None and s.unreserved < UNRESERVED_MINIMUM:
        return (
            f"only {s.unreserved} unreserved (AWS keeps {UNRESERVED_MINIMUM}): the reservation cannot grow",
            "ask AWS for a higher concurrency quota, or deploy with ReservedConcurrency=-1",
        )
    return None


# --- queues, alarms, errors --------------------------------------------------------------------


@dataclass(frozen=True)
class Depth:
    visible: int
    in_flight: int
    oldest_seconds: float | None  # CloudWatch ApproximateAgeOfOldestMessage; None: not available


def failure_queue(depth: Depth | Failure) -> Result:
    if isinstance(depth, Failure):
        return Result("failure queue", Verdict.FAIL, depth.why, "the caller needs sqs:GetQueueAttributes")
    found = f"{depth.visible} waiting, {depth.in_flight} in flight, oldest {_age(depth.oldest_seconds)}"
    if depth.visible or depth.in_flight:
        return Result(
            "failure queue", Verdict.WARN, found, "s3-wistia-bridge list, fix the cause, then replay"
        )
    return Result("failure queue", Verdict.PASS, "empty")


def ingest_backlog(depth: Depth | Failure, alarm_seconds: int) -> Result:
    if isinstance(depth, Failure):
        return Result("ingest backlog", Verdict.FAIL, depth.why, "the caller needs sqs:GetQueueAttributes")
    found = f"{depth.visible} waiting, {depth.in_flight} in flight, oldest {_age(depth.oldest_seconds)}"
    if depth.oldest_seconds is not None and depth.oldest_seconds > alarm_seconds:
        return Result(
            "ingest backlog",
            Verdict.WARN,
            f"{found} (over {alarm_seconds}s)",
            "is the mapping paused, or Wistia throttling? see the function's logs",
        )
    return Result("ingest backlog", Verdict.PASS, found)


def _age(seconds: float | None) -> str:
    return "not available" if seconds is None else f"{int(seconds)}s"


def alarm_subscriptions(topic: str, subscriptions: Iterable[Mapping[str, Any]] | Failure) -> Result:
    """Somebody hears the alarms: a confirmed subscription (ListSubscriptionsByTopic names an
    unconfirmed one `PendingConfirmation`)."""
    if isinstance(subscriptions, Failure):
        return Result(
            "alarm topic", Verdict.FAIL, subscriptions.why, "the caller needs sns:ListSubscriptionsByTopic"
        )
    listed = list(subscriptions)
    confirmed = [s for s in listed if str(s.get("SubscriptionArn", "")).startswith("arn:")]
    if confirmed:
        endpoints = ", ".join(f"{s.get('Protocol')}:{s.get('Endpoint')}" for s in confirmed)
        return Result("alarm topic", Verdict.PASS, f"confirmed: {endpoints}")
    pending = len(listed)
    found = f"{pending} subscription(s), none confirmed" if pending else "no subscription"
    return Result(
        "alarm topic",
        Verdict.FAIL,
        f"{found}: nobody hears the alarms",
        "deploy with AlarmEmail=<address> and confirm the e-mail, or "
        f"aws sns subscribe --topic-arn {topic} --protocol email --notification-endpoint <address>",
    )


def function_errors(errors: float | Failure | None, hours: int) -> Result:
    """The function's Errors metric over the last hours (None: no datapoint at all)."""
    if isinstance(errors, Failure):
        return Result("function errors", Verdict.SKIP, f"not available: {errors.why}", "")
    if errors:
        return Result(
            "function errors",
            Verdict.WARN,
            f"{int(errors)} error(s) in the last {hours} h",
            "read the function's log group for ERROR lines",
        )
    none = "no datapoint" if errors is None else "0 errors"
    return Result("function errors", Verdict.PASS, f"{none} in the last {hours} h")


def exit_failed(results: Iterable[Result]) -> bool:
    return any(result.verdict is Verdict.FAIL for result in results)
