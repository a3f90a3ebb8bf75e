"""Figures 1, 2 and 4: the warm handler against a bare POST and a naive handler, and the
resources one container uses over many events. All in this process, against one stack."""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote_plus

import boto3
import requests
from botocore.client import BaseClient
from s3_wistia_bridge.observability import logger

from .stack import TOKEN, Stack, copy_form, lambda_context, load_handler, local_stack, s3_event

Runner = Callable[[int], None]


@contextlib.contextmanager
def quiet_function() -> Iterator[None]:
    """The function's logs (INFO, as deployed) and EMF metrics go to a null stream: formatting
    and writing them is measured, a terminal is not."""
    handler = logger.registered_handler
    with open(os.devnull, "w", encoding="utf-8") as null, contextlib.redirect_stdout(null):
        previous = handler.setStream(null)  # type: ignore[attr-defined]
        try:
            yield
        finally:
            handler.setStream(previous)  # type: ignore[attr-defined]


def _handler_runner(module: Any, prefix: str) -> Runner:
    handler = module.lambda_handler

    def run(i: int) -> None:
        event = s3_event(f"{prefix}/{i:06d} clip.mp4", i)
        answer = handler(event, lambda_context(f"{prefix}-{i}"))
        if answer["objects"][0]["outcome"] != "copied":
            raise RuntimeError(f"{prefix}: not copied: {answer}")

    return run


def _bare_runner(stack: Stack, *, lean: bool = False) -> Runner:
    """The one HTTP call the bridge exists to make, with nothing around it. `lean`: a session
    that, like the bridge's, does not read the environment on every request."""
    session = requests.Session()
    if lean:
        session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        session.trust_env = False
    url = f"{stack.emulator.url}/s3_copy"
    headers = {"Authorization": f"Bearer {TOKEN}"}

    def run(i: int) -> None:
        response = session.post(url, data=copy_form(f"bare/{i:06d} clip.mp4"), headers=headers, timeout=5)
        if response.status_code != 200 or not response.json().get("hashed_id"):
            raise RuntimeError(f"bare: HTTP {response.status_code}")

    return run


def _naive_runner(stack: Stack) -> Runner:
    """What public examples do per event: read the secret, open a new session, post. The
    Secrets Manager client is created once (the generous reading of those examples)."""
    secrets = boto3.client("secretsmanager")
    url = f"{stack.emulator.url}/s3_copy"

    def run(i: int) -> None:
        event = s3_event(f"naive/{i:06d} clip.mp4", i)
        record = event["Records"][0]
        key = unquote_plus(record["s3"]["object"]["key"])
        secret = secrets.get_secret_value(SecretId=stack.secret_arn)["SecretString"]
        token = json.loads(secret)["access_token"]
        with requests.Session() as session:
            response = session.post(
                url, data=copy_form(key), headers={"Authorization": f"Bearer {token}"}, timeout=5
            )
        if response.status_code != 200:
            raise RuntimeError(f"naive: HTTP {response.status_code}")

    return run


def _timed(run: Runner, i: int) -> float:
    start = time.perf_counter()
    run(i)
    return time.perf_counter() - start


def warm_overhead(stack: Stack, iterations: int, warmup: int) -> dict[str, Any]:
    """Figures 1 and 2: medians in ms, measured interleaved (the order rotates each iteration)."""
    plain = load_handler("bench_app_plain", stack.function_env(idempotency=False))
    idem = load_handler("bench_app_idempotent", stack.function_env(idempotency=True))
    runners = {
        "bare": _bare_runner(stack),
        "bare_lean": _bare_runner(stack, lean=True),
        "bridge": _handler_runner(plain, "bridge"),
        "bridge_idempotent": _handler_runner(idem, "idem"),
        "naive": _naive_runner(stack),
    }
    names = list(runners)
    samples: dict[str, list[float]] = {name: [] for name in names}
    with quiet_function():
        for i in range(warmup + iterations):
            shift = i % len(names)
            for name in names[shift:] + names[:shift]:
                seconds = _timed(runners[name], i)
                if i >= warmup:
                    samples[name].append(seconds * 1000)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    quartiles = {name: statistics.quantiles(values, n=4) for name, values in samples.items()}
    return {
        "iterations": iterations,
        "warmup": warmup,
        "median_ms": {k: round(v, 4) for k, v in medians.items()},
        "p25_p75_ms": {k: [round(q[0], 4), round(q[2], 4)] for k, q in quartiles.items()},
        "ratio_bridge_to_bare": round(medians["bridge"] / medians["bare"], 3),
        "bridge_overhead_ms": round(medians["bridge"] - medians["bare"], 4),
        # Against a bare POST that also skips requests' per-request environment lookup: what
        # the bridge's own work (parse, validate, route, token cache, log, metric) costs.
        "bridge_own_work_ms": round(medians["bridge"] - medians["bare_lean"], 4),
        "ratio_bridge_to_bare_lean": round(medians["bridge"] / medians["bare_lean"], 3),
        "idempotency_cost_ms": round(medians["bridge_idempotent"] - medians["bridge"], 4),
        "ratio_idempotent_to_bare": round(medians["bridge_idempotent"] / medians["bare"], 3),
        "ratio_naive_to_bridge": round(medians["naive"] / medians["bridge"], 3),
    }


@contextlib.contextmanager
def count_aws_calls() -> Iterator[Counter[str]]:
    """Every AWS API call made in this process, as "service.Operation" (botocore's clients)."""
    counts: Counter[str] = Counter()
    botocore_call = BaseClient._make_api_call

    def counting(self: Any, operation_name: str, api_params: Any) -> Any:
        counts[f"{self.meta.service_model.service_name}.{operation_name}"] += 1
        return botocore_call(self, operation_name, api_params)

    BaseClient._make_api_call = counting
    try:
        yield counts
    finally:
        BaseClient._make_api_call = botocore_call


def resource_counts(stack: Stack, events: int) -> dict[str, Any]:
    """Figure 4: one container (a fresh handler module, as deployed with idempotency) handling
    `events` sequential events; AWS calls counted in botocore, connections in the emulator's log."""
    first = len(stack.emulator.requests())
    with count_aws_calls() as calls, quiet_function():
        container = load_handler("bench_app_container", stack.function_env(idempotency=True))
        run = _handler_runner(container, "container")
        for i in range(events):
            run(i)
    log = stack.emulator.requests()[first:]
    peers = {str(r["peer"]) for r in log if r["path"] == "/s3_copy"}
    return {
        "events": events,
        "secretsmanager_calls": calls["secretsmanager.GetSecretValue"],
        "wistia_requests": sum(1 for r in log if r["path"] == "/s3_copy"),
        "wistia_connections": len(peers),
        "aws_calls": dict(sorted(calls.items())),
    }


if __name__ == "__main__":  # a quick look: python -m bench.warm
    with local_stack() as s:
        print(warm_overhead(s, int(sys.argv[1]) if len(sys.argv) > 1 else 200, 30))
        print(resource_counts(s, 200))
