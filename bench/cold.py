"""Figure 3: cold start. Fresh processes, alternating: the handler module imported and its first
event handled, versus `import boto3, requests` only.

Measured on the Lambda runtime's interpreter (python3.13 with the runtime's boto3: make's
.venv-lambda), which is what the built artifacts are for, with Lambda's path: the function and
the layer for the handler, the layer for the baseline (a Lambda runtime has no `requests`; the
baseline imports the same one the handler does). The dev interpreter is measured the same way,
as a second pair.
"""

from __future__ import annotations

import functools
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .stack import ROOT, Stack, s3_event

CHILD = Path(__file__).resolve().parent / "cold_child.py"
BUILD = ROOT / ".aws-sam" / "build"
RUNTIME_PYTHON = ROOT / ".venv-lambda" / "bin" / "python"  # make's LAMBDA_VENV


def code_paths() -> tuple[list[Path], str]:
    """The built artifacts (function + layer, as Lambda mounts them) if present, else the source."""
    function, layer = BUILD / "IngestFunction", BUILD / "BridgeLayer" / "python"
    if (function / "app.py").is_file() and (layer / "s3_wistia_bridge").is_dir():
        return [function, layer], "built artifacts (.aws-sam/build)"
    return [
        ROOT / "functions" / "ingest",
        ROOT / "layers" / "bridge",
    ], "source (run make build for the artifacts)"


def _run(python: str, kind: str, env: dict[str, str], event: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    completed = subprocess.run(  # noqa: S603 - our own interpreters and script
        [python, str(CHILD), kind, json.dumps(event)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    wall = (time.perf_counter() - started) * 1000
    lines = [line for line in completed.stdout.splitlines() if line.startswith("BENCH ")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"cold start child ({kind}, {python}) failed: {completed.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("BENCH "))
    result["wall_ms"] = wall
    return result


def _version(python: str) -> str:
    script = "import sys, boto3; print(sys.version.split()[0], boto3.__version__)"
    answer = subprocess.run([python, "-c", script], capture_output=True, text=True, check=True)  # noqa: S603
    version, boto3_version = answer.stdout.split()
    return f"python {version}, boto3 {boto3_version}"


# (sample name, interpreter, environment)
Kind = tuple[str, str, dict[str, str]]
Samples = dict[str, list[dict[str, Any]]]


def cold_start(stack: Stack, runs: int, scratch: Path) -> dict[str, Any]:
    paths, source = code_paths()
    built = source.startswith("built")
    runtime = str(RUNTIME_PYTHON) if built and RUNTIME_PYTHON.is_file() else None
    kinds = _kinds(_environments(stack, paths, built, scratch), runtime)
    samples = _sample(kinds, runs)
    result = _summary(samples, runs, source, runtime)
    if runtime:
        result["dev"] = _dev_summary(samples)
    return result


def _environments(stack: Stack, paths: list[Path], built: bool, scratch: Path) -> dict[str, dict[str, str]]:
    """Each child kind's environment: the handler with and without idempotency, the baseline."""
    # Bytecode goes to scratch, never into the artifacts (whose .pyc files Lambda reads); a
    # first, unmeasured run of each kind warms it.
    pycache = scratch / "pycache"
    pycache.mkdir(parents=True, exist_ok=True)
    base = {"PATH": os.environ.get("PATH", ""), "PYTHONPYCACHEPREFIX": str(pycache), "PYTHONHASHSEED": "0"}
    handler_path = {"PYTHONPATH": os.pathsep.join(str(p) for p in paths)}
    # From the source, the layer folder has no `requests`: the dev venv's serves both sides.
    baseline_path = {"PYTHONPATH": str(paths[1])} if built else {}
    with_idempotency = base | stack.process_env(idempotency=True)
    return {
        "handler": with_idempotency | handler_path,
        "baseline": with_idempotency | baseline_path,
        "no_idempotency": base | stack.process_env(idempotency=False) | handler_path,
    }


def _kinds(envs: dict[str, dict[str, str]], runtime: str | None) -> list[Kind]:
    """Every kind on the runtime's interpreter (else the dev one); the dev interpreter's
    handler/baseline pair only beside the runtime's."""
    kinds = [(kind, runtime or sys.executable, env) for kind, env in envs.items()]
    if runtime:
        kinds += [(f"dev_{kind}", sys.executable, envs[kind]) for kind in ("handler", "baseline")]
    return kinds


def _sample(kinds: list[Kind], runs: int) -> Samples:
    """`runs` measured rounds after one warm-up round, the order of the kinds reversed every
    other round."""
    samples: Samples = {name: [] for name, _, _ in kinds}
    for i in range(runs + 1):
        for name, python, env in kinds if i % 2 == 0 else reversed(kinds):
            result = _measure(name, python, env, i)
            if i > 0:
                samples[name].append(result)
    return samples


def _measure(name: str, python: str, env: dict[str, str], i: int) -> dict[str, Any]:
    child = "baseline" if name.endswith("baseline") else "handler"
    result = _run(python, child, env, s3_event(f"cold/{name}/{i:04d} start.mp4", i))
    if child == "handler" and result["outcome"] != "copied":
        raise RuntimeError(f"cold start ({name}): the first event was not copied: {result}")
    return result


def _median(samples: Samples, name: str, field: str = "ms") -> float:
    return float(statistics.median(r[field] for r in samples[name]))


def _summary(samples: Samples, runs: int, source: str, runtime: str | None) -> dict[str, Any]:
    median = functools.partial(_median, samples)
    handler_ms, baseline_ms = median("handler"), median("baseline")
    label = " (the Lambda runtime's)" if runtime else ""
    return {
        "runs": runs,
        "code": source,
        "package_loaded_from": os.path.relpath(samples["handler"][0]["package"], ROOT),
        "interpreter": _version(runtime or sys.executable) + label,
        "handler_ms": round(handler_ms, 1),
        "handler_import_ms": round(median("handler", "import_ms"), 1),
        "baseline_ms": round(baseline_ms, 1),
        "ratio": round(handler_ms / baseline_ms, 3),
        "handler_wall_ms": round(median("handler", "wall_ms"), 1),
        "baseline_wall_ms": round(median("baseline", "wall_ms"), 1),
        "wall_ratio": round(median("handler", "wall_ms") / median("baseline", "wall_ms"), 3),
        "no_idempotency_ms": round(median("no_idempotency"), 1),
        "no_idempotency_ratio": round(median("no_idempotency") / baseline_ms, 3),
    }


def _dev_summary(samples: Samples) -> dict[str, Any]:
    """The handler/baseline pair on the dev interpreter."""
    handler_ms, baseline_ms = _median(samples, "dev_handler"), _median(samples, "dev_baseline")
    return {
        "interpreter": _version(sys.executable),
        "handler_ms": round(handler_ms, 1),
        "baseline_ms": round(baseline_ms, 1),
        "ratio": round(handler_ms / baseline_ms, 3),
    }
