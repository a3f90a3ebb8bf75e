"""The CLI's exit statuses, one scheme for every command (docs/runbook.md, "Exit status")."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # done; `status`: copied; `doctor`: no check failed
    FAILED = 1  # something failed (the summary says what); `status`: in the failure queue
    USAGE = 2  # an operator error: bad arguments, unknown stack, a missing permission or resource
    NOT_KNOWN = 3  # `status` only: not copied, and no failure known (in progress, or nothing known)
    INTERRUPTED = 130  # Ctrl-C
