"""`make bench` / `python -m bench.run [--quick] [--json PATH]`: issue 7's figures in one run.

Every figure is measured here, side by side, against one local stack (moto in its own process,
the Wistia emulator in this one, both on free 127.0.0.1 ports, both stopped at the end); the
replay figure's failure queue is in ministack (see replay_bench).
Scratch files go to .tmp/bench in the project and are removed.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .artifacts import artifact_sizes
from .burst import burst
from .cold import cold_start
from .manifest_bench import manifest_figures
from .replay_bench import replay_throughput
from .share_bench import share_figures
from .stack import ROOT, local_stack
from .warm import resource_counts, warm_overhead

SCRATCH = ROOT / ".tmp" / "bench"
MANIFEST_SIZES = (100_000, 1_000_000)
# The share row's measurement resolution: Wistia's log stamps requests to the millisecond, and a
# request reaches it a little after its turn (a thread's wake-up), so 1.0x may read 1.00x + this.
SHARE_RESOLUTION = 0.01


@dataclass(frozen=True)
class Plan:
    warm_iterations: int
    warm_warmup: int
    cold_runs: int
    container_events: int
    replay_messages: int
    burst_objects: int


FULL = Plan(
    warm_iterations=400,
    warm_warmup=50,
    cold_runs=21,
    container_events=1000,
    replay_messages=1000,
    burst_objects=300,
)
QUICK = Plan(
    warm_iterations=150,
    warm_warmup=30,
    cold_runs=9,
    container_events=200,
    replay_messages=200,
    burst_objects=100,
)


@dataclass(frozen=True)
class Row:
    figure: str
    measured: str
    target: str
    holds: bool | None  # None: informative, no target

    def cells(self) -> tuple[str, str, str, str]:
        verdict = "-" if self.holds is None else ("yes" if self.holds else "NO")
        return self.figure, self.measured, self.target, verdict


def run(plan: Plan) -> dict[str, Any]:
    started = time.perf_counter()
    results: dict[str, Any] = {}
    SCRATCH.mkdir(parents=True, exist_ok=True)
    try:
        with local_stack() as stack:
            step = time.perf_counter()
            results["warm"] = warm_overhead(stack, plan.warm_iterations, plan.warm_warmup)
            results["warm"]["seconds"] = round(time.perf_counter() - step, 1)
            step = time.perf_counter()
            results["cold_start"] = cold_start(stack, plan.cold_runs, SCRATCH)
            results["cold_start"]["seconds"] = round(time.perf_counter() - step, 1)
            step = time.perf_counter()
            results["resources"] = resource_counts(stack, plan.container_events)
            results["resources"]["seconds"] = round(time.perf_counter() - step, 1)
            step = time.perf_counter()
            results["replay"] = replay_throughput(
                stack, plan.replay_messages, workers=8, latency=0.020, idempotency=False, scratch=SCRATCH
            )
            results["replay"]["seconds"] = round(time.perf_counter() - step, 1)
        results["burst"] = burst(plan.burst_objects)  # its own moto and emulator per scenario
        results["share"] = share_figures()  # its own moto and emulator per scenario
        results["manifest"] = manifest_figures(MANIFEST_SIZES, SCRATCH)
        results["artifacts"] = artifact_sizes(SCRATCH)
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)
    results["seconds"] = round(time.perf_counter() - started, 1)
    return results


def rows(results: dict[str, Any]) -> list[Row]:
    warm, cold = results["warm"], results["cold_start"]
    res, replay, sizes = results["resources"], results["replay"], results["artifacts"]
    median = warm["median_ms"]
    table = [
        Row(
            "1. warm: handler / bare POST (no idempotency)",
            f"{warm['ratio_bridge_to_bare']:.3f}x  ({median['bridge']:.3f} / {median['bare']:.3f} ms)",
            "<= 1.10x",
            warm["ratio_bridge_to_bare"] <= 1.10,
        ),
        Row(
            "1. bridge's own work (vs a lean bare POST)",
            f"{warm['bridge_own_work_ms'] * 1000:.0f} us  ({warm['ratio_bridge_to_bare_lean']:.3f}x)",
            "-",
            None,
        ),
        Row(
            "1. idempotency cost (moto DynamoDB)",
            f"+{warm['idempotency_cost_ms']:.2f} ms  ({median['bridge_idempotent']:.2f} ms per object)",
            "reported",
            None,
        ),
        Row(
            "2. naive (new session + secret read) / bridge",
            f"{warm['ratio_naive_to_bridge']:.2f}x  ({median['naive']:.3f} ms)",
            "reported",
            None,
        ),
        Row(
            "3. cold start: handler + 1st event / import boto3, requests",
            f"{cold['ratio']:.2f}x  ({cold['handler_ms']:.0f} / {cold['baseline_ms']:.0f} ms)",
            "reported",
            None,
        ),
        Row(
            "3. cold start: handler import / import boto3, requests",
            f"{cold['handler_import_ms'] / cold['baseline_ms']:.2f}x  ({cold['handler_import_ms']:.0f} ms)",
            "-",
            None,
        ),
        Row(
            "3. cold start, whole process wall time",
            f"{cold['wall_ratio']:.2f}x  ({cold['handler_wall_ms']:.0f} / {cold['baseline_wall_ms']:.0f} ms)",
            "-",
            None,
        ),
        Row(
            "3. cold start without idempotency (no DynamoDB calls)",
            f"{cold['no_idempotency_ratio']:.2f}x  ({cold['no_idempotency_ms']:.0f} ms)",
            "-",
            None,
        ),
    ]
    if "dev" in cold:
        dev = cold["dev"]
        table.append(
            Row(
                f"3. cold start on the dev interpreter ({dev['interpreter'].split(',')[0]})",
                f"{dev['ratio']:.2f}x  ({dev['handler_ms']:.0f} / {dev['baseline_ms']:.0f} ms)",
                "-",
                None,
            )
        )
    table += [
        Row(
            f"4. Secrets Manager calls / {res['events']:,} events",
            str(res["secretsmanager_calls"]),
            "1",
            res["secretsmanager_calls"] == 1,
        ),
        Row(
            f"4. TCP connections to Wistia / {res['events']:,} events",
            str(res["wistia_connections"]),
            "1",
            res["wistia_connections"] == 1,
        ),
        Row(
            f"5. replay {replay['messages']:,} (ministack SQS), 8 workers / 1",
            f"{replay['speedup']:.2f}x  ({replay['sequential']['seconds']:.1f} / "
            f"{replay['concurrent']['seconds']:.1f} s)",
            ">= 4x",
            replay["speedup"] >= 4,
        ),
    ]
    table += burst_rows(results["burst"])
    table += manifest_rows(results["manifest"])
    table += share_rows(results["share"])
    for name, label, limit in (
        ("IngestFunction", "function", 50 * 1024),
        ("BridgeLayer", "layer", 5 * 1024**2),
    ):
        size = sizes[name]
        target = "< 50 KB" if label == "function" else "< 5 MB"
        if size is None:
            table.append(Row(f"6. {label} zipped", "run make build", target, None))
        else:
            shown = f"{size / 1024:.1f} KB" if size < 1024**2 else f"{size / 1024**2:.2f} MB"
            table.append(Row(f"6. {label} zipped", shown, target, size < limit))
    return table


def burst_rows(result: dict[str, Any]) -> list[Row]:
    """Figure 7, per scenario: drain against N/L, the 429 share, billed time against t, lost.
    The targets are the buffered mode's; direct delivery is measured against them too."""
    floor, t = result["floor_seconds"], result["answer_seconds"]
    head = f"7. burst {result['objects']} @ {result['limit_per_minute']}/min, t={t:g}s"
    table = []
    for label, figures in result["scenarios"].items():
        drain, billed = figures["drain_seconds"], figures["billed_seconds_per_object"]
        table += [
            Row(
                f"{head}, {label}: drain / N/L",
                f"{drain / floor:.2f}x  ({drain:.0f} / {floor:.0f} s)",
                "<= 1.10x",
                drain <= 1.10 * floor,
            ),
            Row(
                f"{head}, {label}: 429 share",
                f"{figures['share_429']:.1%}  ({figures['rate_limited']} / {figures['requests']})",
                "<= 2%",
                figures["share_429"] <= 0.02,
            ),
            Row(
                f"{head}, {label}: billed s / object",
                f"{billed / t:.2f}x t  ({billed:.2f} s)",
                "<= 1.2x t",
                billed <= 1.2 * t,
            ),
            Row(f"{head}, {label}: lost", str(figures["lost"]), "0", figures["lost"] == 0),
        ]
    return table


