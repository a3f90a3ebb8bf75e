"""Figure 6: the built function and layer, zipped as Lambda receives them."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from .stack import ROOT

BUILD = ROOT / ".aws-sam" / "build"


def zipped_size(folder: Path, scratch: Path) -> int:
    target = scratch / f"{folder.name}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder))
    size = target.stat().st_size
    target.unlink()
    return size


def artifact_sizes(scratch: Path) -> dict[str, Any]:
    scratch.mkdir(parents=True, exist_ok=True)
    sizes: dict[str, Any] = {}
    for name in ("IngestFunction", "BridgeLayer"):
        folder = BUILD / name
        sizes[name] = zipped_size(folder, scratch) if folder.is_dir() else None
    return sizes
