"""The engine's SQLite store: one file for every task hub, one transaction per engine turn.

WAL journal with ``synchronous=FULL``: a commit is on disk before the work it enables starts.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    hub TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
    input TEXT, output TEXT, custom_status TEXT, created TEXT NOT NULL, updated TEXT NOT NULL,
    parent TEXT, execution INTEGER NOT NULL DEFAULT 0, version TEXT,
    PRIMARY KEY (hub, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS instances_by_created ON instances (hub, created);
CREATE TABLE IF NOT EXISTS history (
    hub TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL,
    PRIMARY KEY (hub, id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox (
    seq INTEGER PRIMARY KEY, hub TEXT NOT NULL, id TEXT NOT NULL, execution INTEGER,
    event TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY, hub TEXT NOT NULL, id TEXT NOT NULL, execution INTEGER NOT NULL,
    task_id INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, input TEXT
);
CREATE TABLE IF NOT EXISTS timers (
    seq INTEGER PRIMARY KEY, hub TEXT NOT NULL, id TEXT NOT NULL, execution INTEGER,
    fire_at TEXT NOT NULL, event TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entity_ops (
    seq INTEGER PRIMARY KEY, hub TEXT NOT NULL, entity TEXT NOT NULL, op TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entities (
    hub TEXT NOT NULL, entity TEXT NOT NULL, state TEXT, exists_ INTEGER NOT NULL,
    updated TEXT NOT NULL, failure TEXT,
    PRIMARY KEY (hub, entity)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entity_locks (
    hub TEXT NOT NULL, entity TEXT NOT NULL, owner TEXT NOT NULL,
    PRIMARY KEY (hub, entity)
) WITHOUT ROWID;
"""
# Columns added since the first schema, for data directories made before them: (table, column, declaration).
ADDED_COLUMNS = [("entities", "failure", "TEXT"), ("instances", "version", "TEXT")]

INSTANCE_COLUMNS = (
    "hub, id, name, status, input, output, custom_status, created, updated, parent, execution, version"
)


