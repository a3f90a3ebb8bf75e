"""Faults outside Wistia, for chaos: sandboxes killed at chosen lines, DynamoDB and SQS errors.

Kills raise `SandboxKilled` (a BaseException) at one of `KILL_POINTS`, so nothing after that
line runs, as when Lambda stops a sandbox (timeout, out of memory):
- before_lock: before Powertools writes its in-progress record (nothing done yet);
- before_post: the lock and the "sent" journal entry written, nothing sent to Wistia;
- after_accepted: Wistia created the media, the answer never used;
- before_success_write: the copy returned, its success record not yet written.
AWS errors come from botocore hooks on the session the bridge's clients are made from: each
call of the idempotency table (PutItem, GetItem, UpdateItem, DeleteItem; the journal is an
UpdateItem) and the failure queue's SendMessage may raise a ClientError, before the call
(throttled: nothing applied) or, for InternalServerError, now and then after it (applied, the
answer lost).
"""

from __future__ import annotations

import contextlib
import functools
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from unittest import mock

import boto3
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from botocore.exceptions import ClientError
from s3_wistia_bridge.wistia import WistiaClient

from .deliveries import SandboxKilled, Sessions

KILL_POINTS = ("before_lock", "before_post", "after_accepted", "before_success_write")
DYNAMODB_OPERATIONS = ("PutItem", "GetItem", "UpdateItem", "DeleteItem")
DYNAMODB_ERRORS = ("InternalServerError", "ProvisionedThroughputExceededException")


@dataclass(frozen=True)
class Rates:
    kill: float = 0.0  # per kill point passed
    dynamodb_error: float = 0.0  # per DynamoDB call
    sqs_send_error: float = 0.0  # per SendMessage to the failure queue


class Injector:
    """Draws every fault from one seeded sequence and counts what it injected."""

    def __init__(self, rates: Rates, seed: int) -> None:
        self.rates = rates
        self.enabled = True
        self.counts: Counter[str] = Counter()
        self._random = random.Random(seed)  # reproducible draws, not a secret
        self._lock = threading.Lock()
        self._sessions = Sessions()

    def session(self) -> boto3.session.Session:
        """A session whose clients (made from it later) meet the injected AWS errors."""
        session = self._sessions.new()
        for operation in DYNAMODB_OPERATIONS:
            session.events.register(f"before-call.dynamodb.{operation}", self._dynamodb_before)
            session.events.register(f"after-call.dynamodb.{operation}", self._dynamodb_after)
        session.events.register("before-call.sqs.SendMessage", self._sqs_send)
        return session

    @contextlib.contextmanager
    def kill_points(self) -> Iterator[None]:
        """Every bridge of the process passes the kill points while this is active."""
        copy = WistiaClient.s3_copy
        put = DynamoDBPersistenceLayer._put_record
        update = DynamoDBPersistenceLayer._update_record
        with (
            mock.patch.object(WistiaClient, "s3_copy", self._around(copy, "before_post", "after_accepted")),
            mock.patch.object(DynamoDBPersistenceLayer, "_put_record", self._around(put, "before_lock")),
            mock.patch.object(
                DynamoDBPersistenceLayer, "_update_record", self._around(update, "before_success_write")
            ),
        ):
            yield

    def _around(
        self, method: Callable[..., Any], before: str, after: str | None = None
    ) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self._maybe_kill(before)
            result = method(*args, **kwargs)
            if after is not None:
                self._maybe_kill(after)
            return result

        return wrapper

    def _maybe_kill(self, point: str) -> None:
        if self._draw(self.rates.kill):
            self._count(f"kill {point}")
            raise SandboxKilled(point)

    def _dynamodb_before(self, model: Any, **_: Any) -> None:
        if self._draw(self.rates.dynamodb_error):
            code = DYNAMODB_ERRORS[self._pick(len(DYNAMODB_ERRORS))]
            self._count(f"dynamodb {model.name} {code}")
            raise _client_error(code, model.name)

    def _dynamodb_after(self, model: Any, **_: Any) -> None:
        # A quarter of the InternalServerErrors come after the write was applied.
        if self._draw(self.rates.dynamodb_error / 4):
            self._count(f"dynamodb {model.name} InternalServerError after applying")
            raise _client_error("InternalServerError", model.name)

    def _sqs_send(self, model: Any, **_: Any) -> None:
        if self._draw(self.rates.sqs_send_error):
            self._count("sqs SendMessage InternalError")
            raise _client_error("InternalError", model.name)

    def _draw(self, rate: float) -> bool:
        if not self.enabled or rate <= 0:
            return False
        with self._lock:
            return self._random.random() < rate

    def _pick(self, n: int) -> int:
        with self._lock:
            return self._random.randrange(n)

    def _count(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1


def _client_error(code: str, operation: str) -> ClientError:
    status = 400 if code == "ProvisionedThroughputExceededException" else 500
    return ClientError(
        {
            "Error": {"Code": code, "Message": "injected by chaos"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        operation,
    )
