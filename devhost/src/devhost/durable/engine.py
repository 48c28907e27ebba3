"""The engine: one loop that commits every step, then starts the work it enables.

The engine's own work runs on the host's event loop in short *turns*: a turn applies every queued write
(HTTP calls, finished activities, fired timers, finished episodes and entity batches), takes the work that
became ready and commits it all in one SQLite transaction. User code never runs inside a turn: orchestrator
episodes, activities and entity batches are handed to an executor (``executor.py``): the Functions app's own
functions run in process, as the Python worker runs them (on its thread pool, where no event loop runs), any
other name goes to a Durable Task SDK worker connected over gRPC (``devhost.sidecar``). Their results come
back as writes for a later turn, the same writes whichever executor ran them. One episode per
instance and one batch per entity run at a time; different instances and entities run side by side.
An orchestration's critical section locks entities: the engine itself applies lock requests and releases
(no user code runs for them), and a locked entity takes only its owner's calls until the release.
Only after a commit are activities started, timers armed, user code called and callers answered, so
nothing acknowledged or started can be lost by a crash; on restart the queues in the database are simply
picked up again. Activities are at-least-once (one that was running when the process died runs again);
episodes and entity operations are applied exactly once because each is committed with what it consumed.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import logging
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp

from ..functions import Function, FunctionIndex
from ..invoker import Invoker
from .actions import HTTP_ACTIVITY
from .entities import LOCK_GRANTED, BatchResult, Queued, admitted, is_lock_message
from .episode import Outcome, as_token, entity_instance_id, is_retry_event, version_mismatch
from .executor import Executor, InProcess, Kind, TaskFailure
from .history import Event, EventType, event, parse_timestamp, timestamp, utcnow
from .instance import TERMINAL, Instance
from .rewind import rewound
from .sdk_speedups import install as install_sdk_speedups
from .store import Store
from .versioning import Versioning

log = logging.getLogger("devhost.durable")
Key = tuple[str, str]


class Conflict(Exception):
    """The request does not fit the instance's current state."""


@dataclass
class _Write:
    apply: Callable[[], Any]
    done: asyncio.Future[Any] | None


@dataclass(slots=True)
class _Item:
    """One event waiting in an instance's inbox."""

    execution: int | None
    event: Event
    seq: int | None = None  # its row in the inbox table; None while it exists only in memory
    # The task or timer row that makes this event again after a crash (the activity runs again, the timer fires
    # again), so the event itself need not be saved while an episode holds it: the row goes when it is consumed.
    source: tuple[str, int] | None = None


@dataclass
class _EpisodeJob:
    """An episode handed to user code: what it was given, to commit with its outcome."""

    inst: Instance
    held: list[_Item]
    now: datetime
    suspended: bool
    generation: int


@dataclass
class _BatchJob:
    """An entity batch handed to user code, with the state it started from."""

    key: Key
    ops: list[tuple[int, dict[str, Any]]]
    state: str | None
    exists: bool
    generation: int


