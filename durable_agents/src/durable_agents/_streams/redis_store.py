"""Run streams in Redis Streams: XADD with a length cap and a TTL, blocking XREAD by cursor."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

from .._errors import AgentError
from .._settings import Settings
from .base import Entry, StreamStore, check_event

MAX_EVENTS = 100_000
# Commands answer in milliseconds: a server silent for this long is given up on, rather than holding a model
# step, whose tokens it should be taking, for minutes. A failed connection is tried RETRIES more times.
COMMAND_TIMEOUT_SECONDS = 5.0
RETRIES = 2
# Blocking reads have a client of their own, whose socket outwaits the longest block.
WAIT_TIMEOUT_SECONDS = 60.0
MAX_BLOCK_SECONDS = WAIT_TIMEOUT_SECONDS - 10
PING_TIMEOUT_SECONDS = 3.0
REDIS_SCOPE = "https://redis.azure.com/.default"
_CURSOR = re.compile(r"\d+-\d+")


def client_from_settings(settings: Settings) -> redis.Redis:
    """``REDIS_URL``, or Azure Managed Redis at ``REDIS_HOST:REDIS_PORT`` with Entra ID (no keys)."""
    # Retried only when the connection fails: a command that timed out may have run, and an XADD run twice
    # would show its events twice.
    retry = Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), RETRIES, supported_errors=(redis.ConnectionError,))
    limits: dict[str, Any] = {"socket_timeout": COMMAND_TIMEOUT_SECONDS, "retry": retry}
    if settings.redis_url:
        return redis.Redis.from_url(settings.redis_url, **limits)
    if not settings.redis_use_entra_id:
        raise AgentError("StreamStoreMisconfigured", "REDIS_HOST needs REDIS_USE_ENTRA_ID=true: access keys are "
                         "disabled on Azure Managed Redis (or set REDIS_URL for another Redis)", 503)
    from redis_entraid.cred_provider import create_from_default_azure_credential, create_from_managed_identity
    from redis_entraid.identity_provider import ManagedIdentityIdType, ManagedIdentityType

    if settings.azure_client_id:
        provider = create_from_managed_identity(
            identity_type=ManagedIdentityType.USER_ASSIGNED, resource="https://redis.azure.com/",
            id_type=ManagedIdentityIdType.CLIENT_ID, id_value=settings.azure_client_id)
    else:
        provider = create_from_default_azure_credential((REDIS_SCOPE,))
    return redis.Redis(host=settings.redis_host, port=settings.redis_port, ssl=True, credential_provider=provider,
                       **limits)


class RedisStore(StreamStore):
    kind = "redis"

    def __init__(self, client: redis.Redis, ttl_seconds: float) -> None:
        self.client = client
        # The same server and credentials, but a socket that outwaits a blocking read.
        pool = client.connection_pool
        self.waiter = redis.Redis(connection_pool=redis.ConnectionPool(
            connection_class=pool.connection_class,
            **{**pool.connection_kwargs, "socket_timeout": WAIT_TIMEOUT_SECONDS}))
        self.ttl_seconds = max(1, int(ttl_seconds))

    @staticmethod
    def _key(run_id: str) -> str:
        return f"agents:run:{run_id}:events"

    async def append_many(self, run_id: str, events: list[dict[str, Any]]) -> list[str]:
        key = self._key(run_id)
        texts = [json.dumps(check_event(event)) for event in events]
        async with self.client.pipeline(transaction=True) as pipe:
            for text in texts:
                pipe.xadd(key, {"e": text}, maxlen=MAX_EVENTS, approximate=True)
            pipe.expire(key, self.ttl_seconds)
            *cursors, _ = await pipe.execute()
        return [cursor.decode() if isinstance(cursor, bytes) else str(cursor) for cursor in cursors]

    async def read(self, run_id: str, after: str | None, block: float = 0.0, limit: int = 1000) -> list[Entry]:
        start = after or "0-0"
        if not _CURSOR.fullmatch(start) or any(int(part) >= 2**64 for part in start.split("-")):
            raise ValueError(f"invalid cursor {after!r}: Redis stream cursors look like 1700000000000-0")
        key = self._key(run_id)
        if block > 0:
            wait_ms = max(1, int(min(block, MAX_BLOCK_SECONDS) * 1000))
            found = await self.waiter.xread({key: start}, count=limit, block=wait_ms)
            rows = found[0][1] if found else []
        else:
            rows = await self.client.xrange(key, min=f"({start}", max="+", count=limit)
        return [_entry(cursor, fields) for cursor, fields in rows]

    async def last(self, run_id: str) -> Entry | None:
        rows = await self.client.xrevrange(self._key(run_id), count=1)
        return _entry(*rows[0]) if rows else None

    async def step_started(self, run_id: str, step: str) -> bool:
        key = f"agents:run:{run_id}:steps"
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, step, 1)
            pipe.expire(key, self.ttl_seconds)
            created, _ = await pipe.execute()
        return not created

    async def remember(self, key: str, value: Any, ttl: float) -> Any:
        name = f"agents:memo:{key}"
        text = json.dumps(value)
        while True:
            if await self.client.set(name, text, nx=True, ex=max(1, int(ttl))):
                return value
            kept = await self.client.get(name)
            if kept is not None:  # else it expired since the SET: try again
                return json.loads(kept)

    async def recall(self, key: str) -> Any | None:
        kept = await self.client.get(f"agents:memo:{key}")
        return None if kept is None else json.loads(kept)

    async def ttl(self, run_id: str) -> float | None:
        seconds = await self.client.ttl(self._key(run_id))
        return None if seconds < 0 else float(seconds)

    async def describe(self) -> dict[str, Any]:
        kwargs = self.client.connection_pool.connection_kwargs
        where = f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
        try:
            # A server that accepts connections but never answers must not hold the health check for a minute.
            await asyncio.wait_for(self.client.ping(), PING_TIMEOUT_SECONDS)
        except TimeoutError:
            return {"kind": self.kind, "address": where, "reachable": False,
                    "error": f"no answer to PING within {PING_TIMEOUT_SECONDS:g} s"}
        except (redis.RedisError, OSError) as exc:
            return {"kind": self.kind, "address": where, "reachable": False, "error": str(exc)}
        return {"kind": self.kind, "address": where, "reachable": True}

    async def close(self) -> None:
        await self.client.aclose()
        await self.waiter.aclose()


def _entry(cursor: bytes | str, fields: dict[Any, Any]) -> Entry:
    return Entry(cursor.decode() if isinstance(cursor, bytes) else cursor,
                 json.loads(fields[b"e"] if b"e" in fields else fields["e"]))
