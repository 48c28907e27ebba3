"""The stream store contract, run against Redis Streams and the embedded SQLite store alike."""

from __future__ import annotations

import asyncio
import multiprocessing
import uuid
from pathlib import Path

import pytest
import redis

from durable_agents import _settings as settings
from durable_agents._streams import StreamStore, open_store
from durable_agents._streams.publisher import Publisher


def with_store(store_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch, body) -> None:
    for key, value in {"STREAM_TTL_MINUTES": "5", **store_settings}.items():
        monkeypatch.setenv(key, value)

    async def main() -> None:
        store = open_store(settings.load())
        try:
            await body(store)
        finally:
            await store.close()

    asyncio.run(main())


def new_run() -> str:
    return uuid.uuid4().hex


def test_reading_from_every_cursor_gives_exactly_the_rest(store_settings, monkeypatch) -> None:
    async def body(store: StreamStore) -> None:
        run = new_run()
        cursors = [await store.append(run, {"type": "delta", "step": "s", "data": {"text": str(i)}})
                   for i in range(30)]
        assert len(set(cursors)) == 30
        everything = await store.read(run, None)
        assert [e.cursor for e in everything] == cursors
        for index, cursor in enumerate(cursors):
            rest = await store.read(run, cursor)
            assert [e.event["data"]["text"] for e in rest] == [str(i) for i in range(index + 1, 30)]
        assert await store.read(run, cursors[-1]) == []
        limited = await store.read(run, None, limit=7)
        assert [e.cursor for e in limited] == cursors[:7]

    with_store(store_settings, monkeypatch, body)


def test_the_last_event_and_ending_a_stream_once(store_settings, monkeypatch) -> None:
    async def body(store: StreamStore) -> None:
        run, finished = new_run(), new_run()
        assert await store.last(run) is None and await store.append_many(run, []) == []
        await store.end(run, "stopped")
        await store.end(run, "stopped again")  # already ended: nothing is added
        assert [e.event for e in await store.read(run, None)] == [{"type": "error", "data": {"message": "stopped"}}]
        await store.append(finished, {"type": "delta", "data": {"text": "a"}})
        done = await store.append(finished, {"type": "done", "data": {"response": "a"}})
        await store.end(finished, "late")
        last = await store.last(finished)
        assert last is not None and last.cursor == done and len(await store.read(finished, None)) == 2

    with_store(store_settings, monkeypatch, body)


def test_concurrent_runs_never_mix(store_settings, monkeypatch) -> None:
    async def body(store: StreamStore) -> None:
        runs = [new_run() for _ in range(4)]

        async def write(run: str) -> None:
            for i in range(50):
                await store.append(run, {"type": "delta", "data": {"text": f"{run}:{i}"}})
                await asyncio.sleep(0)

        await asyncio.gather(*(write(run) for run in runs))
        for run in runs:
            texts = [e.event["data"]["text"] for e in await store.read(run, None)]
            assert texts == [f"{run}:{i}" for i in range(50)]

    with_store(store_settings, monkeypatch, body)


def test_a_blocking_read_wakes_when_an_event_arrives(store_settings, monkeypatch) -> None:
    async def body(store: StreamStore) -> None:
        run = new_run()
        first = await store.append(run, {"type": "status", "data": {"status": "running"}})
        reader = asyncio.ensure_future(store.read(run, first, block=10))
        await asyncio.sleep(0.1)
        assert not reader.done()
        await store.append(run, {"type": "done", "data": {"response": "hi"}})
        entries = await asyncio.wait_for(reader, 5)
        assert [e.event["type"] for e in entries] == ["done"]
        assert await store.read(run, entries[-1].cursor, block=0.2) == []

    with_store(store_settings, monkeypatch, body)


def test_streams_get_their_ttl(store_settings, monkeypatch) -> None:
    async def body(store: StreamStore) -> None:
        run = new_run()
        assert await store.ttl(run) is None
        await store.append(run, {"type": "status", "data": {}})
        ttl = await store.ttl(run)
        assert ttl is not None and 250 < ttl <= 300

    with_store(store_settings, monkeypatch, body)


