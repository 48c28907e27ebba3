"""The app's configuration as devhost reads it: local.settings.json Values and host.json."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .durable.versioning import Versioning, VersioningError

DEFAULT_HUB = "TestHubName"
# Task hub names devhost accepts everywhere: host.json, the management API, the dashboard, gRPC calls.
HUB_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{2,49}")
_SETTING_REF = re.compile(r"%([^%]+)%")


class ConfigError(Exception):
    """The app's host.json or local.settings.json cannot be used."""


@dataclass(frozen=True)
class HostConfig:
    """What devhost takes from host.json."""

    route_prefix: str
    hub_name: str
    versioning: Versioning = Versioning()


def load_local_settings(app_dir: Path) -> dict[str, str]:
    """Put local.settings.json ``Values`` into the environment; variables already set win."""
    path = app_dir / "local.settings.json"
    if not path.exists():
        return {}
    try:
        values = json.loads(path.read_text(encoding="utf-8")).get("Values") or {}
    except (ValueError, AttributeError) as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from exc
    applied = {}
    for key, value in values.items():
        text = "" if value is None else str(value)
        os.environ.setdefault(key, text)
        applied[key] = os.environ[key]
    return applied


def _substitute(text: str) -> str:
    """Replace ``%NAME%`` with the app setting NAME, as the Functions host does."""

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError(f"host.json refers to %{name}% but no app setting {name} is set")
        return os.environ[name]

    return _SETTING_REF.sub(lookup, text)


def load_host_config(app_dir: Path) -> HostConfig:
    """Read routePrefix and the task hub name from host.json (defaults when absent)."""
    path = app_dir / "host.json"
    data: dict = {}
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ConfigError(f"{path} is not valid JSON: {exc}") from exc
    extensions = data.get("extensions") or {}
    prefix = (extensions.get("http") or {}).get("routePrefix", "api")
    hub = (extensions.get("durableTask") or {}).get("hubName") or DEFAULT_HUB
    hub = _substitute(hub)
    if not HUB_NAME.fullmatch(hub):
        raise ConfigError(
            f"task hub name {hub!r} is invalid: use 3-50 letters and digits, starting with a letter"
        )
    try:
        versioning = Versioning.from_settings(extensions.get("durableTask") or {})
    except VersioningError as exc:
        raise ConfigError(str(exc)) from None
    return HostConfig(route_prefix=prefix.strip("/"), hub_name=hub, versioning=versioning)
