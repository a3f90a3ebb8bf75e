"""The confirmation before a bulk operation: whether to go on, ask, or refuse. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Decision(StrEnum):
    PROCEED = "proceed"
    ASK = "ask"
    REFUSE = "refuse"  # no terminal to ask on, and no --yes


@dataclass(frozen=True)
class Plan:
    """What a bulk run is about to do, counted by a dry run of the same selection."""

    command: str  # "replay" or "backfill"
    items: int  # replay: messages; backfill: objects
    objects: int  # the objects those name
    destination: str  # "invoke ingest" / "requeue to <url>" / "enqueue on <url>" / "run here"
    free_items: int = 0  # this many or fewer go ahead unasked (replay: one message)

    def sentence(self) -> str:
        unit = "message(s)" if self.command == "replay" else "object(s)"
        what = (
            f"{self.items} {unit}"
            if self.command == "backfill"
            else (f"{self.items} {unit} about {self.objects} object(s)")
        )
        return (
            f"{self.command} {what}: {self.destination}; up to {self.objects} Wistia copies "
            "(objects copied before answer duplicate and are not copied again)"
        )


def decide(plan: Plan, *, yes: bool, interactive: bool) -> Decision:
    if yes or plan.items <= plan.free_items:
        return Decision.PROCEED
    return Decision.ASK if interactive else Decision.REFUSE


def refusal(plan: Plan) -> str:
    return f"{plan.sentence()}. Not confirmed: pass --yes (there is no terminal to ask on)"
