"""The two ways copying an object can fail, and what each means for retries."""

from __future__ import annotations

from typing import Any

from .reasons import FailureReason


class _CopyFailure(Exception):
    """What both carry: a reason for metrics and records, and a message that names the fix."""

    def __init__(
        self, reason: FailureReason, message: str, *, http_status: int | None = None, attempts: int = 0
    ):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.http_status = http_status
        self.attempts = attempts

    def log_fields(self) -> dict[str, Any]:
        """The fields every log line about this failure carries (never a secret: messages are redacted)."""
        return {
            "reason": self.reason.value,
            "detail": self.message,
            "http_status": self.http_status,
            "attempts": self.attempts,
        }


class TransientFailure(_CopyFailure):
    """Worth retrying later: Wistia busy or down, the network, the invocation out of time.

    `retry_after`: how long Wistia asked to wait (Retry-After), when it did."""

    def __init__(
        self,
        reason: FailureReason,
        message: str,
        *,
        http_status: int | None = None,
        attempts: int = 0,
        retry_after: float | None = None,
    ):
        super().__init__(reason, message, http_status=http_status, attempts=attempts)
        self.retry_after = retry_after


class PermanentFailure(_CopyFailure):
    """Retrying the same request cannot succeed; an operator must fix something first."""

    def __init__(
        self,
        reason: FailureReason,
        message: str,
        *,
        http_status: int | None = None,
        wistia_error: str | None = None,
        wistia_error_code: str | None = None,
        attempts: int = 0,
    ):
        super().__init__(reason, message, http_status=http_status, attempts=attempts)
        self.wistia_error = wistia_error
        self.wistia_error_code = wistia_error_code