class Engine:
    """The durable engine for every task hub in one data directory."""

    def __init__(
        self,
        store: Store,
        functions: FunctionIndex,
        invoker: Invoker,
        extra_args: Callable[[Function], dict[str, Any]],
        versioning: Versioning | None = None,
        remote: Executor | None = None,
    ) -> None:
        install_sdk_speedups()
        self.store = store
        self.versioning = versioning or Versioning()
        self.functions = functions
        # The app's own functions run in process; every other name goes to the remote executor when there is one
        # (Durable Task SDK workers connected over gRPC), where it waits for a worker that has it.
        self.local = InProcess(functions, invoker, extra_args)
        self.remote = remote
        self._instances: dict[Key, Instance] = {}
        self._inbox: dict[Key, list[_Item]] = {}
        self._unsaved: set[Key] = set()
        self._held: list[tuple[Key, _Item]] = []  # taken this turn by episodes that have not finished
        self._ready: dict[Key, None] = {}
        self._busy: set[Key] = set()  # instances with an episode running
        self._entity_ops: dict[Key, list[Queued]] = {}
        self._entities_busy: set[Key] = set()
        self._entity_locks: dict[Key, str] = {}  # locked entities and the orchestration holding each
        self._writes: list[_Write] = []
        self._after: list[Callable[[], None]] = []
        self._waiters: dict[Key, list[asyncio.Future[None]]] = {}
        self._running: dict[int, asyncio.Task[None]] = {}  # activities and HTTP calls by task row
        self._user_calls: set[asyncio.Future[Any]] = set()  # episodes and entity batches
        self._timers: dict[int, asyncio.TimerHandle] = {}
        # Bumped when a failed commit makes the engine reload: work started before then is discarded on return.
        self._generation = 0
        self._turn_scheduled = False
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: aiohttp.ClientSession | None = None

    # lifecycle

    async def start(self) -> None:
        """Pick up every unfinished piece of work left in the store."""
        self._loop = asyncio.get_running_loop()
        self._load_queues()
        self._resume_work()
        self._kick()

    async def stop(self, grace: float = 5.0) -> None:
        """Let running activities, episodes and entity batches finish (up to ``grace`` seconds) and commit them.

        What has not finished by then is not waited for: nothing of it was committed, so it runs again at the next
        start.
        """
        self._stopping = True
        for handle in self._timers.values():
            handle.cancel()
        running = set(self._running.values()) | self._user_calls
        if running:
            await asyncio.wait(running, timeout=grace)
        self._turn()
        if self._http:
            await self._http.close()

    def _load_queues(self) -> None:
        for seq, hub, iid, execution, text in self.store.all_inbox():
            self._inbox.setdefault((hub, iid), []).append(_Item(execution, json.loads(text), seq))
            self._ready[(hub, iid)] = None
        for seq, hub, entity, text in self.store.all_entity_ops():
            self._entity_ops.setdefault((hub, entity), []).append((seq, json.loads(text)))
        self._entity_locks = {(hub, entity): owner for hub, entity, owner in self.store.all_entity_locks()}

    def _resume_work(self) -> None:
        """Start every stored activity and arm every stored timer that is not already running or armed."""
        for row in self.store.all_tasks():
            if row[0] not in self._running:
                self._start_task(*row)
        for seq, hub, iid, execution, fire_at, text in self.store.all_timers():
            if seq not in self._timers:
                self._arm_timer(seq, hub, iid, execution, fire_at, json.loads(text))

    def accepts(self, kind: Kind, name: str) -> bool:
        """Whether an orchestration, activity or entity of this name can run here (now or once a worker has it)."""
        return self.remote is not None or self.local.runs(kind, name)

    def _executor(self, kind: Kind, name: str) -> Executor:
        if self.remote is None or self.local.runs(kind, name):
            return self.local
        return self.remote

    # what the HTTP API calls

    def instance(self, hub: str, instance_id: str) -> Instance | None:
        """The instance as last committed (history loaded only for unfinished instances)."""
        key = (hub, instance_id)
        if key in self._instances:
            return self._instances[key]
        row = self.store.instance(hub, instance_id)
        if row is None:
            return None
        history = [] if row["status"] in TERMINAL else self.store.history(hub, instance_id)
        inst = Instance.from_row(row, history)
        if not inst.is_terminal:
            self._instances[key] = inst
        return inst

    async def start_instance(
        self, hub: str, name: str, instance_id: str, input_text: str | None, version: str | None = None,
        start_at: datetime | None = None, replaceable: frozenset[str] | None = None,
    ) -> None:
        """Create (or replace a finished) instance and queue its ExecutionStarted; durable on return.

        ``version`` None gives the instance host.json's ``defaultVersion``. ``start_at`` in the future keeps the
        instance Pending until then. ``replaceable`` names the statuses of an existing instance that this start
        may replace (None: any finished one).
        """
        version = self.versioning.version_for(version)
        await self._write(lambda: self._create(hub, name, instance_id, input_text, None, version, start_at,
                                               replaceable))

    async def raise_event(self, hub: str, instance_id: str, name: str, data: str | None) -> None:
        ev = event(EventType.EVENT_RAISED, -1, Name=name, Input=data)
        await self._write(lambda: self._deliver(hub, instance_id, None, ev))

    async def control(self, hub: str, instance_id: str, kind: EventType, reason: str | None) -> None:
        """Queue terminate, suspend or resume; the next turn applies it."""
        ev = event(kind, -1, Input=reason, Reason=reason)
        await self._write(lambda: self._deliver(hub, instance_id, None, ev))

    async def rewind(self, hub: str, instance_id: str, reason: str | None) -> None:
        """Take a failed instance back to before the failures that ended it; its failed work runs again."""
        await self._write(lambda: self._rewind(hub, instance_id, reason))

    async def purge(self, hub: str, instance_ids: list[str]) -> int:
        """Delete finished instances and their history; returns how many were deleted."""

        def apply() -> int:
            count = 0
            for iid in instance_ids:
                inst = self.instance(hub, iid)
                if inst is None or not inst.is_terminal:
                    continue
                self.store.delete_instance(hub, iid)
                self._instances.pop((hub, iid), None)
                self._inbox.pop((hub, iid), None)
                count += 1
            return count

        return await self._write(apply)

    async def signal_entity(self, hub: str, entity_id: str, op: str, input_text: str | None,
                            at: datetime | None = None) -> None:
        """Queue a signal; with ``at`` in the future it joins the entity's queue only then."""
        target = entity_instance_id(entity_id)
        message: dict[str, Any] = {"name": op, "input": input_text, "isSignal": True, "caller": None}
        if at is not None:
            message["due"] = timestamp(at)
        await self._write(lambda: self._enqueue_entity_op(hub, target, message))

    def entity_lock(self, hub: str, entity_id: str) -> str | None:
        """The orchestration holding the entity's lock, if one does."""
        return self._entity_locks.get((hub, entity_instance_id(entity_id)))

    def entity_backlog(self, hub: str, entity_id: str) -> int:
        """How many messages wait in the entity's queue (not counting a batch running now)."""
        return len(self._entity_ops.get((hub, entity_instance_id(entity_id)), ()))

    async def release_orphaned_locks(self, hub: str) -> int:
        """Unlock the hub's entities whose owning orchestration has finished or is gone; returns how many."""

        def apply() -> int:
            orphaned = [key for key, owner in self._entity_locks.items()
                        if key[0] == hub and ((inst := self.instance(hub, owner)) is None or inst.is_terminal)]
            for key in orphaned:
                self._set_lock(key, None)
            return len(orphaned)

        return await self._write(apply)

    async def remove_empty_entities(self, hub: str) -> int:
        """Forget the hub's entities that hold no state and wait for no operation; returns how many."""
        return await self._write(lambda: self.store.delete_empty_entities(hub))

    def entity_state(self, hub: str, entity_id: str) -> tuple[str | None, bool, str] | None:
        return self.store.entity(hub, entity_instance_id(entity_id))

    async def wait(self, hub: str, instance_id: str, timeout: float) -> bool:
        """Wait until the instance is finished; False when ``timeout`` passes first."""
        inst = self.instance(hub, instance_id)
        if inst is None or inst.is_terminal:
            return True
        done = asyncio.get_running_loop().create_future()
        self._waiters.setdefault((hub, instance_id), []).append(done)
        try:
            await asyncio.wait_for(done, timeout)
            return True
        except TimeoutError:
            return False

    # the turn

    async def _write(self, apply: Callable[[], Any]) -> Any:
        done = asyncio.get_running_loop().create_future()
        self._writes.append(_Write(apply, done))
        self._kick()
        return await done

    def _submit(self, apply: Callable[[], Any]) -> None:
        self._writes.append(_Write(apply, None))
        self._kick()

    def _kick(self) -> None:
        if not self._turn_scheduled and self._loop is not None:
            self._turn_scheduled = True
            self._loop.call_soon(self._turn)

    def _turn(self) -> None:
        self._turn_scheduled = False
        writes, self._writes = self._writes, []
        results: list[tuple[_Write, Any, BaseException | None]] = []
        try:
            with self.store.transaction():
                for write in writes:
                    try:
                        with self.store.savepoint():
                            results.append((write, write.apply(), None))
                    except Exception as exc:  # a bad request fails alone
                        if write.done is None:
                            log.exception("devhost: an internal step could not be applied")
                        results.append((write, None, exc))
                self._take_ready()
                self._save_inbox()
        except Exception as exc:
            log.exception("devhost: a commit failed; reloading the engine's state from the store")
            self._after.clear()
            self._reload()
            results = [(w, None, exc) for w in writes]
        after, self._after = self._after, []
        for write, value, error in results:
            if write.done is not None and not write.done.done():
                if error is not None:
                    write.done.set_exception(error)
                else:
                    write.done.set_result(value)
        for action in after:
            action()
        # An instance can become ready again inside the turn (a resume releases the events held while suspended).
        if self._writes or (self._ready and not self._stopping):
            self._kick()

    def _take_ready(self) -> None:
        """Hand every ready episode and entity batch whose instance or entity is idle to user code."""
        if self._stopping:
            return
        for key in list(self._ready):
            del self._ready[key]
            if key not in self._busy:
                self._step(key)
        # Until none is left: a granted lock request may go on to the next entity of its lock set.
        seen: set[Key] = set()
        while todo := [key for key in self._entity_ops if key not in self._entities_busy and key not in seen]:
            for key in todo:
                seen.add(key)
                self._take_batch(key)

    def _hand_off(self, start: Callable[[], Awaitable[Any]], finish: Callable[[Any], None]) -> None:
        """Start user code through its executor; ``finish`` gets its result (or the exception) in a later turn.

        A call that is cancelled (the executor gave it up at shutdown) finishes nothing: it runs again at the next
        start from what the store holds.
        """
        future = asyncio.ensure_future(start())
        self._user_calls.add(future)

        def done(_: asyncio.Future[Any]) -> None:
            self._user_calls.discard(future)
            if not future.cancelled():
                outcome = future.exception() or future.result()
                self._submit(lambda: finish(outcome))

        future.add_done_callback(done)

    def _reload(self) -> None:
        self._generation += 1
        for state in (self._instances, self._inbox, self._unsaved, self._ready, self._busy, self._entity_ops,
                      self._entities_busy, self._entity_locks):
            state.clear()
        self._held.clear()
        self._load_queues()
        # Completions and fired timers held only in memory are gone with the rolled-back turn; their rows are not.
        self._resume_work()

    # writes used inside a turn

    def _create(
        self, hub: str, name: str, instance_id: str, input_text: str | None,
        parent: dict[str, Any] | None, version: str | None, start_at: datetime | None = None,
        replaceable: frozenset[str] | None = None,
    ) -> None:
        old = self.instance(hub, instance_id)
        if old is not None and (not old.is_terminal or (replaceable is not None and old.status not in replaceable)):
            raise Conflict(f"an instance with ID '{instance_id}' already exists and is {old.status}")
        if old is not None:
            self.store.delete_instance(hub, instance_id)
            self._inbox.pop((hub, instance_id), None)
        now = timestamp()
        inst = Instance(hub=hub, id=instance_id, name=name, status="Pending", input=input_text,
                        output=None, custom_status=None, created=now, updated=now, parent=parent,
                        execution=(old.execution + 1) if old else 0, version=version)
        self.store.save_instance(inst.row())
        self._instances[inst.key] = inst
        started = event(EventType.EXECUTION_STARTED, -1, now, Name=name, Input=input_text,
                        Version=version, OrchestrationInstance={"InstanceId": instance_id},
                        ParentInstance=parent and {"InstanceId": parent["id"], "TaskScheduledId": parent["task_id"]})
        if start_at is not None and start_at > utcnow():
            # A timer row holds the start, so it survives a restart and the instance stays Pending until then.
            fire_at = timestamp(start_at)
            started["ScheduledStartTime"] = fire_at
            seq = self.store.add_timer(hub, instance_id, inst.execution, fire_at, json.dumps(started))
            args = (seq, hub, instance_id, inst.execution, fire_at, started)
            self._after.append(lambda: self._arm_timer(*args))
            return
        self._deliver(hub, instance_id, inst.execution, started)

    def _rewind(self, hub: str, instance_id: str, reason: str | None) -> None:
        row = self.store.instance(hub, instance_id)
        if row is None or row["status"] != "Failed":
            status = row["status"] if row else "unknown"
            raise Conflict(f"instance '{instance_id}' is {status}; only a Failed instance can be rewound")
        kept, again = rewound(self.store.history(hub, instance_id))
        self.store.clear_history(hub, instance_id)
        inst = Instance.from_row(row, [])
        self._append(inst, kept)
        inst.status, inst.output, inst.updated = "Running", None, timestamp()
        self.store.save_instance(inst.row())
        self._instances[inst.key] = inst
        for scheduled in again:
            task_id = scheduled["EventId"]
            if scheduled["EventType"] == EventType.TASK_SCHEDULED:
                kind = "http" if scheduled["Name"] == HTTP_ACTIVITY else "activity"
                self._schedule_task(inst, task_id, kind, scheduled["Name"], scheduled.get("Input"))
                continue
            child = self.store.instance(hub, scheduled["InstanceId"])
            if child is not None and child["status"] == "Failed":
                self._rewind(hub, scheduled["InstanceId"], reason)
            else:  # gone, or ended otherwise (terminated): it starts again
                parent = {"hub": hub, "id": inst.id, "execution": inst.execution, "task_id": task_id}
                self._create(hub, scheduled["Name"], scheduled["InstanceId"], as_token(scheduled.get("Input")),
                             parent, self.versioning.version_for(scheduled.get("Version")))
        # Wakes the orchestrator, which replays up to the tasks it now waits on again (the SDK ignores the event).
        self._deliver(hub, inst.id, inst.execution, event(EventType.GENERIC, -1, Name="Rewind", Reason=reason))
        log.info("orchestration %s (%s) rewound: %d failed task(s) run again", inst.name, inst.id, len(again))

    def _deliver(self, hub: str, instance_id: str, execution: int | None, ev: Event,
                 source: tuple[str, int] | None = None) -> None:
        """Put an event in an instance's inbox; the instance runs in this or the next turn."""
        key = (hub, instance_id)
        self._inbox.setdefault(key, []).append(_Item(execution, ev, source=source))
        self._unsaved.add(key)
        self._ready[key] = None

    def _save_inbox(self) -> None:
        """Write the events that must outlive this turn to the inbox table.

        An event consumed within the turn never touches the table. One that an episode holds needs saving only
        when nothing else would make it again: a finished activity's result or a fired timer is made again from
        its own row after a crash, so most steps (an activity's result taken by the next episode at once) write
        no inbox row at all. One still waiting at the end of the turn is saved, and its row then goes.
        """
        for key in self._unsaved:
            for item in self._inbox.get(key, ()):
                if item.seq is None:
                    self._save_item(key, item)
        for key, item in self._held:
            if item.seq is None and item.source is None:
                self._save_item(key, item)
        self._unsaved.clear()
        self._held.clear()

    def _save_item(self, key: Key, item: _Item) -> None:
        item.seq = self.store.add_inbox(*key, item.execution, json.dumps(item.event))
        if item.source is not None:
            self._delete_source(item.source)
            item.source = None

    def _delete_source(self, source: tuple[str, int]) -> None:
        kind, seq = source
        if kind == "task":
            self.store.delete_task(seq)
        else:
            self.store.delete_timer(seq)

    def _consume(self, items: list[_Item]) -> None:
        """Remove consumed events from the store: their inbox rows, or the rows that would make them again."""
        self.store.delete_inbox([item.seq for item in items if item.seq is not None])
        for item in items:
            if item.seq is None and item.source is not None:
                self._delete_source(item.source)

    def _enqueue_entity_op(self, hub: str, entity: str, op: dict[str, Any]) -> None:
        due = op.get("due")
        if due is not None and parse_timestamp(due) > utcnow():
            # A timer row holds a scheduled message until it is due, so it survives a restart.
            fired = {"EntityMessage": op}
            seq = self.store.add_timer(hub, entity, None, due, json.dumps(fired))
            self._after.append(lambda: self._arm_timer(seq, hub, entity, None, due, fired))
            return
        seq = self.store.add_entity_op(hub, entity, op)
        self._entity_ops.setdefault((hub, entity), []).append((seq, op))

    # orchestrations

    def _step(self, key: Key) -> None:
        inst = self.instance(*key)
        inbox = self._inbox.get(key)
        if not inbox:
            return
        if inst is None or inst.is_terminal:
            # Events for an unknown or finished instance are dropped, as the extension drops them.
            self._consume(inbox)
            self._inbox.pop(key, None)
            return
        try:
            with self.store.savepoint():
                self._run(inst, inbox)
        except Exception:
            log.exception("devhost: instance %s could not take its next step", inst.id)
            self._instances.pop(key, None)
            with self.store.savepoint():
                self._fail_internal(key, traceback.format_exc(limit=3))

    def _fail_internal(self, key: Key, detail: str, held: list[_Item] | None = None) -> None:
        inst = self.instance(*key)
        if inst is None:
            return
        inst.status = "Failed"
        inst.output = json.dumps(f"devhost could not run orchestration '{inst.name}': {detail}")
        inst.updated = timestamp()
        self.store.save_instance(inst.row())
        self._consume(held or [])
        self._consume(self._inbox.pop(key, []))
        self._finished(inst)

    def _run(self, inst: Instance, inbox: list[_Item]) -> None:
        """Sort an idle instance's inbox: apply control events now, hand the rest to an episode."""
        left: list[_Item] = []
        dropped: list[_Item] = []
        held: list[_Item] = []
        control: list[Event] = []
        suspended = inst.status == "Suspended"
        terminate: Event | None = None
        for item in inbox:
            kind = item.event["EventType"]
            if item.execution is not None and item.execution != inst.execution:
                dropped.append(item)  # meant for an earlier execution (continue-as-new, restart)
            elif kind == EventType.EXECUTION_TERMINATED:
                terminate = item.event
                dropped, held, left = list(inbox), [], []
                break
            elif kind == EventType.EXECUTION_SUSPENDED:
                dropped.append(item)
                if not suspended:
                    suspended = True
                    control.append(item.event)
            elif kind == EventType.EXECUTION_RESUMED:
                dropped.append(item)
                if suspended:
                    suspended = False
                    control.append(item.event)
            elif suspended or (held and is_retry_event(inst, item.event)):
                # Held back: while suspended, and so that an event which allocates retry ids is
                # always the first of its episode, as the SDK allocates them before new actions.
                left.append(item)
            else:
                held.append(item)
        # After a restart the inbox is in arrival order; a new execution's ExecutionStarted still goes first.
        held.sort(key=lambda item: item.event["EventType"] != EventType.EXECUTION_STARTED)
        now = utcnow()
        self._consume(dropped)
        if left:
            self._inbox[inst.key] = left
        else:
            self._inbox.pop(inst.key, None)
        if terminate is not None:
            self._terminate(inst, terminate, now)
            return
        for ev in control:
            self._append(inst, [ev])
        if not held:
            inst.status = "Suspended" if suspended else ("Running" if inst.status != "Pending" else inst.status)
            inst.updated = timestamp(now)
            self.store.save_instance(inst.row())
            if left and not suspended:
                self._ready[inst.key] = None
            return
        executor = self._executor("orchestration", inst.name)
        # host.json versioning is the app's own; Durable Task SDK workers apply their versioning themselves.
        if executor is self.local and self.versioning.refuses(inst.version):
            self._refuse(inst, held, now)
            return
        inst.status = "Running"
        job = _EpisodeJob(inst, held, now, suspended, self._generation)
        self._busy.add(inst.key)
        self._held.extend((inst.key, item) for item in held)
        start = functools.partial(executor.episode, inst, [item.event for item in held], now)
        self._after.append(lambda: self._hand_off(start, lambda outcome: self._finish_episode(job, outcome)))

    def _refuse(self, inst: Instance, held: list[_Item], now: datetime) -> None:
        """An instance whose version this app's code may not run: fail it, or leave its work waiting."""
        if self.versioning.failure == "Fail":
            self._apply(inst, version_mismatch(inst, [item.event for item in held], now), now)
            self._consume(held)
            return
        log.warning("orchestration %s (%s) has version %r, which this app (defaultVersion %r, %s) does not run; "
                    "its work waits for a host that does", inst.name, inst.id, inst.version,
                    self.versioning.default_version, self.versioning.match)
        self._inbox[inst.key] = held + self._inbox.get(inst.key, [])

    def _finish_episode(self, job: _EpisodeJob, outcome: Outcome | BaseException) -> None:
        if job.generation != self._generation:
            return  # the engine reloaded meanwhile: the episode runs again from what the store holds
        inst = job.inst
        self._busy.discard(inst.key)
        try:
            with self.store.savepoint():
                if isinstance(outcome, BaseException):  # run_episode catches what the user's code raises
                    raise outcome
                self._apply(inst, outcome, job.now, job.suspended)
                self._consume(job.held)
        except Exception as exc:
            log.error("devhost: instance %s could not take its next step: %s", inst.id, exc)
            self._instances.pop(inst.key, None)
            with self.store.savepoint():
                self._fail_internal(inst.key, str(exc), job.held)
        if self._inbox.get(inst.key):
            self._ready[inst.key] = None

    def _append(self, inst: Instance, events: list[Event]) -> None:
        start = len(inst.history)
        self.store.append_history(inst.hub, inst.id, start, [json.dumps(e) for e in events])
        for ev in events:
            inst.record(ev)

    def _terminate(self, inst: Instance, ev: Event, now: datetime) -> None:
        reason = ev.get("Reason")
        when = timestamp(now)
        self._append(inst, [
            event(EventType.EXECUTION_TERMINATED, -1, when, Input=reason),
            event(EventType.EXECUTION_COMPLETED, -1, when, OrchestrationStatus="Terminated",
                  Result=reason),
        ])
        inst.status, inst.output, inst.updated = "Terminated", json.dumps(reason), when
        self.store.save_instance(inst.row())
        if inst.parent:
            self._deliver(inst.parent["hub"], inst.parent["id"], inst.parent["execution"],
                          event(EventType.SUB_ORCHESTRATION_FAILED, -1,
                                TaskScheduledId=inst.parent["task_id"],
                                Reason=f"Sub-orchestration '{inst.id}' was terminated: {reason}",
                                Details=None))
        self._finished(inst)

    def _apply(self, inst: Instance, out: Outcome, now: datetime, suspended: bool = False) -> None:
        """Write an episode's outcome and queue the work it asks for."""
        self._append(inst, out.events)
        hub = inst.hub
        for kind, task_id, name, input_text in out.tasks:
            self._schedule_task(inst, task_id, kind, name, input_text)
        for fire_at, fired in out.timers:
            seq = self.store.add_timer(hub, inst.id, inst.execution, fire_at, json.dumps(fired))
            args = (seq, hub, inst.id, inst.execution, fire_at, fired)
            self._after.append(lambda args=args: self._arm_timer(*args))
        for child_id, name, input_text, task_id, version in out.children:
            parent = {"hub": hub, "id": inst.id, "execution": inst.execution, "task_id": task_id}
            if not self.accepts("orchestration", name):
                self._deliver(hub, inst.id, inst.execution, event(
                    EventType.SUB_ORCHESTRATION_FAILED, -1, TaskScheduledId=task_id,
                    Reason=f"The orchestrator function '{name}' does not exist in this app.",
                    Details=None))
                continue
            try:
                with self.store.savepoint():
                    self._create(hub, name, child_id, input_text, parent, self.versioning.version_for(version))
            except Conflict as exc:
                self._deliver(hub, inst.id, inst.execution, event(
                    EventType.SUB_ORCHESTRATION_FAILED, -1, TaskScheduledId=task_id,
                    Reason=str(exc), Details=None))
        for target, op in out.entity_ops:
            self._enqueue_entity_op(hub, target, op)
        for target, sent in out.messages:
            self._deliver(hub, target, None, sent)
        if out.parent_message is not None and inst.parent:
            self._deliver(inst.parent["hub"], inst.parent["id"], inst.parent["execution"],
                          out.parent_message)
        inst.status, inst.output, inst.custom_status = out.status, out.output, out.custom_status
        if suspended and inst.status == "Running":
            inst.status = "Suspended"  # a suspend that arrived with this episode's events
        inst.updated = timestamp(now)
        if out.continue_as_new is not None:
            self._continue_as_new(inst, out.continue_as_new, out.carryover, out.new_version)
        self.store.save_instance(inst.row())
        if inst.is_terminal:
            self._finished(inst)

    def _schedule_task(self, inst: Instance, task_id: int, kind: str, name: str, input_text: str | None) -> None:
        """Store an activity (or built-in HTTP call) to run; it starts once the turn has committed."""
        seq = self.store.add_task(inst.hub, inst.id, inst.execution, task_id, kind, name, input_text)
        row = (seq, inst.hub, inst.id, inst.execution, task_id, kind, name, input_text)
        self._after.append(lambda: self._start_task(*row))

    def _continue_as_new(self, inst: Instance, input_text: str, carryover: list[Event],
                         new_version: str | None) -> None:
        self.store.clear_history(inst.hub, inst.id)
        inst.reset_history()
        inst.execution += 1
        inst.input, inst.output, inst.status = input_text, None, "Running"
        inst.version = new_version if new_version is not None else inst.version
        started = event(EventType.EXECUTION_STARTED, -1, Name=inst.name, Input=input_text,
                        Version=inst.version, OrchestrationInstance={"InstanceId": inst.id})
        # First in the inbox, ahead of events that arrived during the last episode: a new execution begins with
        # its ExecutionStarted (the Durable Task SDK starts the orchestrator only on that event, and events before
        # it would be buffered and never wake it), then what the old execution carried over.
        key = inst.key
        self._inbox[key] = [_Item(inst.execution, ev) for ev in [started, *carryover]] + self._inbox.get(key, [])
        self._unsaved.add(key)
        self._ready[key] = None

    def _finished(self, inst: Instance) -> None:
        level = logging.INFO if inst.status == "Completed" else logging.WARNING
        detail = f": {json.loads(inst.output)}" if inst.status != "Completed" and inst.output else ""
        log.log(level, "orchestration %s (%s) %s%s", inst.name, inst.id, inst.status.lower(), detail)
        self._instances.pop(inst.key, None)
        waiters = self._waiters.pop(inst.key, [])
        self._after.append(lambda: [w.set_result(None) for w in waiters if not w.done()])

    # entities

    def _take_batch(self, key: Key) -> None:
        """Hand the entity's next batch to user code; lock requests and releases at its head are applied here.

        A batch is the admitted operations up to the next lock request or release, so that a lock changes hands
        only between batches, when the operations before it have been committed.
        """
        queue = self._entity_ops[key]
        while ready := admitted(queue, self._entity_locks.get(key)):
            seq, head = ready[0]
            if is_lock_message(head):
                queue.remove(ready[0])
                self.store.delete_entity_ops([seq])
                self._lock_message(key, head)
                continue
            ops = list(itertools.takewhile(lambda item: not is_lock_message(item[1]), ready))
            taken = {seq for seq, _ in ops}
            queue[:] = [item for item in queue if item[0] not in taken]
            self._start_batch(key, ops)
            break
        if not queue:
            self._entity_ops.pop(key, None)

    def _lock_message(self, key: Key, message: dict[str, Any]) -> None:
        """Apply a lock request (lock this entity, then the next of the set, or tell the owner it holds them all)
        or a release (from the owner; any other is dropped, as the lock it meant is gone)."""
        if "release" in message:
            if self._entity_locks.get(key) == message["release"]["owner"]:
                self._set_lock(key, None)
            return
        request = message["lock"]
        owner = request["owner"]
        self._set_lock(key, owner["id"])
        position = request["position"] + 1
        if position < len(request["set"]):
            self._enqueue_entity_op(key[0], request["set"][position], {"lock": {**request, "position": position}})
            return
        self._deliver(owner["hub"], owner["id"], owner["execution"],
                      event(EventType.EVENT_RAISED, -1, Name=request["section"],
                            Input=json.dumps({"result": LOCK_GRANTED})))

    def _set_lock(self, key: Key, owner: str | None) -> None:
        self.store.set_entity_lock(*key, owner)
        if owner is None:
            self._entity_locks.pop(key, None)
        else:
            self._entity_locks[key] = owner

    def _start_batch(self, key: Key, ops: list[Queued]) -> None:
        saved = self.store.entity(*key)
        state, exists = (saved[0], saved[1]) if saved else (None, False)
        job = _BatchJob(key, ops, state, exists, self._generation)
        self._entities_busy.add(key)
        executor = self._executor("entity", key[1].split("@", 2)[1])
        start = functools.partial(executor.entity_batch, *key, state, exists, [op for _, op in ops])
        self._after.append(lambda: self._hand_off(start, lambda result: self._finish_batch(job, result)))

    def _finish_batch(self, job: _BatchJob, result: BatchResult | BaseException) -> None:
        if job.generation != self._generation:
            return
        if isinstance(result, BaseException):  # run_batch catches what the user's code raises
            error = {"isError": True, "result": json.dumps(f"devhost could not run the batch: {result}")}
            result = BatchResult(job.state, job.exists, [error for _ in job.ops])
        self._entities_busy.discard(job.key)
        hub, entity = job.key
        failure = None
        for (_, op), outcome in zip(job.ops, result.results, strict=True):
            if outcome.get("isError"):
                message = _error_text(outcome.get("result"))
                log.warning("entity %s: operation '%s' failed: %s", entity, op["name"], message)
                failure = {"operation": op["name"], "message": message, "time": timestamp()}
        self.store.save_entity(hub, entity, result.state, result.exists, timestamp(), failure)
        self.store.delete_entity_ops([seq for seq, _ in job.ops])
        for (_, op), outcome in zip(job.ops, result.results, strict=True):
            caller = op.get("caller")
            if not caller:
                continue
            response: dict[str, Any] = {"result": outcome.get("result")}
            if outcome.get("isError"):
                response["exceptionType"] = "EntityOperationFailed"
                if outcome.get("failureDetails"):
                    response["failureDetails"] = outcome["failureDetails"]
            self._deliver(caller["hub"], caller["id"], caller["execution"],
                          event(EventType.EVENT_RAISED, -1, Name=caller["guid"],
                                Input=json.dumps(response)))
        for target, op in result.signals:
            self._enqueue_entity_op(hub, entity_instance_id(target), op)
        for instance_id, name, input_text, version in result.starts:
            try:
                with self.store.savepoint():
                    self._create(hub, name, instance_id, input_text, None, self.versioning.version_for(version))
            except Conflict as exc:
                log.warning("entity %s could not start orchestration %s: %s", entity, name, exc)

    # activities and built-in HTTP calls

    def _start_task(self, seq: int, hub: str, iid: str, execution: int, task_id: int, kind: str,
                    name: str, input_text: str | None) -> None:
        if self._stopping:
            return
        if kind == "http":
            run = self._call_http(input_text)
        else:
            run = self._executor("activity", name).activity(hub, iid, task_id, name, input_text)
        task = asyncio.ensure_future(
            self._finish_task(run, seq, hub, iid, execution, task_id, name, self._generation))
        self._running[seq] = task

    async def _finish_task(self, run: Any, seq: int, hub: str, iid: str, execution: int,
                           task_id: int, name: str, generation: int) -> None:
        try:
            result = await run
            ev = event(EventType.TASK_COMPLETED, -1, TaskScheduledId=task_id, Result=result)
        except TaskFailure as exc:  # a worker's activity failed and said how
            log.warning("activity %s failed for %s: %s", name, iid, exc)
            ev = event(EventType.TASK_FAILED, -1, TaskScheduledId=task_id, Reason=str(exc),
                       Details=exc.details.get("StackTrace"), FailureDetails=exc.details)
        except Exception as exc:  # the user's activity failed: the orchestrator sees a TaskFailed
            log.warning("activity %s failed for %s: %s: %s", name, iid, type(exc).__name__, exc)
            ev = event(EventType.TASK_FAILED, -1, TaskScheduledId=task_id,
                       Reason=f"Activity function '{name}' failed: {exc}",
                       Details="".join(traceback.format_exception(exc)))

        # Off the running list before the result is queued, so that a reload meanwhile starts the task again.
        self._running.pop(seq, None)

        def complete() -> None:
            if generation == self._generation:  # else the reload started this task again
                self._deliver(hub, iid, execution, ev, source=("task", seq))

        self._submit(complete)

    async def _call_http(self, input_text: str | None) -> str:
        request = json.loads(input_text or "{}")
        if self._http is None:
            self._http = aiohttp.ClientSession()
        headers = {k: v if isinstance(v, str) else ",".join(v)
                   for k, v in (request.get("headers") or {}).items()}
        async with self._http.request(request.get("method", "GET"), request["uri"],
                                      data=request.get("content"), headers=headers) as resp:
            body = await resp.text()
            return json.dumps({"statusCode": resp.status, "headers": dict(resp.headers),
                               "content": body})

    # timers

    def _arm_timer(self, seq: int, hub: str, iid: str, execution: int | None, fire_at: str,
                   fired: Event) -> None:
        if self._stopping or self._loop is None:
            return
        delay = (parse_timestamp(fire_at) - utcnow()).total_seconds()
        generation = self._generation

        def fire() -> None:
            self._timers.pop(seq, None)
            # The loop's clock may fire a little early; a timer must never fire before its time.
            early = (parse_timestamp(fire_at) - utcnow()).total_seconds()
            if early > 0 and not self._stopping and self._loop is not None:
                self._timers[seq] = self._loop.call_later(early + 0.001, fire)
                return

            def deliver() -> None:
                if generation != self._generation:  # the reload armed this timer again
                    return
                if "EntityMessage" in fired:  # a scheduled entity message, due now: into the entity's queue
                    self.store.delete_timer(seq)
                    self._enqueue_entity_op(hub, iid, fired["EntityMessage"])
                    return
                self._deliver(hub, iid, execution, {**fired, "Timestamp": timestamp()}, source=("timer", seq))

            self._submit(deliver)

        self._timers[seq] = self._loop.call_later(max(0.0, delay), fire)


def _error_text(result: Any) -> str:
    """An entity operation's error result (JSON text of a message, usually) as plain text."""
    try:
        value = json.loads(result) if isinstance(result, str) else result
    except ValueError:
        return str(result)
    return value if isinstance(value, str) else json.dumps(value)
