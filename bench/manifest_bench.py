"""Figure 8: a `backfill --batch` manifest of 100,000 and 1,000,000 keys: time and peak memory.

The CLI's own path (batch_jobs.listing_manifest: GetBucketLocation, GetBucketVersioning, the
ListObjectVersions pages, the allowlist, CSV rows into a file) over a synthetic paginated lister:
pages of 1,000 versions made on demand, as S3 answers them, without S3 or moto in the way (moto
holds every object in memory and would measure itself).

Each size runs in a process of its own; its memory figure is the growth of that process's peak
resident set (ru_maxrss) from after the imports to after the manifest, so it counts everything
the listing kept, at no cost to the timing (tracemalloc would slow a million keys several
times; tests/unit/test_batch_pieces.py checks the same flatness with tracemalloc at 100k).

    python -m bench.run --only manifest          # these rows alone, about a minute
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from s3_wistia_bridge.config import BridgeConfig
from s3_wistia_bridge_cli.batch_jobs import listing_manifest

from . import REGION

BUCKET = "bench-videos"
PAGE = 1000
CONFIG = BridgeConfig.from_environ(
    {
        "ALLOWED_BUCKETS": BUCKET,
        "ALLOWED_REGIONS": REGION,
        "WISTIA_SECRET_ID": "bench",
        "FAILURE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/bench",
    }
)


class SyntheticS3:
    """What listing_manifest asks of S3, for a versioned bucket of `objects` keys (1 in 10 rejected)."""

    def __init__(self, objects: int) -> None:
        self.objects = objects

    def get_bucket_location(self, Bucket: str) -> dict[str, Any]:
        return {"LocationConstraint": None}

    def get_bucket_versioning(self, Bucket: str) -> dict[str, Any]:
        return {"Status": "Enabled"}

    def get_paginator(self, operation: str) -> SyntheticS3:
        assert operation == "list_object_versions"  # noqa: S101
        return self

    def paginate(self, **_kwargs: Any) -> Iterator[dict[str, Any]]:
        for start in range(0, self.objects, PAGE):
            yield {"Versions": [self._version(n) for n in range(start, min(self.objects, start + PAGE))]}

    @staticmethod
    def _version(n: int) -> dict[str, Any]:
        suffix = "txt" if n % 10 == 9 else "mp4"
        return {
            "Key": f"videos/{n // 1000:04d}/clip {n} +é.{suffix}",
            "VersionId": f"3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLU{n:08d}",
            "IsLatest": True,
            "Size": 1_048_576 + n,
            "ETag": f'"{n:032x}"',
        }


def manifest_figures(sizes: tuple[int, ...], scratch: Path) -> dict[str, Any]:
    """Each size in a fresh process (so one size's peak cannot hide the other's)."""
    results = {}
    for objects in sizes:
        child = subprocess.run(  # noqa: S603 - this interpreter, this module
            [sys.executable, "-m", "bench.manifest_bench", str(objects), str(scratch)],
            check=True,
            capture_output=True,
            text=True,
        )
        results[str(objects)] = json.loads(child.stdout)
    return results


def measure(objects: int, scratch: Path) -> dict[str, Any]:
    path = scratch / f"manifest-{objects}.csv"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with path.open("w", encoding="utf-8", newline="") as out:
        summary, _ = listing_manifest(SyntheticS3(objects), BUCKET, CONFIG, out)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    size = path.stat().st_size
    path.unlink()
    return {
        "keys": objects,
        "written": summary.written,
        "rejected": sum(summary.rejected.values()),
        "seconds": round(seconds, 2),
        "peak_rss_growth_bytes": (after - before) * 1024,
        "peak_rss_bytes": after * 1024,
        "manifest_bytes": size,
    }


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]), Path(sys.argv[2]))))