def test_bad_cursors_and_event_types_are_refused(store_settings, monkeypatch) -> None:
    async def body(store: StreamStore) -> None:
        run = new_run()
        for cursor in ("not-a-cursor", "9" * 40, "18446744073709551616-0"):  # a client may send anything
            with pytest.raises(ValueError):
                await store.read(run, cursor)
        with pytest.raises(ValueError):
            await store.append(run, {"type": "gossip"})

    with_store(store_settings, monkeypatch, body)


def test_a_step_knows_when_it_runs_again(store_settings, monkeypatch) -> None:
    async def body(store: StreamStore) -> None:
        run = new_run()
        assert await store.step_started(run, "model-0") is False
        assert await store.step_started(run, "model-0") is True
        assert await store.step_started(run, "model-2") is False

    with_store(store_settings, monkeypatch, body)


def test_a_memo_keeps_its_first_value_until_it_expires(store_settings, monkeypatch) -> None:
    async def body(store: StreamStore) -> None:
        key = f"test:{new_run()}"
        assert await store.recall(key) is None
        # Concurrent writers all get the one value that was kept.
        kept = await asyncio.gather(*(store.remember(key, {"writer": i}, 1) for i in range(20)))
        assert len({k["writer"] for k in kept}) == 1
        assert await store.recall(key) == kept[0]
        await asyncio.sleep(2.1)
        assert await store.recall(key) is None
        assert await store.remember(key, {"writer": "late"}, 60) == {"writer": "late"}

    with_store(store_settings, monkeypatch, body)


def _write_from_another_process(path: str, run: str) -> None:
    async def main() -> None:
        from durable_agents._streams.embedded import EmbeddedStore

        store = EmbeddedStore(Path(path), 300)
        for i in range(20):
            await store.append(run, {"type": "delta", "data": {"text": str(i)}})
        await store.close()

    asyncio.run(main())


def test_the_embedded_store_works_across_processes(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "shared.sqlite3"
    run = new_run()

    async def body(store: StreamStore) -> None:
        reader = asyncio.ensure_future(store.read(run, None, block=20))
        writer = multiprocessing.get_context("spawn").Process(target=_write_from_another_process,
                                                              args=(str(path), run))
        writer.start()
        first = await asyncio.wait_for(reader, 20)
        writer.join(20)
        assert first and first[0].event["data"]["text"] == "0"
        rest = await store.read(run, first[-1].cursor)
        assert [e.event["data"]["text"] for e in first + rest] == [str(i) for i in range(20)]

    with_store({"REDIS_URL": "", "STREAM_STORE_PATH": str(path)}, monkeypatch, body)


def test_a_publisher_batches_writes_and_keeps_every_event_in_order(store_settings, monkeypatch) -> None:
    async def body(store: StreamStore) -> None:
        run = new_run()
        first = await store.append(run, {"type": "status", "data": {"state": "running"}})
        publisher = Publisher(store, run)
        for i in range(500):
            publisher.publish({"type": "delta", "step": "m", "data": {"text": str(i)}})
            if i % 50 == 0:
                await asyncio.sleep(0)
        await publisher.flush()
        entries = await store.read(run, first, limit=1000)
        assert [e.event["data"]["text"] for e in entries] == [str(i) for i in range(500)]
        assert len({e.cursor for e in entries}) == 500
        many = await store.append_many(run, [{"type": "delta", "data": {"text": "x"}}, {"type": "done", "data": {}}])
        assert [e.cursor for e in await store.read(run, entries[-1].cursor)] == many

    with_store(store_settings, monkeypatch, body)


def test_a_publisher_reports_a_failed_write_at_flush_and_refuses_more(redis_server, monkeypatch) -> None:
    async def body(store: StreamStore) -> None:
        run = new_run()
        publisher = Publisher(store, run)
        with pytest.raises(ValueError, match="unknown stream event type"):
            publisher.publish({"type": "nonsense"})
        # A key of the wrong type makes Redis refuse the write, as a full or failing server would.
        await store.client.set(store._key(run), "not a stream")
        publisher.publish({"type": "delta", "data": {"text": "refused"}})
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            await publisher.flush()
        # Nothing more is queued behind a failed write: the producer hears of it at once.
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            publisher.publish({"type": "delta", "data": {"text": "after the failure"}})

    with_store({"REDIS_URL": redis_server.url}, monkeypatch, body)
