"""Where an accepted object goes in Wistia, and under which name. Pure."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .config import BridgeConfig, Route
from .models import CopyRequest, S3Object
from .validation import file_extension, file_name

if TYPE_CHECKING:
    from .metadata import ObjectSettings

MAX_NAME_CHARS = 255


def route_for(key: str, routes: tuple[Route, ...]) -> Route | None:
    """The route with the longest prefix that the key starts with."""
    matching = [route for route in routes if key.startswith(route.prefix)]
    return max(matching, key=lambda route: len(route.prefix), default=None)


def media_name(key: str) -> str:
    """The file name, at most 255 characters, truncated before the extension so it survives."""
    name = file_name(key)
    if len(name) <= MAX_NAME_CHARS:
        return name
    extension = file_extension(name)
    if len(extension) >= MAX_NAME_CHARS // 2:
        return name[:MAX_NAME_CHARS]
    keep = MAX_NAME_CHARS - len(extension)
    return name[:keep] + name[len(name) - len(extension) :]


def copy_request(
    obj: S3Object,
    config: BridgeConfig,
    settings: ObjectSettings | None = None,
    *,
    url: str | None = None,
    folder_project: Callable[[str], str | None] | None = None,
) -> CopyRequest:
    """The request for `obj`: the route (or defaults), then the object's own metadata on top.

    `settings` (validated x-amz-meta-wistia-*) override name, description and project; the
    route's contact_id stays. `url`, a presigned GET, turns the request into a URL import.
    `folder_project` (PROJECT_ROUTING=folders) gives the project of a key no route matches and
    whose metadata names none; it is asked only then (docs/folders.md, Precedence).
    """
    route = route_for(obj.key, config.routes)
    default_project = config.default_project_id
    if folder_project is not None and route is None and not (settings and settings.project_id):
        default_project = folder_project(obj.key) or default_project
    return CopyRequest(
        bucket=obj.bucket,
        source_file=obj.key,
        region=obj.region,
        name=settings.name if settings and settings.name else media_name(obj.key),
        project_id=_project_id(route, default_project, settings),
        description=_description(route, config, settings),
        contact_id=route.contact_id if route else None,
        url=url,
    )


def _project_id(route: Route | None, default: str | None, settings: ObjectSettings | None) -> str | None:
    if settings and settings.project_id:
        return settings.project_id
    return route.project_id if route else default


def _description(route: Route | None, config: BridgeConfig, settings: ObjectSettings | None) -> str | None:
    if settings and settings.description is not None:
        return settings.description or None  # present but blank: no description
    return route.description if route and route.description else config.description