def manifest_rows(result: dict[str, Any]) -> list[Row]:
    """Figure 8: `backfill --batch`'s manifest from a synthetic paginated lister; memory flat."""
    figures = [result[str(n)] for n in MANIFEST_SIZES]
    table = [
        Row(
            f"8. manifest of {f['keys']:,} keys (synthetic lister, 1,000/page)",
            f"{f['seconds']:.1f} s, peak RSS {f['peak_rss_bytes'] / 1024**2:.1f} MiB "
            f"(+{f['peak_rss_growth_bytes'] / 1024**2:.1f} after imports; {f['written']:,} rows, "
            f"{f['manifest_bytes'] / 1024**2:.0f} MiB file)",
            "-",
            None,
        )
        for f in figures
    ]
    small, large = (f["peak_rss_bytes"] for f in figures)
    table.append(
        Row(
            "8. manifest peak memory, 1M keys / 100k keys",
            f"{large / max(small, 1):.3f}x  ({large / 1024**2:.1f} / {small / 1024**2:.1f} MiB)",
            "flat (<= 1.05x)",
            large <= 1.05 * small,
        )
    )
    return table


def share_rows(result: dict[str, Any]) -> list[Row]:
    """Figure 9: live uploads' time to copy with a backfill running against without one; the
    backfill's rate against its share; nothing lost or copied twice in any scenario."""
    alone = result["scenarios"]["live only"]
    head = (
        f"9. live {result['live_per_minute']}/min + backfill at share {result['share_per_minute']}/min"
        f" of {result['limit_per_minute']}/min, t={result['answer_seconds']:g}s"
    )
    table = [_share_counts(f"{head}, live only", alone)]
    for figures in list(result["scenarios"].values())[1:]:
        label = f"{head}, {figures['backfill_workers']} workers"
        for name, key in (("p95", "live_p95_seconds"), ("median", "live_median_seconds")):
            ratio = figures[key] / alone[key]
            table.append(
                Row(
                    f"{label}: live time to copy, {name}, with / without",
                    f"{ratio:.2f}x  ({figures[key]:.2f} / {alone[key]:.2f} s)",
                    "<= 2x",
                    ratio <= 2,
                )
            )
        achieved = figures["backfill_per_minute"] / result["share_per_minute"]
        table.append(
            Row(
                f"{label}: backfill rate / its share, while live uploads arrive",
                f"{achieved:.3f}x  ({figures['backfill_per_minute']:.1f}/min; whole job "
                f"{figures['backfill_per_minute_whole_job']:.1f}/min, "
                f"{figures['backfill_attempts'] - figures['backfill_copied']} refused and retried)",
                "0.8-1.0x",
                0.8 <= achieved <= 1.0 + SHARE_RESOLUTION,
            )
        )
        table.append(_share_counts(label, figures))
    return table


