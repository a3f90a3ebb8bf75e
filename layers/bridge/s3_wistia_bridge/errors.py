"""The two ways copying an object can fail, and what each means for retries."""

from __future__ import annotations


class TransientFailure(Exception):
    """The one exception the function lets escape: Lambda retries it, then the failure queue.

    Worth retrying later: Wistia busy or down, the network, the invocation out of time."""

    def __init__(self, reason: str, message: str, *, http_status: int | None = None, attempts: int = 0):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.http_status = http_status
        self.attempts = attempts


class PermanentFailure(Exception):
    """Retrying the same request cannot succeed; an operator must fix something first."""

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        http_status: int | None = None,
        wistia_error: str | None = None,
        wistia_error_code: str | None = None,
        attempts: int = 0,
    ):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.http_status = http_status
        self.wistia_error = wistia_error
        self.wistia_error_code = wistia_error_code
        self.attempts = attempts
