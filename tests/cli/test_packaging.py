"""The CLI is its own package: installed by `pip install .` (with the function's core it imports),
never shipped in the Lambda layer; the dev tools (emulator, local stack) are not installed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER_SOURCE = ROOT / "layers" / "bridge" / "s3_wistia_bridge"
BUILT_LAYER = ROOT / ".aws-sam" / "build" / "BridgeLayer" / "python"
CLI_SOURCE = ROOT / "cli" / "s3_wistia_bridge_cli"
CLI_ONLY = ("s3_wistia_bridge_cli", "click", "rich")
_IMPORT = re.compile(r"^\s*(?:from|import)\s+(s3_wistia_bridge_cli|click|rich)\b", re.MULTILINE)


def test_the_layer_source_holds_no_cli_code() -> None:
    assert not (LAYER_SOURCE / "operator").exists()
    importing = [p.name for p in LAYER_SOURCE.rglob("*.py") if _IMPORT.search(p.read_text(encoding="utf-8"))]
    assert importing == []


@pytest.mark.skipif(not BUILT_LAYER.exists(), reason="no sam build: run `make build`")
def test_the_built_layer_holds_no_cli_module() -> None:
    assert (BUILT_LAYER / "s3_wistia_bridge" / "bridge.py").exists()
    shipped = [name for name in CLI_ONLY if (BUILT_LAYER / name).exists()]
    assert shipped == []
    assert not (BUILT_LAYER / "s3_wistia_bridge" / "operator").exists()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """`pip wheel .` of a copy of the project's packaged files (the source tree stays clean)."""
    work = tmp_path_factory.mktemp("wheel")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, work / name)
    for tree in ("layers/bridge/s3_wistia_bridge", "cli/s3_wistia_bridge_cli"):
        shutil.copytree(ROOT / tree, work / tree, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(  # noqa: S603 - this interpreter's pip, on a copy of this project
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(work / "dist"),
            ".",
        ],
        cwd=work,
        check=True,
        capture_output=True,
    )
    [built] = (work / "dist").glob("*.whl")
    return zipfile.ZipFile(built)


def test_pip_install_installs_the_cli_and_the_core_and_no_dev_tool(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    top = {name.split("/", 1)[0] for name in names if not name.split("/", 1)[0].endswith(".dist-info")}
    assert top == {"s3_wistia_bridge", "s3_wistia_bridge_cli"}
    modules = {
        f"s3_wistia_bridge_cli/{p.relative_to(CLI_SOURCE).as_posix()}" for p in CLI_SOURCE.rglob("*.py")
    }
    assert modules <= set(names)  # every module, subpackages included


def test_the_console_script_is_the_cli_and_its_libraries_are_dependencies(wheel: zipfile.ZipFile) -> None:
    [entry_points] = [n for n in wheel.namelist() if n.endswith("entry_points.txt")]
    [metadata] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    scripts = wheel.read(entry_points).decode()
    requires = [
        line for line in wheel.read(metadata).decode().splitlines() if line.startswith("Requires-Dist")
    ]
    assert "s3-wistia-bridge = s3_wistia_bridge_cli.cli:main" in scripts
    assert "wistia_emulator" not in scripts
    assert {r.split(":")[1].split(">")[0].strip() for r in requires} >= {"click", "rich", "boto3"}
