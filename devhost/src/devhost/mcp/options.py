"""The MCP extension's options from host.json ``extensions.mcp``: ``serverName``, ``serverVersion``,
``instructions`` (names matched case-insensitively, as the host binds options)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .methods import ServerInfo


def _member(section: Any, name: str) -> Any:
    if not isinstance(section, dict):
        return None
    return next((value for key, value in section.items() if str(key).lower() == name.lower()), None)


def _text(value: Any) -> str | None:
    return None if value is None or isinstance(value, dict | list) else str(value)


def server_info(app_dir: Path | None) -> ServerInfo:
    """The options in ``app_dir/host.json``; the extension's defaults for what is not there."""
    path = app_dir / "host.json" if app_dir is not None else None
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path is not None and path.exists() else {}
    except (OSError, ValueError):
        data = {}  # devhost has refused an unreadable host.json before it gets here
    section = _member(_member(data, "extensions"), "mcp")
    defaults = ServerInfo()
    return ServerInfo(name=_text(_member(section, "serverName")) or defaults.name,
                      version=_text(_member(section, "serverVersion")) or defaults.version,
                      instructions=_text(_member(section, "instructions")))
