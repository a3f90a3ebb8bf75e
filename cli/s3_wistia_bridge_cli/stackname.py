"""Which stack the operator means: `--stack`, else S3_WISTIA_BRIDGE_STACK, else the stack name
`sam deploy` uses from ./samconfig.toml. Pure but for reading that file."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

ENVIRONMENT_VARIABLE = "S3_WISTIA_BRIDGE_STACK"
SAMCONFIG = "samconfig.toml"
# The sections SAM reads a deploy's stack_name from, the command's own first (SAM CLI docs,
# "Configuring the AWS SAM CLI": [environment.command.parameters], then global).
_SAMCONFIG_SECTIONS = (("default", "deploy", "parameters"), ("default", "global", "parameters"))


class StackSource(StrEnum):
    OPTION = "--stack"
    ENVIRONMENT = ENVIRONMENT_VARIABLE
    SAMCONFIG = SAMCONFIG


@dataclass(frozen=True)
class StackName:
    name: str
    source: StackSource

    @property
    def implicit(self) -> bool:
        """Not given on the command line: explicit resource options then replace it."""
        return self.source is not StackSource.OPTION


def choose(option: str | None, environ: Mapping[str, str], samconfig: Mapping[str, Any]) -> StackName | None:
    if option:
        return StackName(option, StackSource.OPTION)
    if environ.get(ENVIRONMENT_VARIABLE):
        return StackName(environ[ENVIRONMENT_VARIABLE], StackSource.ENVIRONMENT)
    name = samconfig_stack_name(samconfig)
    return StackName(name, StackSource.SAMCONFIG) if name else None


def samconfig_stack_name(config: Mapping[str, Any]) -> str | None:
    for path in _SAMCONFIG_SECTIONS:
        section: Any = config
        for part in path:
            section = section.get(part) if isinstance(section, Mapping) else None
        name = section.get("stack_name") if isinstance(section, Mapping) else None
        if isinstance(name, str) and name:
            return name
    return None


def read_samconfig(directory: Path) -> dict[str, Any]:
    """./samconfig.toml as TOML, or {} when there is none or it does not parse."""
    try:
        return tomllib.loads((directory / SAMCONFIG).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {}
