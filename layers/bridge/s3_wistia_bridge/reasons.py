"""The one vocabulary of failure reasons: each with its class and what an operator should do.

Every failure the bridge raises, records or counts carries one of these; the operator tools
filter on them, and the runbook's table is generated from them (`make docs`, checked by a test).
Rejections (the allowlist saying no) are not failures: they have their own codes in
`validation.Reason`.
"""

from __future__ import annotations

import re
from enum import StrEnum


class ReasonClass(StrEnum):
    """Whether replaying without a fix can work."""

    PERMANENT = "permanent"  # an operator must fix something first
    TRANSIENT = "transient"  # the same request may succeed later
    UNKNOWN = "unknown"  # Lambda gave up without the bridge saying why


class FailureReason(StrEnum):
    """A failure's stable code (logs, metrics, failure records), its class, and its fix."""

    reason_class: ReasonClass
    happened: str
    advice: str

    def __new__(cls, value: str, reason_class: ReasonClass, happened: str, advice: str) -> FailureReason:
        member = str.__new__(cls, value)
        member._value_ = value
        member.reason_class = reason_class
        member.happened = happened
        member.advice = advice
        return member

    # --- transient: the same request may succeed later -------------------------------------------
    WISTIA_RATE_LIMITED = (
        "wistia_rate_limited",
        ReasonClass.TRANSIENT,
        "Wistia answered 429 or 503 through every attempt",
        "Nothing if the burst is over; for lasting 429s lower the delivery concurrency first, "
        "then replay with a low `--concurrency`.",
    )
    WISTIA_SERVER_ERROR = (
        "wistia_server_error",
        ReasonClass.TRANSIENT,
        "Wistia answered 5xx through every attempt",
        "Nothing if Wistia is back (status.wistia.com); replay.",
    )
    WISTIA_TIMEOUT = (
        "wistia_timeout",
        ReasonClass.TRANSIENT,
        "Wistia did not answer in time (connect or read timeout, HTTP 408)",
        "Check Wistia's status and the function's network (VPC egress or NAT); replay.",
    )
    WISTIA_CONNECTION_ERROR = (
        "wistia_connection_error",
        ReasonClass.TRANSIENT,
        "the connection to Wistia failed",
        "Check Wistia's status and the function's network (VPC egress or NAT); replay.",
    )
    DEADLINE_EXHAUSTED = (
        "deadline_exhausted",
        ReasonClass.TRANSIENT,
        "the invocation had no time left for another attempt",
        "Raise the `FunctionTimeoutSeconds` parameter or lower `WistiaReadTimeoutSeconds` / "
        "`WistiaMaxAttempts`; replay.",
    )
    FUNCTION_TIMEOUT = (
        "function_timeout",
        ReasonClass.TRANSIENT,
        "Lambda stopped the function at its timeout",
        "Raise the `FunctionTimeoutSeconds` parameter; replay.",
    )
    SECRET_UNAVAILABLE = (
        "secret_unavailable",
        ReasonClass.TRANSIENT,
        "Secrets Manager could not be read (throttled, permission, KMS)",
        "Check that the secret exists and the role's `secretsmanager:GetSecretValue` "
        "(and `kms:Decrypt`); replay.",
    )
    S3_UNAVAILABLE = (
        "s3_unavailable",
        ReasonClass.TRANSIENT,
        "the function's own S3 call (HeadObject for object metadata, signing a URL for url_import) failed",
        "Check S3's status and the role's credentials; replay.",
    )
    FAILURE_QUEUE_UNAVAILABLE = (
        "failure_queue_unavailable",
        ReasonClass.TRANSIENT,
        "the function could not write a failure record",
        "Check the queue and the role's `sqs:SendMessage`; replay.",
    )
    IDEMPOTENCY_UNAVAILABLE = (
        "idempotency_unavailable",
        ReasonClass.TRANSIENT,
        "the idempotency table could not be read or written, so nothing was sent",
        "Check DynamoDB's status and the role's `dynamodb:*Item` permissions on the idempotency "
        "table; replay.",
    )
    WISTIA_LOOKUP_FAILED = (
        "wistia_lookup_failed",
        ReasonClass.TRANSIENT,
        "an earlier request for this object may have created the media, and Wistia's Data API could not "
        "say whether it did: the bridge does not send again without knowing",
        "Check that the token may read medias (`s3-wistia-bridge doctor`) and Wistia's status; replay.",
    )
    DUPLICATE_IN_PROGRESS = (
        "duplicate_in_progress",
        ReasonClass.TRANSIENT,
        "another invocation was copying the same object version at that moment",
        "Nothing: a retry or a replay answers `duplicate` once the first copy finished.",
    )
    BACKFILL_RATE_LIMITED = (
        "backfill_rate_limited",
        ReasonClass.TRANSIENT,
        "a backfill task found the backfill's share of the Wistia rate budget used up "
        "(BACKFILL_RATE_PER_MINUTE), so nothing was sent",
        "Nothing: S3 Batch Operations retries the task. For a faster backfill raise "
        "`BACKFILL_RATE_PER_MINUTE`, leaving live uploads their share of Wistia's limit.",
    )
    LEDGER_UNAVAILABLE = (
        "ledger_unavailable",
        ReasonClass.TRANSIENT,
        "the ledger could not be read or written where a policy depends on it (OverwritePolicy, "
        "DeletePolicy): a skip, a swap or a delete cannot be decided without it",
        "Nothing: it is retried; if it persists check the ledger table (throttling, permissions).",
    )
    SWAP_NOT_READY = (
        "swap_not_ready",
        ReasonClass.TRANSIENT,
        "Wistia answered that the new version's media cannot be swapped in yet (still processing)",
        "Nothing: it is retried; the retry finds the copy done and only swaps.",
    )
    MEDIA_NOT_YET_COPIED = (
        "media_not_yet_copied",
        ReasonClass.TRANSIENT,
        "a caption or sidecar file arrived while its video exists in S3 but has no Wistia media yet",
        "Nothing: it is retried once the video's copy is recorded; from the failure queue, replay it "
        "after the video's own record is replayed or copied.",
    )
    SIDECAR_PENDING = (
        "sidecar_pending",
        ReasonClass.TRANSIENT,
        "the video waits for its sidecar (`SidecarWaitSeconds`) before it is sent",
        "Nothing: after the wait the video is sent with what is known.",
    )
    # --- unknown: Lambda gave up without the bridge's own reason ---------------------------------
    RETRIES_EXHAUSTED = (
        "retries_exhausted",
        ReasonClass.UNKNOWN,
        "Lambda gave up after its retries without the bridge's error (throttled, paused, crashed)",
        "Unpause or raise the concurrency; read the function's logs for a crash; replay.",
    )
    EVENT_AGE_EXCEEDED = (
        "event_age_exceeded",
        ReasonClass.UNKNOWN,
        "the event waited longer than Lambda's maximum event age (throttled or paused)",
        "Unpause or raise the concurrency; replay.",
    )
    FUNCTION_ERROR = (
        "function_error",
        ReasonClass.UNKNOWN,
        "the function failed with an error that is not the bridge's (a crash, an import error)",
        "Read the function's logs for the error named in the message; fix or redeploy; replay.",
    )
    # --- permanent: an operator must fix something first -----------------------------------------
    WISTIA_VIDEO_LIMIT = (
        "wistia_video_limit",
        ReasonClass.PERMANENT,
        "the Wistia account is full",
        "Raise the plan's limit or archive videos in Wistia; replay.",
    )
    WISTIA_UNAUTHORIZED = (
        "wistia_unauthorized",
        ReasonClass.PERMANENT,
        "the token was refused twice, also after re-reading the secret",
        'Put a valid token in the secret (`{"access_token": "..."}`); replay.',
    )
    WISTIA_FORBIDDEN = (
        "wistia_forbidden",
        ReasonClass.PERMANENT,
        "the token lacks permission, or s3_copy is not enabled on the account",
        "Give the token upload permission; ask Wistia to enable s3_copy (or deploy with "
        "`CopyMode=url_import`); replay.",
    )
    WISTIA_EDIT_FORBIDDEN = (
        "wistia_edit_forbidden",
        ReasonClass.PERMANENT,
        "Wistia answered 401 or 403 to an edit of a media (swap, delete, archive, captions, tags, "
        "folders): the token may upload but not edit",
        'Give the token Wistia\'s "Read, update & delete anything" permission (or turn the '
        "feature off); replay.",
    )
    WISTIA_NOT_FOUND = (
        "wistia_not_found",
        ReasonClass.PERMANENT,
        "Wistia could not find the object or the project",
        "Check that the bucket policy grants Wistia read access to the object and that the "
        "`WistiaProjectId` / `WistiaRoutes` project ids exist; replay.",
    )
    WISTIA_BAD_REQUEST = (
        "wistia_bad_request",
        ReasonClass.PERMANENT,
        "Wistia refused the request itself (HTTP 400); with url_import, often a presigned URL "
        "that expired or could not be fetched",
        "Read the `message` (Wistia's error, redacted); fix the object, the route or the role's "
        "`s3:GetObject`; replay (a replay signs a fresh URL).",
    )
    WISTIA_UNPROCESSABLE = (
        "wistia_unprocessable",
        ReasonClass.PERMANENT,
        "Wistia refused the request's content (HTTP 422)",
        "Read the `message`; fix the name, project or contact of the route; replay.",
    )
    WISTIA_HTTP_ERROR = (
        "wistia_http_error",
        ReasonClass.PERMANENT,
        "Wistia answered another 4xx status (the record's `http.status` says which)",
        "Read the `message` and the status; fix what it names; replay.",
    )
    WISTIA_AMBIGUOUS = (
        "wistia_ambiguous",
        ReasonClass.PERMANENT,
        "a copy request got no answer and several medias of that name appeared since: the bridge "
        "would not guess which is this object's",
        "In Wistia, look at the medias of that name: if one is this object's, delete the extra ones "
        "and discard the message; if none is, replay.",
    )
    WISTIA_PROCESSING_FAILED = (
        "wistia_processing_failed",
        ReasonClass.PERMANENT,
        "Wistia accepted the copy but could not process the file (`media.failed`, or Show Media "
        "said `failed`): usually a format or size Wistia cannot encode",
        "Open the media in Wistia (the record's `media.hashedId`) and check the source file plays; "
        "re-encode or re-upload it if it is damaged, or replay to copy the same version again as a "
        "new media (the ledger links the two: `replaces` / `replaced_by`).",
    )
    WISTIA_PROCESSING_STUCK = (
        "wistia_processing_stuck",
        ReasonClass.PERMANENT,
        "the media was still not ready `READY_DEADLINE_MINUTES` after the copy",
        "Look at the media in Wistia (status.wistia.com for processing delays); if it did become "
        "ready, discard the message; else delete it in Wistia and replay to copy the object again "
        "as a new media.",
    )
    S3_ACCESS_DENIED = (
        "s3_access_denied",
        ReasonClass.PERMANENT,
        "S3 refused the function's own HeadObject (missing `s3:GetObject`, a bucket policy deny, KMS)",
        "Fix the permission (the role's `s3:GetObject` on the key, the bucket policy, the KMS key); "
        "replay. A deleted object is `object_missing`, not this.",
    )
    SWAP_REFUSED = (
        "swap_refused",
        ReasonClass.PERMANENT,
        "Wistia refused to swap the new version into the existing media (`OverwritePolicy=replace`; "
        "for example the two medias are not of the same type)",
        "The new version is a media of its own (its hashed_id is in the record); swap it by hand in "
        "Wistia, or delete it and upload a file of the same type.",
    )
    ARCHIVE_NOT_IN_PLAN = (
        "archive_not_in_plan",
        ReasonClass.PERMANENT,
        "Wistia answered 403 to an archive: the account's plan has no archiving",
        "Set `DeletePolicy` to `ignore` or `delete`, or upgrade the plan; replay.",
    )
    CAPTION_INVALID = (
        "caption_invalid",
        ReasonClass.PERMANENT,
        "the caption file is not SRT or WebVTT text the bridge can send (encoding, size, no cue, "
        "unknown language code)",
        "Fix the file and upload it again (a new upload is a new event); discard this record.",
    )
    FOLDER_MISSING = (
        "folder_missing",
        ReasonClass.PERMANENT,
        "`ProjectRouting=folders` found no Wistia folder named after the key's folder (or none "
        "named as a sidecar's `project.name`), and `CreateMissingFolders` is off",
        "Create the folder in Wistia (or turn `CreateMissingFolders` on); replay.",
    )
    SECRET_MALFORMED = (
        "secret_malformed",
        ReasonClass.PERMANENT,
        'the secret is neither a bare token nor `{"access_token": "..."}`',
        "Fix the secret's format; replay.",
    )
    MALFORMED_EVENT = (
        "malformed_event",
        ReasonClass.PERMANENT,
        "the function was invoked with something it cannot read",
        "Not replayable: find who sent it, then discard the message.",
    )

    @classmethod
    def parse(cls, text: str | None) -> FailureReason | None:
        """The reason a text names: its own value, or an older record's `wistia_http_<status>`."""
        if not text:
            return None
        named = next((reason for reason in cls if reason.value == text), None)
        if named is None and _LEGACY_HTTP_REASON.match(text):
            return cls.WISTIA_HTTP_ERROR
        return named


# Records written before the vocabulary named each other 4xx status in the reason itself.
_LEGACY_HTTP_REASON = re.compile(r"^wistia_http_\d{3}$")


def reason_class(reason: FailureReason | None) -> ReasonClass:
    return reason.reason_class if reason is not None else ReasonClass.UNKNOWN


def runbook_table() -> str:
    """The runbook's reason table (docs/runbook.md), one row per reason, grouped by class."""
    rows = ["| reason | class | what happened | what to do before replaying |", "| --- | --- | --- | --- |"]
    for group in (ReasonClass.TRANSIENT, ReasonClass.UNKNOWN, ReasonClass.PERMANENT):
        rows.extend(
            f"| `{reason.value}` | {group.value} | {reason.happened} | {reason.advice} |"
            for reason in FailureReason
            if reason.reason_class is group
        )
    return "\n".join(rows)
