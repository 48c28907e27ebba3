"""``Idempotency-Key`` on the requests that create work, as the IETF httpapi idempotency-key draft describes.

The first request with a key does the work and its outcome is kept for ``KEY_TTL_SECONDS``; a request with the
same key and the same request answers that outcome without doing anything again, whether it arrives while the
first is still in progress, concurrently, or after a restart. The same key with a different request is a 422.
Keys and outcomes live in the stream store's memos, so every instance of the app shares them.

A key is claimed before the work and its outcome recorded after it; the work is given the claim's nonce, so
work that names what it creates after the nonce (a run, a workflow) can tell that a crash came in between and
finish it rather than start a second one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import azure.functions as func

from ._errors import AgentError
from ._streams import open_store

HEADER = "Idempotency-Key"
KEY_TTL_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 255
# A request that finds another's claim without an outcome waits this long for it before doing the work itself.
IN_PROGRESS_WAIT_SECONDS = 5.0

_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


def request_key(req: func.HttpRequest) -> str | None:
    """The request's ``Idempotency-Key``, None without one; a malformed key is a 400."""
    key = req.headers.get(HEADER)
    if key is None:
        return None
    if not 0 < len(key) <= MAX_KEY_LENGTH or not (key.isascii() and key.isprintable()):
        raise AgentError("InvalidIdempotencyKey",
                         f"{HEADER} must be 1-{MAX_KEY_LENGTH} printable ASCII characters")
    return key


async def once(key: str | None, scope: str, request: Any,
               work: Callable[[str], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """``work(nonce)``'s outcome, done once per ``key`` within ``scope``; ``request`` is what the key must keep
    naming (the parsed request), compared by its JSON form. Without a key, the work is just done."""
    if key is None:
        return await work(uuid.uuid4().hex)
    fingerprint = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
    name = f"idempotency:{scope}:{key}"
    store = open_store()
    lock = _locks.setdefault(name, asyncio.Lock())
    async with lock:
        mine = uuid.uuid4().hex
        claim = await store.remember(name, {"fingerprint": fingerprint, "nonce": mine}, KEY_TTL_SECONDS)
        if claim["fingerprint"] != fingerprint:
            raise AgentError("IdempotencyKeyMismatch", "this idempotency key was used with a different request; "
                             "use a new key for a new request", 422)
        outcome = await store.recall(f"{name}:outcome")
        if outcome is None and claim["nonce"] != mine:
            outcome = await _outcome_of_another(store, name)
        if outcome is None:
            outcome = await store.remember(f"{name}:outcome", await work(claim["nonce"]), KEY_TTL_SECONDS)
        return outcome


async def _outcome_of_another(store: Any, name: str) -> dict[str, Any] | None:
    """Wait a little for a request in another process that holds the claim; None if it never records one."""
    deadline = time.monotonic() + IN_PROGRESS_WAIT_SECONDS
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        if (outcome := await store.recall(f"{name}:outcome")) is not None:
            return outcome
    return None
