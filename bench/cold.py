"""Figure 3: cold start. Fresh processes, alternating: the handler module imported and its first
event handled, versus `import boto3, requests` only."""

from __future__ import annotations

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


def code_paths() -> tuple[list[Path], str]:
    """The built artifacts (function + layer, as Lambda mounts them) if present, else the source."""
    function, layer = BUILD / "IngestFunction", BUILD / "BridgeLayer" / "python"
    if (function / "app.py").is_file() and (layer / "s3_wistia_bridge").is_dir():
        return [function, layer], "built artifacts (.aws-sam/build)"
    return [
        ROOT / "functions" / "ingest",
        ROOT / "layers" / "bridge",
    ], "source (run make build for the artifacts)"


def _run(kind: str, env: dict[str, str], event: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    completed = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(CHILD), kind, json.dumps(event)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    wall = (time.perf_counter() - started) * 1000
    lines = [line for line in completed.stdout.splitlines() if line.startswith("BENCH ")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"cold start child ({kind}) failed: {completed.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("BENCH "))
    result["wall_ms"] = wall
    return result


def cold_start(stack: Stack, runs: int, scratch: Path) -> dict[str, Any]:
    paths, source = code_paths()
    # Bytecode for this interpreter goes to scratch, never into the artifacts (their .pyc files
    # are for python3.13); a first, unmeasured run of each kind warms it.
    pycache = scratch / "pycache"
    pycache.mkdir(parents=True, exist_ok=True)
    base = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPYCACHEPREFIX": str(pycache),
        "PYTHONHASHSEED": "0",
    }
    baseline_env = base | stack.process_env(idempotency=True)
    pythonpath = {"PYTHONPATH": os.pathsep.join(str(p) for p in paths)}
    envs = {
        "handler": baseline_env | pythonpath,
        "baseline": baseline_env,
        "no_idempotency": base | stack.process_env(idempotency=False) | pythonpath,
    }
    samples: dict[str, list[dict[str, Any]]] = {kind: [] for kind in envs}
    for i in range(runs + 1):
        order = list(envs) if i % 2 == 0 else list(reversed(envs))
        for kind in order:
            event = s3_event(f"cold/{kind}/{i:04d} start.mp4", i)
            result = _run("baseline" if kind == "baseline" else "handler", envs[kind], event)
            if kind != "baseline" and result["outcome"] != "copied":
                raise RuntimeError(f"cold start: the first event was not copied: {result}")
            if i > 0:
                samples[kind].append(result)
    package = samples["handler"][0]["package"]

    def median(kind: str, field: str) -> float:
        return float(statistics.median(r[field] for r in samples[kind]))

    handler_ms, baseline_ms = median("handler", "ms"), median("baseline", "ms")
    return {
        "runs": runs,
        "code": source,
        "package_loaded_from": os.path.relpath(package, ROOT),
        "python": sys.version.split()[0],
        "handler_ms": round(handler_ms, 1),
        "handler_import_ms": round(median("handler", "import_ms"), 1),
        "baseline_ms": round(baseline_ms, 1),
        "ratio": round(handler_ms / baseline_ms, 3),
        "handler_wall_ms": round(median("handler", "wall_ms"), 1),
        "baseline_wall_ms": round(median("baseline", "wall_ms"), 1),
        "wall_ratio": round(median("handler", "wall_ms") / median("baseline", "wall_ms"), 3),
        "no_idempotency_ms": round(median("no_idempotency", "ms"), 1),
        "no_idempotency_ratio": round(median("no_idempotency", "ms") / baseline_ms, 3),
    }
