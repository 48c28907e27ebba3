"""The embedded stream store: a SQLite file, shared by every process that opens the same path.

Used when no Redis is configured (devhost, tests, a laptop). Readers in the writing process are woken at
once; readers in other processes poll the file every few milliseconds.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from .base import Entry, StreamStore, check_event

SCHEMA = """
CREATE TABLE IF NOT EXISTS streams (run_id TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL, PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS steps (run_id TEXT NOT NULL, step TEXT NOT NULL, PRIMARY KEY (run_id, step)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS memos (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL NOT NULL) WITHOUT ROWID;
"""
POLL_SECONDS = 0.005
SWEEP_EVERY = 500


def parse_cursor(cursor: str | None) -> int:
    if cursor in (None, "", "0", "0-0"):
        return 0
    if not str(cursor).isdigit() or len(str(cursor)) > 18:  # SQLite's integers are 64-bit
        raise ValueError(f"invalid cursor {cursor!r}: the embedded store's cursors are positive integers")
    return int(cursor)


class EmbeddedStore(StreamStore):
    kind = "embedded"

    def __init__(self, path: Path, ttl_seconds: float) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.ttl_seconds = ttl_seconds
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        # Streams are for watching; a lost tail on power failure is acceptable, a slow token path is not.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self._signals: dict[str, asyncio.Event] = {}
        self._appends = 0

    def _signal(self, run_id: str) -> asyncio.Event:
        return self._signals.setdefault(run_id, asyncio.Event())

    async def append_many(self, run_id: str, events: list[dict[str, Any]]) -> list[str]:
        texts = [json.dumps(check_event(event)) for event in events]
        if not texts:
            return []
        now = time.time()
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT last_seq, expires_at FROM streams WHERE run_id=?", (run_id,)).fetchone()
            if row and row[1] < now:
                db.execute("DELETE FROM events WHERE run_id=?", (run_id,))
                db.execute("DELETE FROM steps WHERE run_id=?", (run_id,))
            first = (row[0] if row else 0) + 1
            seqs = list(range(first, first + len(texts)))
            db.executemany("INSERT INTO events (run_id, seq, event) VALUES (?,?,?)",
                           [(run_id, seq, text) for seq, text in zip(seqs, texts, strict=True)])
            db.execute("INSERT OR REPLACE INTO streams (run_id, last_seq, expires_at) VALUES (?,?,?)",
                       (run_id, seqs[-1], now + self.ttl_seconds))
            self._appends += 1
            if self._appends % SWEEP_EVERY == 0:
                self._sweep(now)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        signal = self._signals.pop(run_id, None)
        if signal is not None:
            signal.set()
        return [str(seq) for seq in seqs]

    def _sweep(self, now: float) -> None:
        expired = [r[0] for r in self.db.execute("SELECT run_id FROM streams WHERE expires_at < ?", (now,))]
        for run_id in expired:
            for table in ("events", "steps", "streams"):
                self.db.execute(f"DELETE FROM {table} WHERE run_id=?", (run_id,))
        self.db.execute("DELETE FROM memos WHERE expires_at < ?", (now,))

    def _live(self, run_id: str) -> bool:
        row = self.db.execute("SELECT expires_at FROM streams WHERE run_id=?", (run_id,)).fetchone()
        return bool(row) and row[0] >= time.time()

    def _fetch(self, run_id: str, after: int, limit: int) -> list[Entry]:
        if not self._live(run_id):
            return []
        rows = self.db.execute("SELECT seq, event FROM events WHERE run_id=? AND seq>? ORDER BY seq LIMIT ?",
                               (run_id, after, limit))
        return [Entry(str(seq), json.loads(text)) for seq, text in rows]

    async def last(self, run_id: str) -> Entry | None:
        if not self._live(run_id):
            return None
        row = self.db.execute("SELECT seq, event FROM events WHERE run_id=? ORDER BY seq DESC LIMIT 1",
                              (run_id,)).fetchone()
        return Entry(str(row[0]), json.loads(row[1])) if row else None

    async def read(self, run_id: str, after: str | None, block: float = 0.0, limit: int = 1000) -> list[Entry]:
        after_seq = parse_cursor(after)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + block
        while True:
            signal = self._signal(run_id)
            entries = self._fetch(run_id, after_seq, limit)
            remaining = deadline - loop.time()
            if entries or remaining <= 0:
                return entries
            try:
                await asyncio.wait_for(signal.wait(), min(remaining, POLL_SECONDS * 4))
            except TimeoutError:
                pass

    async def step_started(self, run_id: str, step: str) -> bool:
        cur = self.db.execute("INSERT OR IGNORE INTO steps (run_id, step) VALUES (?,?)", (run_id, step))
        return cur.rowcount == 0

    async def remember(self, key: str, value: Any, ttl: float) -> Any:
        now = time.time()
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM memos WHERE key=? AND expires_at < ?", (key, now))
            db.execute("INSERT OR IGNORE INTO memos (key, value, expires_at) VALUES (?,?,?)",
                       (key, json.dumps(value), now + ttl))
            kept = db.execute("SELECT value FROM memos WHERE key=?", (key,)).fetchone()[0]
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return json.loads(kept)

    async def recall(self, key: str) -> Any | None:
        row = self.db.execute("SELECT value FROM memos WHERE key=? AND expires_at >= ?", (key, time.time())).fetchone()
        return json.loads(row[0]) if row else None

    async def ttl(self, run_id: str) -> float | None:
        row = self.db.execute("SELECT expires_at FROM streams WHERE run_id=?", (run_id,)).fetchone()
        if not row or row[0] < time.time():
            return None
        return row[0] - time.time()

    async def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": str(self.path), "reachable": True}

    async def close(self) -> None:
        self.db.close()
