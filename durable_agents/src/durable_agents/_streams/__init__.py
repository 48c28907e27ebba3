"""Run streams: every run's tokens and steps as a resumable stream (Redis in Azure, embedded locally)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from .. import _settings as settings_module
from .base import EVENT_TYPES, FINAL_TYPES, Entry, StreamStore
from .embedded import EmbeddedStore
from .redis_store import RedisStore, client_from_settings

__all__ = ["EVENT_TYPES", "FINAL_TYPES", "Entry", "StreamStore", "open_store"]

_stores: dict[tuple[object, int], StreamStore] = {}


def open_store(settings: settings_module.Settings | None = None) -> StreamStore:
    """The store the settings select, one per settings and event loop."""
    config = settings or settings_module.load()
    key = (config, id(asyncio.get_running_loop()))
    if key not in _stores:
        ttl = config.stream_ttl_minutes * 60
        if config.redis_url or config.redis_host:
            _stores[key] = RedisStore(client_from_settings(config), ttl)
        else:
            path = Path(config.stream_store_path or Path(tempfile.gettempdir()) / "agents-streams.sqlite3")
            _stores[key] = EmbeddedStore(path, ttl)
    return _stores[key]