def _share_counts(label: str, figures: dict[str, Any]) -> Row:
    """Lost and duplicated objects (live and backfill together), with the 429s for context."""
    lost, duplicates = figures["lost"], figures["duplicates"]
    return Row(
        f"{label}: lost / duplicates (429s to live / backfill)",
        f"{lost} / {duplicates}  ({figures['live_429']} / {figures['backfill_429']})",
        "0 / 0",
        lost == 0 and duplicates == 0,
    )


def render(table: list[Row]) -> str:
    header = ("figure", "measured", "target", "holds")
    cells = [header, *(row.cells() for row in table)]
    widths = [max(len(line[i]) for line in cells) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def _rates(result: dict[str, Any], mode: str) -> str:
    rates = {f"{s['rate']:g}" for label, s in result["scenarios"].items() if label.startswith(mode)}
    return "/".join(sorted(rates))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer iterations: about a minute")
    parser.add_argument("--json", metavar="PATH", help="also write every figure as JSON")
    parser.add_argument(
        "--only",
        choices=["manifest", "share"],
        help="only these rows (manifest: figure 8, about a minute; share: figure 9, about a minute)",
    )
    args = parser.parse_args(argv)
    if args.only == "share":
        print(render(share_rows(share_figures())))
        return 0
    if args.only == "manifest":
        SCRATCH.mkdir(parents=True, exist_ok=True)
        try:
            print(render(manifest_rows(manifest_figures(MANIFEST_SIZES, SCRATCH))))
        finally:
            shutil.rmtree(SCRATCH, ignore_errors=True)
        return 0
    plan = QUICK if args.quick else FULL
    results = run(plan)
    table = rows(results)
    print(render(table))
    cold = results["cold_start"]
    print(
        f"\n{platform.python_implementation()} {platform.python_version()}, {platform.machine()}; cold start "
        f"on {cold['interpreter']}, from {cold['code']}; replay with idempotency off, emulator latency "
        f"20 ms; burst time-compressed (direct {_rates(results['burst'], 'direct')}x, buffered "
        f"{_rates(results['burst'], 'buffered')}x) and share {results['share']['rate']:g}x, figures in "
        f"simulated seconds; {results['seconds']:.0f} s"
    )
    if args.json:
        document = {
            "plan": plan.__dict__,
            "python": sys.version,
            "machine": platform.machine(),
            "table": [
                dict(zip(("figure", "measured", "target", "holds"), r.cells(), strict=True)) for r in table
            ],
            "results": results,
        }
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
