"""The configuration of the two tracking functions (webhook receiver, sweeper): declared like config.py.

One `Variable` per environment variable, shared by both functions (each reads what it needs:
the webhook its secret, the sweeper the Wistia token and its pace). `make docs` renders the table
of docs/lifecycle.md from TRACKING_VARIABLES.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import NamedTuple

from .config import (
    VARIABLES,
    ConfigError,
    DeletePolicy,
    Parser,
    Variable,
    _choice,
    _integer,
    _positive,
    _text,
    configuration_table,
)


class StatusTracking(StrEnum):
    """How the bridge learns that a media is ready: Wistia's webhooks (the sweeper as a safety net
    for what they missed), the sweeper alone (poll), or not at all."""

    WEBHOOKS = "webhooks"
    POLL = "poll"
    OFF = "off"


class SourceDisposition(StrEnum):
    """What happens to the source object once its media is ready. Every value but `keep` tags the
    object version (`wistia-status=ready`, `wistia-hashed-id=...`); the bucket's lifecycle rules
    (docs/lifecycle.md) archive or expire what carries the tag."""

    KEEP = "keep"
    TAG = "tag"
    ARCHIVE_AFTER_DAYS = "archive_after_days"
    EXPIRE_AFTER_DAYS = "expire_after_days"


def _rate(maximum: float) -> Parser:
    return _positive(maximum, "a rate", "per second")


def _ingest(name: str, meaning: str, missing: str | None = None) -> Variable:
    """The ingest function's declaration of a variable both read, with this function's meaning
    (and, for one the ingest function may go without, what its absence means here)."""
    variable = next(variable for variable in VARIABLES if variable.name == name)
    return variable._replace(meaning=meaning, missing=missing or variable.missing)


TRACKING_VARIABLES = (
    _ingest(
        "LEDGER_TABLE",
        "The ledger table the ingest function writes (the stack creates it).",
        missing="required; set it to the name of the ledger table (the stack creates it)",
    ),
    _ingest(
        "FAILURE_QUEUE_URL",
        "Where a media that failed in Wistia, or was not ready in time, is recorded (the ingest "
        "function's failure queue: a replay copies the object again as a new media).",
    ),
    Variable(
        "STATUS_TRACKING",
        "status_tracking",
        _choice(tuple(StatusTracking), StatusTracking),
        "`webhooks`: Wistia's webhooks move the ledger, the sweeper asks Wistia about what they "
        "left open; `poll`: the sweeper alone; `off`: the sweeper does nothing.",
        parameters=("StatusTracking",),
        default=StatusTracking.WEBHOOKS.value,
    ),
    Variable(
        "WISTIA_WEBHOOK_SECRET_ID",
        "webhook_secret_id",
        Parser(_text),
        "Webhook function: the Secrets Manager secret holding the webhook's secret key (bare, or "
        '`{"secret_key": "..."}`), which signs every delivery.',
        parameters=("WistiaWebhookSecretArn",),
    ),
    Variable(
        "WISTIA_SECRET_ID",
        "secret_id",
        Parser(_text),
        "Sweeper: the Wistia token's secret (the ingest function's); it must be allowed to read medias.",
        parameters=("WistiaSecretArn",),
    ),
    _ingest(
        "WISTIA_API_URL", "Sweeper: Wistia's Data API host (Show Media, `GET /modern/medias/{hashed_id}`)."
    ),
    Variable(
        "SWEEP_AFTER_MINUTES",
        "sweep_after_minutes",
        _integer(1, 10080),
        "Sweeper: a media still not final this long after its copy is asked about.",
        parameters=("SweepAfterMinutes",),
        default="30",
    ),
    Variable(
        "READY_DEADLINE_MINUTES",
        "ready_deadline_minutes",
        _integer(2, 43200),
        "A media not ready this long after its copy is a failure (`wistia_processing_stuck`).",
        parameters=("ReadyDeadlineMinutes",),
        default="240",
    ),
    Variable(
        "SWEEP_MAX_REQUESTS",
        "sweep_max_requests",
        _integer(1, 1000),
        "Sweeper: the most Show Media requests of one run (its share of the account's rate limit, "
        "with the schedule's period).",
        parameters=("SweepMaxRequests",),
        default="60",
    ),
    Variable(
        "SWEEP_REQUESTS_PER_SECOND",
        "sweep_requests_per_second",
        _rate(10),
        "Sweeper: the pace of its requests within a run.",
        parameters=("SweepRequestsPerSecond",),
        default="2",
    ),
    Variable(
        "SOURCE_DISPOSITION",
        "source_disposition",
        _choice(tuple(SourceDisposition), SourceDisposition),
        "Once a media is ready: `keep` the source as it is, or tag its version (`wistia-status=ready`, "
        "`wistia-hashed-id`) for a lifecycle rule to archive or expire (the role then needs "
        "`s3:Get/PutObject(Version)Tagging`). A media that failed is never tagged.",
        parameters=("SourceDisposition",),
        default=SourceDisposition.KEEP.value,
    ),
    _ingest(
        "EVENT_BUS_NAME",
        "The EventBridge bus for `Media Ready` and `Media Failed` (docs/events.md); the stack sets "
        "`default`; not set: no events.",
    ),
    # -- re-uploads and deletes (versions_and_deletes.py) -----------------------------------------
    _ingest(
        "DELETE_POLICY",
        "Sweeper: `archive` or `delete` the medias whose delete is due (docs/versions-and-deletes.md), "
        "sharing SWEEP_MAX_REQUESTS and SWEEP_REQUESTS_PER_SECOND; `ignore`: none.",
    ),
    _ingest("DELETE_DRY_RUN", "Sweeper: log and publish what it would archive or delete, send nothing."),
)

TRACKING_ENVIRONMENT = tuple(variable.name for variable in TRACKING_VARIABLES)


class TrackingConfig(NamedTuple):
    ledger_table: str
    failure_queue_url: str
    status_tracking: StatusTracking
    webhook_secret_id: str | None
    secret_id: str | None
    api_url: str
    sweep_after_minutes: int
    ready_deadline_minutes: int
    sweep_max_requests: int
    sweep_requests_per_second: float
    source_disposition: SourceDisposition
    event_bus_name: str | None
    delete_policy: DeletePolicy
    delete_dry_run: bool

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> TrackingConfig:
        config = cls(
            **{variable.field: variable.read(env) for variable in TRACKING_VARIABLES if variable.field}
        )
        if config.ready_deadline_minutes <= config.sweep_after_minutes:
            raise ConfigError(
                f"READY_DEADLINE_MINUTES: {config.ready_deadline_minutes} must be over "
                f"SWEEP_AFTER_MINUTES ({config.sweep_after_minutes}), or nothing is asked before the deadline"
            )
        return config

    def require(self, field: str, variable: str, why: str) -> str:
        """A variable one function cannot do without (ConfigError naming it otherwise)."""
        value = getattr(self, field)
        if not value:
            raise ConfigError(f"{variable}: required {why}")
        return str(value)


def tracking_table() -> str:
    """The table of docs/lifecycle.md: one row per variable."""
    return configuration_table(TRACKING_VARIABLES)
