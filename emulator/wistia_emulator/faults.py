"""Fault injection: what the emulator does instead of, or after, answering a request normally.

Two layers: scripted `FaultRule`s (first match with a remaining count wins) and random rates drawn
from one seeded `random.Random`, so a fault config plus a request sequence gives the same outcomes.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

NAMED_ACTIONS = ("drop", "timeout")
# The brief's spelling of the two "after processing" actions; stored as action + after_processing.
_AFTER_PROCESSING_ALIASES = {"drop_after_processing": "drop", "timeout_after_processing": "timeout"}
DEFAULT_MATCH_FIELDS = ("source_file", "name", "url")


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional(test: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or test(value)


def _compiled(pattern: str, name: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{name} is not a valid regex: {exc}") from None


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def _is_field_names(value: object) -> bool:
    return isinstance(value, tuple) and all(isinstance(f, str) for f in value)


def _is_header_map(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) and not set(k + v) & {"\r", "\n"} for k, v in value.items()
    )


def _is_whole(value: Any) -> bool:
    return _is_int(value) and value >= 0


def _is_non_negative(value: Any) -> bool:
    return _is_number(value) and value >= 0


# FaultRule's fields after `action`, in the order they are checked, with the error for a bad value.
_RULE_CHECKS: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
    ("match", _optional(_is_str), "match must be a string or null"),
    ("regex", _is_bool, "regex must be a boolean"),
    ("fields", _is_field_names, "fields must be a list of parameter names"),
    ("path", _optional(_is_str), "path must be a string or null"),
    ("method", _optional(_is_str), "method must be a string (GET, PUT, POST, DELETE...) or null"),
    ("path_pattern", _optional(_is_str), "path_pattern must be a regex string or null"),
    ("times", _optional(_is_whole), "times must be >= 0 or null"),
    ("after_processing", _is_bool, "after_processing must be a boolean"),
    # Retry-After is delta-seconds or an HTTP date (RFC 9110): never fractional.
    ("retry_after", _optional(_is_whole), "retry_after must be a whole number of seconds >= 0 or null"),
    ("content_type", _optional(_is_str), "content_type must be a string"),
    ("headers", _is_header_map, "headers must map strings to strings without line breaks"),
    (
        "timeout_seconds",
        _optional(_is_non_negative),
        "timeout_seconds must be >= 0 or null",
    ),
)


@dataclass
class FaultRule:
    """One scripted fault.

    `action`: an HTTP status to answer with, "drop" (close the connection without answering) or
    "timeout" (answer only after `timeout_seconds`). `after_processing=True` runs the real request
    first (the media is created), then applies the action. `match` is a substring (a regex with
    `regex=True`) searched in the request parameters named by `fields`; None matches every request.
    `path` is an exact request path; `path_pattern` a regex the whole path must match (e.g.
    "/modern/medias/[^/]+/swap"); `method` an HTTP method (None: any).
    `times=None` applies forever; `applied` counts how often the rule fired.
    """

    action: int | str
    match: str | None = None
    regex: bool = False
    fields: tuple[str, ...] = DEFAULT_MATCH_FIELDS
    path: str | None = None
    method: str | None = None
    path_pattern: str | None = None
    times: int | None = None
    after_processing: bool = False
    retry_after: int | None = None
    body: Any = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout_seconds: float | None = None
    applied: int = 0
    _pattern: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)
    _path_pattern: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.action, str) and self.action in _AFTER_PROCESSING_ALIASES:
            self.action = _AFTER_PROCESSING_ALIASES[self.action]
            self.after_processing = True
        _check(
            (_is_int(self.action) and 200 <= int(self.action) <= 599) or self.action in NAMED_ACTIONS,
            f"action must be an HTTP status (200-599), 'drop', 'drop_after_processing', 'timeout' or "
            f"'timeout_after_processing', not {self.action!r}",
        )
        for name, acceptable, message in _RULE_CHECKS:
            _check(acceptable(getattr(self, name)), message)
        if self.regex and self.match is not None:
            self._pattern = _compiled(self.match, "match")
        if self.path_pattern is not None:
            self._path_pattern = _compiled(self.path_pattern, "path_pattern")
        if self.method is not None:
            self.method = self.method.upper()

    @property
    def remaining(self) -> int | None:
        return None if self.times is None else max(self.times - self.applied, 0)

    @property
    def label(self) -> str:
        """How the request log names the fault: "503", "drop", "timeout_after_processing"..."""
        return f"{self.action}_after_processing" if self.after_processing else str(self.action)

    def matches(self, path: str, params: dict[str, str], method: str | None = None) -> bool:
        if not self._matches_target(path, method):
            return False
        if self.match is None:
            return True
        values = [params[name] for name in self.fields if name in params]
        if self._pattern is not None:
            return any(self._pattern.search(value) for value in values)
        return any(self.match in value for value in values)

    def _matches_target(self, path: str, method: str | None) -> bool:
        if self.path is not None and path != self.path:
            return False
        if self._path_pattern is not None and not self._path_pattern.fullmatch(path):
            return False
        return self.method is None or self.method == method

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}
        data["fields"] = list(self.fields)
        data["remaining"] = self.remaining
        return data

    @classmethod
    def from_json(cls, data: object) -> FaultRule:
        if not isinstance(data, dict):
            raise TypeError("a rule must be a JSON object")
        allowed = {f.name for f in dataclasses.fields(cls) if f.init} | {"remaining"}
        unknown = sorted(set(data) - allowed)
        _check(not unknown, f"unknown rule keys: {unknown}")
        _check("action" in data, "a rule needs an action")
        values = {k: v for k, v in data.items() if k != "remaining"}
        if "fields" in values:
            _check(isinstance(values["fields"], list), "fields must be a list of parameter names")
            values["fields"] = tuple(values["fields"])
        return cls(**values)


@dataclass
class Faults:
    """The whole fault configuration. Rates are probabilities per request and must sum to <= 1."""

    latency_seconds: float = 0.0
    jitter_seconds: float = 0.0
    error_rates: dict[int, float] = field(default_factory=dict)
    retry_after: int = 1
    drop_rate: float = 0.0
    drop_after_processing_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_seconds: float = 60.0
    timeout_after_processing: bool = False
    rules: list[FaultRule] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in ("latency_seconds", "jitter_seconds", "timeout_seconds"):
            value = getattr(self, name)
            _check(_is_number(value) and value >= 0, f"{name} must be a number >= 0")
        _check(_is_int(self.retry_after) and self.retry_after >= 0, "retry_after must be a whole number >= 0")
        _check(isinstance(self.timeout_after_processing, bool), "timeout_after_processing must be a boolean")
        _check(isinstance(self.error_rates, dict), "error_rates must map HTTP statuses to rates")
        for status in self.error_rates:
            _check(
                _is_int(status) and 200 <= status <= 599,
                f"error_rates key {status!r} is not a status 200-599",
            )
        rates = [
            self.drop_rate,
            self.drop_after_processing_rate,
            self.timeout_rate,
            *self.error_rates.values(),
        ]
        _check(all(_is_number(r) and 0 <= r <= 1 for r in rates), "every rate must be between 0 and 1")
        # One draw per request picks at most one outcome, so the rates partition [0, 1).
        _check(sum(rates) <= 1 + 1e-9, "the rates must sum to at most 1")
        _check(
            isinstance(self.rules, list) and all(isinstance(r, FaultRule) for r in self.rules),
            "rules must be a list of FaultRule",
        )

    def choose(
        self, path: str, params: dict[str, str], rng: random.Random, method: str | None = None
    ) -> tuple[FaultRule | None, int | None]:
        """The fault for one request and the index of the rule that gave it (None for random ones).

        Counts the rule as applied: call it once per request, under the emulator's lock.
        """
        for index, rule in enumerate(self.rules):
            if rule.remaining != 0 and rule.matches(path, params, method):
                rule.applied += 1
                return rule, index
        outcomes: list[tuple[float, int | str, bool]] = [
            (self.drop_rate, "drop", False),
            (self.drop_after_processing_rate, "drop", True),
            (self.timeout_rate, "timeout", self.timeout_after_processing),
            *((rate, status, False) for status, rate in sorted(self.error_rates.items())),
        ]
        if not any(rate for rate, _, _ in outcomes):
            return None, None  # no draw: a fault-free config leaves the random sequence untouched
        draw = rng.random()
        cumulative = 0.0
        for rate, action, after_processing in outcomes:
            cumulative += rate
            if draw < cumulative:
                retry_after = self.retry_after if action in (429, 503) else None
                return FaultRule(action, after_processing=after_processing, retry_after=retry_after), None
        return None, None

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["error_rates"] = {str(status): rate for status, rate in sorted(self.error_rates.items())}
        data["rules"] = [rule.to_json() for rule in self.rules]
        return data

    @classmethod
    def from_json(cls, data: object) -> Faults:
        if not isinstance(data, dict):
            raise TypeError("the fault config must be a JSON object")
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        _check(not unknown, f"unknown fault keys: {unknown}")
        values = dict(data)
        if "error_rates" in values:
            rates = values["error_rates"]
            _check(isinstance(rates, dict), "error_rates must map HTTP statuses to rates")
            try:
                values["error_rates"] = {int(status): rate for status, rate in rates.items()}
            except ValueError:
                raise ValueError("error_rates keys must be HTTP statuses") from None
        if "rules" in values:
            _check(isinstance(values["rules"], list), "rules must be a list")
            values["rules"] = [FaultRule.from_json(rule) for rule in values["rules"]]
        return cls(**values)
