"""Platform adapters, one module each, looked up by the name in the webhook URL."""

from __future__ import annotations

from chalicelib.errors import NotFound
from chalicelib.platforms import generic, meta, slack, x, youtube
from chalicelib.platforms.base import Platform

PLATFORMS: dict[str, Platform] = {
    "x": x,
    "meta": meta,
    "youtube": youtube,
    "slack": slack,
    "generic": generic,
}


def get_platform(name: str) -> Platform:
    """The adapter for `name`, or NotFound listing the known ones."""
    try:
        return PLATFORMS[name]
    except KeyError:
        known = ", ".join(sorted(PLATFORMS))
        raise NotFound(f"unknown platform {name!r}; known platforms: {known}") from None
