"""S3 Batch Operations manifests: the objects of a bucket as CSV `bucket,key[,versionId]`. Pure,
streaming: one listing page at a time, so memory stays flat whatever the bucket holds.

Format `S3BatchOperations_CSV_20180820`; keys URL-encoded, as Batch Operations expects (and hands
them back in each task's `s3Key`); a manifest either gives every row a version id or none (S3
User Guide, "Specifying a manifest"). Objects the allowlist refuses are counted, never listed:
the function would only reject them. An existing S3 Inventory report can be used instead: its
`manifest.json` goes to CreateJob as it is (batch_job.ManifestFormat.INVENTORY), unfiltered; the
function's allowlist still applies to every task.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple, TextIO
from urllib.parse import quote

from .config import BridgeConfig
from .models import S3Object
from .validation import validate

FORMAT = "S3BatchOperations_CSV_20180820"


class ManifestSummary(NamedTuple):
    written: int
    rejected: Counter[str]  # rejection reason -> objects left out
    bytes: int = 0  # the written objects' sizes, as listed (unknown sizes count 0)


def listed_objects(pages: Iterable[Any], bucket: str, region: str) -> Iterator[S3Object]:
    """The latest version of each object in ListObjectVersions pages (delete markers and older
    versions left out), or each object of ListObjectsV2 pages (no version ids)."""
    for page in pages:
        if "Versions" in page or "DeleteMarkers" in page:
            entries = [entry for entry in page.get("Versions", []) if entry.get("IsLatest")]
        else:
            entries = page.get("Contents", [])
        for entry in entries:
            yield S3Object(
                bucket=bucket,
                key=entry["Key"],
                region=region,
                size=entry.get("Size"),
                etag=str(entry.get("ETag", "")).strip('"') or None,
                version_id=entry.get("VersionId"),
            )


def manifest_row(obj: S3Object, with_versions: bool) -> list[str]:
    """One CSV row; `/` is kept readable, everything else that is not URL-safe is %-encoded
    (a literal `+` as %2B, so form decoding and plain percent decoding agree)."""
    row = [obj.bucket, quote(obj.key, safe="/")]
    if with_versions:
        # `null`: S3's version id of an object stored before versioning was enabled.
        row.append(obj.version_id or "null")
    return row


def write_manifest(
    objects: Iterable[S3Object], out: TextIO, config: BridgeConfig, *, with_versions: bool
) -> ManifestSummary:
    """Write the allowed objects to `out`, one row each, as they come."""
    writer = csv.writer(out, lineterminator="\n")
    written = size = 0
    rejected: Counter[str] = Counter()
    for obj in objects:
        rejection = validate(obj, config)
        if rejection is not None:
            rejected[rejection.reason.value] += 1
            continue
        writer.writerow(manifest_row(obj, with_versions))
        written += 1
        size += obj.size or 0
    return ManifestSummary(written, rejected, size)


def manifest_fields(with_versions: bool) -> list[str]:
    """CreateJob's `Manifest.Spec.Fields` for these rows."""
    return ["Bucket", "Key", "VersionId"] if with_versions else ["Bucket", "Key"]


def list_pages(
    s3: Any, bucket: str, prefix: str = "", *, versions: bool, page_size: int = 1000
) -> Iterator[Any]:
    """The listing pages, lazily: ListObjectVersions (latest versions, with ids) or ListObjectsV2."""
    operation = "list_object_versions" if versions else "list_objects_v2"
    paginator = s3.get_paginator(operation)
    yield from paginator.paginate(Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": page_size})