class Store:
    """Thin typed access to the SQLite file; every write happens inside ``transaction()``."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA busy_timeout=30000")
        self.db.executescript(SCHEMA)
        for table, column, declaration in ADDED_COLUMNS:
            if column not in {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}:
                self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo just this block's writes when it raises; the transaction goes on."""
        self.db.execute("SAVEPOINT step")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK TO step")
            self.db.execute("RELEASE step")
            raise
        self.db.execute("RELEASE step")

    # instances

    def instance(self, hub: str, instance_id: str) -> dict[str, Any] | None:
        row = self.db.execute(
            f"SELECT {INSTANCE_COLUMNS} FROM instances WHERE hub=? AND id=?", (hub, instance_id)
        ).fetchone()
        return _instance_row(row) if row else None

    def query_instances(self, hub: str, where: str, args: list[Any], limit: int | None = None,
                        offset: int = 0, newest_first: bool = False) -> list[dict[str, Any]]:
        order = "created DESC, id DESC" if newest_first else "created, id"
        sql = f"SELECT {INSTANCE_COLUMNS} FROM instances WHERE hub=?{where} ORDER BY {order} LIMIT ? OFFSET ?"
        return [_instance_row(r) for r in self.db.execute(sql, [hub, *args, -1 if limit is None else limit, offset])]

    def status_counts(self) -> list[tuple[str, str, int]]:
        """(hub, runtime status, instances) for every hub with instances."""
        return self.db.execute("SELECT hub, status, count(*) FROM instances GROUP BY hub, status").fetchall()

    def save_instance(self, row: dict[str, Any]) -> None:
        # An upsert that leaves ``created`` alone, so a step does not rewrite the index on it.
        self.db.execute(
            f"INSERT INTO instances ({INSTANCE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT (hub, id) DO UPDATE SET name=excluded.name, status=excluded.status, "
            "input=excluded.input, output=excluded.output, custom_status=excluded.custom_status, "
            "updated=excluded.updated, parent=excluded.parent, execution=excluded.execution, version=excluded.version",
            (
                row["hub"], row["id"], row["name"], row["status"], row["input"], row["output"],
                row["custom_status"], row["created"], row["updated"],
                json.dumps(row["parent"]) if row["parent"] else None, row["execution"], row["version"],
            ),
        )

    def delete_instance(self, hub: str, instance_id: str) -> None:
        for table in ("instances", "history", "inbox", "tasks", "timers"):
            self.db.execute(f"DELETE FROM {table} WHERE hub=? AND id=?", (hub, instance_id))

    # history

    def history(self, hub: str, instance_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT event FROM history WHERE hub=? AND id=? ORDER BY seq", (hub, instance_id)
        )
        return [json.loads(r[0]) for r in rows]

    def append_history(self, hub: str, instance_id: str, start: int, texts: list[str]) -> None:
        self.db.executemany(
            "INSERT INTO history (hub, id, seq, event) VALUES (?,?,?,?)",
            [(hub, instance_id, start + i, text) for i, text in enumerate(texts)],
        )

    def last_events(self, hub: str, instance_id: str, count: int) -> list[dict[str, Any]]:
        """The instance's last ``count`` history events, newest first."""
        rows = self.db.execute(
            "SELECT event FROM history WHERE hub=? AND id=? ORDER BY seq DESC LIMIT ?", (hub, instance_id, count))
        return [json.loads(r[0]) for r in rows]

    def children(self, hub: str, instance_id: str) -> list[str]:
        """Ids of the sub-orchestrations an instance started (its current children)."""
        rows = self.db.execute(
            "SELECT id FROM instances WHERE hub=? AND json_extract(parent, '$.id')=? ORDER BY created, id",
            (hub, instance_id))
        return [r[0] for r in rows]

    def finished_ids(self, hub: str, statuses: list[str], since: str | None, until: str | None,
                     after: tuple[str, str] | None, limit: int) -> list[tuple[str, str]]:
        """(last update, id) of finished instances in that order, from just after ``after``."""
        sql = f"SELECT updated, id FROM instances WHERE hub=? AND status IN ({','.join('?' * len(statuses))})"
        args: list[Any] = [hub, *statuses]
        if since:
            sql, args = sql + " AND updated >= ?", args + [since]
        if until:
            sql, args = sql + " AND updated < ?", args + [until]
        if after:
            sql, args = sql + " AND (updated > ? OR (updated = ? AND id > ?))", args + [after[0], *after]
        return self.db.execute(sql + " ORDER BY updated, id LIMIT ?", [*args, limit]).fetchall()

    def clear_history(self, hub: str, instance_id: str) -> None:
        self.db.execute("DELETE FROM history WHERE hub=? AND id=?", (hub, instance_id))

    # work queues

    def add_inbox(self, hub: str, instance_id: str, execution: int | None, text: str) -> int:
        cur = self.db.execute(
            "INSERT INTO inbox (hub, id, execution, event) VALUES (?,?,?,?)",
            (hub, instance_id, execution, text),
        )
        return int(cur.lastrowid or 0)

    def delete_inbox(self, seqs: list[int]) -> None:
        self.db.executemany("DELETE FROM inbox WHERE seq=?", [(s,) for s in seqs])

    def all_inbox(self) -> list[tuple[int, str, str, int | None, str]]:
        return self.db.execute("SELECT seq, hub, id, execution, event FROM inbox ORDER BY seq").fetchall()

    def add_task(
        self, hub: str, instance_id: str, execution: int, task_id: int, kind: str, name: str,
        input_text: str | None,
    ) -> int:
        cur = self.db.execute(
            "INSERT INTO tasks (hub, id, execution, task_id, kind, name, input) VALUES (?,?,?,?,?,?,?)",
            (hub, instance_id, execution, task_id, kind, name, input_text),
        )
        return int(cur.lastrowid or 0)

    def delete_task(self, seq: int) -> None:
        self.db.execute("DELETE FROM tasks WHERE seq=?", (seq,))

    def all_tasks(self) -> list[tuple]:
        return self.db.execute(
            "SELECT seq, hub, id, execution, task_id, kind, name, input FROM tasks ORDER BY seq"
        ).fetchall()

    def add_timer(self, hub: str, instance_id: str, execution: int | None, fire_at: str, text: str) -> int:
        cur = self.db.execute(
            "INSERT INTO timers (hub, id, execution, fire_at, event) VALUES (?,?,?,?,?)",
            (hub, instance_id, execution, fire_at, text),
        )
        return int(cur.lastrowid or 0)

    def delete_timer(self, seq: int) -> None:
        self.db.execute("DELETE FROM timers WHERE seq=?", (seq,))

    def all_timers(self) -> list[tuple]:
        return self.db.execute(
            "SELECT seq, hub, id, execution, fire_at, event FROM timers ORDER BY fire_at"
        ).fetchall()

    # entities

    def add_entity_op(self, hub: str, entity: str, op: dict[str, Any]) -> int:
        cur = self.db.execute(
            "INSERT INTO entity_ops (hub, entity, op) VALUES (?,?,?)", (hub, entity, json.dumps(op))
        )
        return int(cur.lastrowid or 0)

    def delete_entity_ops(self, seqs: list[int]) -> None:
        self.db.executemany("DELETE FROM entity_ops WHERE seq=?", [(s,) for s in seqs])

    def all_entity_ops(self) -> list[tuple[int, str, str, str]]:
        return self.db.execute(
            "SELECT seq, hub, entity, op FROM entity_ops ORDER BY seq"
        ).fetchall()

    def entity(self, hub: str, entity: str) -> tuple[str | None, bool, str] | None:
        row = self.db.execute(
            "SELECT state, exists_, updated FROM entities WHERE hub=? AND entity=?", (hub, entity)
        ).fetchone()
        return (row[0], bool(row[1]), row[2]) if row else None

    def save_entity(self, hub: str, entity: str, state: str | None, exists: bool, updated: str,
                    failure: dict[str, Any] | None = None) -> None:
        """Save an entity after a batch; ``failure`` (the batch's last failed operation) replaces the one kept."""
        self.db.execute(
            "INSERT INTO entities (hub, entity, state, exists_, updated, failure) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT (hub, entity) DO UPDATE SET state=excluded.state, exists_=excluded.exists_, "
            "updated=excluded.updated, failure=coalesce(excluded.failure, failure)",
            (hub, entity, state, int(exists), updated, json.dumps(failure) if failure else None),
        )

    def all_entity_locks(self) -> list[tuple[str, str, str]]:
        """(hub, entity, owning orchestration) of every locked entity."""
        return self.db.execute("SELECT hub, entity, owner FROM entity_locks").fetchall()

    def set_entity_lock(self, hub: str, entity: str, owner: str | None) -> None:
        """Lock the entity for the orchestration ``owner``, or unlock it (None)."""
        if owner is None:
            self.db.execute("DELETE FROM entity_locks WHERE hub=? AND entity=?", (hub, entity))
        else:
            self.db.execute("INSERT OR REPLACE INTO entity_locks (hub, entity, owner) VALUES (?,?,?)",
                            (hub, entity, owner))

    def delete_empty_entities(self, hub: str) -> int:
        """Forget entities that have no state and no queued operation; returns how many."""
        cur = self.db.execute(
            "DELETE FROM entities WHERE hub=? AND exists_=0 AND NOT EXISTS "
            "(SELECT 1 FROM entity_ops o WHERE o.hub=entities.hub AND o.entity=entities.entity)", (hub,))
        return cur.rowcount

    def list_entities(self, hub: str, prefix: str) -> list[tuple[str, str | None, bool, str, str | None]]:
        """(entity id, state, exists, last update, last failed operation as JSON) of each entity that exists or
        has failed."""
        return self.db.execute(
            "SELECT entity, state, exists_, updated, failure FROM entities WHERE hub=? "
            "AND (exists_=1 OR failure IS NOT NULL) "
            "AND entity LIKE ? ESCAPE '\\' ORDER BY entity",
            (hub, prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"),
        ).fetchall()


def _instance_row(row: tuple) -> dict[str, Any]:
    keys = [k.strip() for k in INSTANCE_COLUMNS.split(",")]
    data = dict(zip(keys, row, strict=True))
    data["parent"] = json.loads(data["parent"]) if data["parent"] else None
    return data
