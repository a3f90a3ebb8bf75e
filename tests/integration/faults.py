"""Scripted Wistia faults for the integration tests, on top of the emulator's FaultRule."""

from __future__ import annotations

from typing import Any

from wistia_emulator import FaultRule, WistiaEmulator


def fail_requests(
    emulator: WistiaEmulator,
    action: int | str,
    *,
    times: int | None = None,
    match: str | None = None,
    retry_after: int | None = None,
    body: Any = None,
) -> None:
    """Answer matching requests with `action` (a status, "drop" or "timeout"), `times` times."""
    emulator.add_rule(
        FaultRule(
            action=action,
            match=match,
            times=times,
            retry_after=retry_after,
            body=body,
            content_type="text/plain" if isinstance(body, str) else None,
            timeout_seconds=30.0 if action == "timeout" else None,
        )
    )
