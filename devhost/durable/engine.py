"""The engine: one loop that commits every step, then starts the work it enables.

Everything runs on the host's event loop. Producers (HTTP calls, finished activities, fired timers)
queue writes; one *turn* applies all queued writes, runs every ready orchestration episode and every
ready entity batch, and commits them in one SQLite transaction. Only after the commit are
activities started, timers armed and callers answered, so nothing acknowledged or started can be
lost by a crash; on restart the queues in the database are simply picked up again.
Activities are at-least-once (one that was running when the process died runs again); episodes and
entity operations are applied exactly once because each is committed with what it consumed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
from azure.functions import meta

from ..functions import Function, FunctionIndex
from ..invoker import Invoker
from .entities import run_batch
from .episode import Outcome, entity_instance_id, is_retry_event, run_episode
from .history import Event, EventType, event, parse_timestamp, timestamp, utcnow
from .instance import TERMINAL, Instance
from .sdk_speedups import install as install_sdk_speedups
from .store import Store

log = logging.getLogger("devhost.durable")
Key = tuple[str, str]
# (row id in the inbox table, or None while the event exists only in this turn; execution; event)
InboxItem = tuple[int | None, int | None, Event]
ACTIVE = frozenset({"Pending", "Running", "Suspended"})
CONTROL_TYPES = frozenset(
    {EventType.EXECUTION_TERMINATED, EventType.EXECUTION_SUSPENDED, EventType.EXECUTION_RESUMED}
)
_PASSES_PER_TURN = 8
_activity_converter = meta.get_binding_registry().get("activityTrigger")  # type: ignore[union-attr]


class Conflict(Exception):
    """The request does not fit the instance's current state."""


@dataclass
class _Write:
    apply: Callable[[], Any]
    done: asyncio.Future[Any] | None


class Engine:
    """The durable engine for every task hub in one data directory."""

    def __init__(
        self,
        store: Store,
        functions: FunctionIndex,
        invoker: Invoker,
        extra_args: Callable[[Function], dict[str, Any]],
    ) -> None:
        install_sdk_speedups()
        self.store = store
        self.functions = functions
        self.invoker = invoker
        self.extra_args = extra_args
        self._instances: dict[Key, Instance] = {}
        self._inbox: dict[Key, list[InboxItem]] = {}
        self._unsaved: set[Key] = set()
        self._ready: dict[Key, None] = {}
        self._entity_ops: dict[Key, list[tuple[int, dict[str, Any]]]] = {}
        self._writes: list[_Write] = []
        self._after: list[Callable[[], None]] = []
        self._waiters: dict[Key, list[asyncio.Future[None]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._turn_scheduled = False
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: aiohttp.ClientSession | None = None

    # lifecycle

    async def start(self) -> None:
        """Pick up every unfinished piece of work left in the store."""
        self._loop = asyncio.get_running_loop()
        for seq, hub, iid, execution, text in self.store.all_inbox():
            self._inbox.setdefault((hub, iid), []).append((seq, execution, json.loads(text)))
            self._ready[(hub, iid)] = None
        for seq, hub, entity, text in self.store.all_entity_ops():
            self._entity_ops.setdefault((hub, entity), []).append((seq, json.loads(text)))
        for row in self.store.all_tasks():
            self._start_task(*row)
        for seq, hub, iid, execution, fire_at, text in self.store.all_timers():
            self._arm_timer(seq, hub, iid, execution, fire_at, json.loads(text))
        self._kick()

    async def stop(self, grace: float = 10.0) -> None:
        """Let running activities finish (up to ``grace`` seconds) and commit what they return."""
        self._stopping = True
        for handle in self._timers.values():
            handle.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        self._turn()
        if self._http:
            await self._http.close()

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
        self, hub: str, name: str, instance_id: str, input_text: str | None,
        parent: dict[str, Any] | None = None,
    ) -> None:
        """Create (or replace a finished) instance and queue its ExecutionStarted; durable on return."""
        await self._write(lambda: self._create(hub, name, instance_id, input_text, parent))

    async def raise_event(self, hub: str, instance_id: str, name: str, data: str | None) -> None:
        ev = event(EventType.EVENT_RAISED, -1, Name=name, Input=data)
        await self._write(lambda: self._deliver(hub, instance_id, None, ev))

    async def control(self, hub: str, instance_id: str, kind: EventType, reason: str | None) -> None:
        """Queue terminate, suspend or resume; the next turn applies it."""
        ev = event(kind, -1, Input=reason, Reason=reason)
        await self._write(lambda: self._deliver(hub, instance_id, None, ev))

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

    async def signal_entity(self, hub: str, entity_id: str, op: str, input_text: str | None) -> None:
        target = entity_instance_id(entity_id)
        message = {"name": op, "input": input_text, "isSignal": True, "caller": None}
        await self._write(lambda: self._enqueue_entity_op(hub, target, message))

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
                        results.append((write, None, exc))
                self._run_ready()
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
        if self._ready or self._writes:
            self._kick()

    def _run_ready(self) -> None:
        """Run every ready episode and entity batch, and what they make ready in turn, in this turn.

        An entity's answer to the orchestration that called it, or a sub-orchestration's result for its parent,
        then costs no commit of its own. Passes are bounded so that one long cascade cannot hold back the
        callers waiting on this turn's commit.
        """
        for _ in range(_PASSES_PER_TURN):
            if not (self._ready or self._entity_ops):
                return
            for key in list(self._ready):
                del self._ready[key]
                self._step(key)
            for key in list(self._entity_ops):
                self._entity_batch(key)

    def _reload(self) -> None:
        self._instances.clear()
        self._inbox.clear()
        self._unsaved.clear()
        self._ready.clear()
        self._entity_ops.clear()
        for seq, hub, iid, execution, text in self.store.all_inbox():
            self._inbox.setdefault((hub, iid), []).append((seq, execution, json.loads(text)))
            self._ready[(hub, iid)] = None
        for seq, hub, entity, text in self.store.all_entity_ops():
            self._entity_ops.setdefault((hub, entity), []).append((seq, json.loads(text)))

    # writes used inside a turn

    def _create(
        self, hub: str, name: str, instance_id: str, input_text: str | None,
        parent: dict[str, Any] | None,
    ) -> None:
        old = self.instance(hub, instance_id)
        if old is not None and not old.is_terminal:
            raise Conflict(f"an instance with ID '{instance_id}' already exists and is {old.status}")
        if old is not None:
            self.store.delete_instance(hub, instance_id)
            self._inbox.pop((hub, instance_id), None)
        now = timestamp()
        inst = Instance(hub=hub, id=instance_id, name=name, status="Pending", input=input_text,
                        output=None, custom_status=None, created=now, updated=now, parent=parent,
                        execution=(old.execution + 1) if old else 0)
        self.store.save_instance(inst.row())
        self._instances[inst.key] = inst
        started = event(EventType.EXECUTION_STARTED, -1, now, Name=name, Input=input_text,
                        Version="", OrchestrationInstance={"InstanceId": instance_id},
                        ParentInstance=parent and {"InstanceId": parent["id"]})
        self._deliver(hub, instance_id, inst.execution, started)

    def _deliver(self, hub: str, instance_id: str, execution: int | None, ev: Event) -> None:
        """Put an event in an instance's inbox; the instance runs in this or the next turn."""
        key = (hub, instance_id)
        self._inbox.setdefault(key, []).append((None, execution, ev))
        self._unsaved.add(key)
        self._ready[key] = None

    def _save_inbox(self) -> None:
        """Write the events still waiting at the end of a turn to the inbox table.

        The turn is one transaction, so an event delivered and consumed within it need never touch the table:
        on disk the outcome is the same, and most steps (an activity's result taken by the next episode at
        once) save two statements and a page.
        """
        for key in self._unsaved:
            items = self._inbox.get(key)
            if items:
                self._inbox[key] = [
                    (self.store.add_inbox(*key, execution, json.dumps(ev)) if seq is None else seq, execution, ev)
                    for seq, execution, ev in items
                ]
        self._unsaved.clear()

    def _drop_inbox(self, items: list[InboxItem]) -> None:
        self.store.delete_inbox([seq for seq, _, _ in items if seq is not None])

    def _enqueue_entity_op(self, hub: str, entity: str, op: dict[str, Any]) -> None:
        seq = self.store.add_entity_op(hub, entity, op)
        self._entity_ops.setdefault((hub, entity), []).append((seq, op))

    # orchestrations

    def _step(self, key: Key) -> None:
        inst = self.instance(*key)
        inbox = self._inbox.get(key, [])
        if not inbox:
            return
        if inst is None or inst.is_terminal:
            # Events for an unknown or finished instance are dropped, as the extension drops them.
            self._drop_inbox(inbox)
            self._inbox.pop(key, None)
            return
        try:
            with self.store.savepoint():
                self._run(inst, inbox)
        except Exception:
            log.exception("devhost: instance %s could not take its next step", inst.id)
            self._instances.pop(key, None)
            with self.store.savepoint():
                self._fail_internal(key)

    def _fail_internal(self, key: Key) -> None:
        inst = self.instance(*key)
        if inst is None:
            return
        inst.status = "Failed"
        inst.output = json.dumps(f"devhost could not run orchestration '{inst.name}': "
                                 f"{traceback.format_exc(limit=3)}")
        inst.updated = timestamp()
        self.store.save_instance(inst.row())
        self._drop_inbox(self._inbox.pop(key, []))
        self._finished(inst)

    def _run(self, inst: Instance, inbox: list[InboxItem]) -> None:
        left: list[InboxItem] = []
        consumed: list[InboxItem] = []
        batch: list[Event] = []
        control: list[Event] = []
        suspended = inst.status == "Suspended"
        terminate: Event | None = None
        # The episode may deliver to this very instance (continue-as-new, a child that cannot start): those
        # events are appended to ``inbox`` and wait for the next episode.
        given = len(inbox)
        for item in inbox[:given]:
            _, execution, ev = item
            kind = ev["EventType"]
            if execution is not None and execution != inst.execution:
                consumed.append(item)  # meant for an earlier execution (continue-as-new, restart)
            elif kind == EventType.EXECUTION_TERMINATED:
                terminate = ev
                consumed, left = inbox[:given], []
                break
            elif kind == EventType.EXECUTION_SUSPENDED:
                consumed.append(item)
                if not suspended:
                    suspended = True
                    control.append(ev)
            elif kind == EventType.EXECUTION_RESUMED:
                consumed.append(item)
                if suspended:
                    suspended = False
                    control.append(ev)
            elif suspended or (batch and is_retry_event(inst, ev)):
                # Held back: while suspended, and so that an event which allocates retry ids is
                # always the first of its episode, as the SDK allocates them before new actions.
                left.append(item)
            else:
                consumed.append(item)
                batch.append(ev)
        now = utcnow()
        if terminate is not None:
            self._terminate(inst, terminate, now)
        else:
            for ev in control:
                self._append(inst, [ev])
            inst.status = "Suspended" if suspended else ("Running" if batch or inst.status != "Pending"
                                                         else inst.status)
            if batch:
                fn = self.functions.orchestrators.get(inst.name.lower())
                self._apply(inst, run_episode(inst, batch, fn and fn.user_function, now), now)
            else:
                inst.updated = timestamp(now)
                self.store.save_instance(inst.row())
        self._drop_inbox(consumed)
        left += inbox[given:]
        if left and inst.status != "Suspended" and not inst.is_terminal:
            self._ready[inst.key] = None
        if left:
            self._inbox[inst.key] = left
        else:
            self._inbox.pop(inst.key, None)

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

    def _apply(self, inst: Instance, out: Outcome, now: datetime) -> None:
        """Write an episode's outcome and queue the work it asks for."""
        self._append(inst, out.events)
        hub = inst.hub
        for kind, task_id, name, input_text in out.tasks:
            seq = self.store.add_task(hub, inst.id, inst.execution, task_id, kind, name, input_text)
            row = (seq, hub, inst.id, inst.execution, task_id, kind, name, input_text)
            self._after.append(lambda row=row: self._start_task(*row))
        for fire_at, fired in out.timers:
            seq = self.store.add_timer(hub, inst.id, inst.execution, fire_at, json.dumps(fired))
            args = (seq, hub, inst.id, inst.execution, fire_at, fired)
            self._after.append(lambda args=args: self._arm_timer(*args))
        for child_id, name, input_text, task_id in out.children:
            parent = {"hub": hub, "id": inst.id, "execution": inst.execution, "task_id": task_id}
            if self.functions.orchestrators.get(name.lower()) is None:
                self._deliver(hub, inst.id, inst.execution, event(
                    EventType.SUB_ORCHESTRATION_FAILED, -1, TaskScheduledId=task_id,
                    Reason=f"The orchestrator function '{name}' does not exist in this app.",
                    Details=None))
                continue
            try:
                with self.store.savepoint():
                    self._create(hub, name, child_id, input_text, parent)
            except Conflict as exc:
                self._deliver(hub, inst.id, inst.execution, event(
                    EventType.SUB_ORCHESTRATION_FAILED, -1, TaskScheduledId=task_id,
                    Reason=str(exc), Details=None))
        for target, op in out.entity_ops:
            self._enqueue_entity_op(hub, target, op)
        if out.parent_message is not None and inst.parent:
            self._deliver(inst.parent["hub"], inst.parent["id"], inst.parent["execution"],
                          out.parent_message)
        inst.status, inst.output, inst.custom_status = out.status, out.output, out.custom_status
        inst.updated = timestamp(now)
        if out.continue_as_new is not None:
            self._continue_as_new(inst, out.continue_as_new)
        self.store.save_instance(inst.row())
        if inst.is_terminal:
            self._finished(inst)

    def _continue_as_new(self, inst: Instance, input_text: str) -> None:
        self.store.clear_history(inst.hub, inst.id)
        inst.reset_history()
        inst.execution += 1
        inst.input, inst.output, inst.status = input_text, None, "Running"
        started = event(EventType.EXECUTION_STARTED, -1, Name=inst.name, Input=input_text,
                        Version="", OrchestrationInstance={"InstanceId": inst.id})
        self._deliver(inst.hub, inst.id, inst.execution, started)

    def _finished(self, inst: Instance) -> None:
        level = logging.INFO if inst.status == "Completed" else logging.WARNING
        detail = f": {json.loads(inst.output)}" if inst.status != "Completed" and inst.output else ""
        log.log(level, "orchestration %s (%s) %s%s", inst.name, inst.id, inst.status.lower(), detail)
        self._instances.pop(inst.key, None)
        waiters = self._waiters.pop(inst.key, [])
        self._after.append(lambda: [w.set_result(None) for w in waiters if not w.done()])

    # entities

    def _entity_batch(self, key: Key) -> None:
        hub, entity = key
        ops = self._entity_ops.pop(key)
        name = entity.split("@", 2)[1]
        fn = self.functions.entities.get(name)
        saved = self.store.entity(hub, entity)
        state, exists = (saved[0], saved[1]) if saved else (None, False)
        result = run_batch(fn and fn.user_function, entity, state, exists, [op for _, op in ops])
        self.store.save_entity(hub, entity, result.state, result.exists, timestamp())
        self.store.delete_entity_ops([seq for seq, _ in ops])
        for (_, op), outcome in zip(ops, result.results, strict=True):
            caller = op.get("caller")
            if not caller:
                continue
            response: dict[str, Any] = {"result": outcome.get("result")}
            if outcome.get("isError"):
                response["exceptionType"] = "EntityOperationFailed"
            self._deliver(caller["hub"], caller["id"], caller["execution"],
                          event(EventType.EVENT_RAISED, -1, Name=caller["guid"],
                                Input=json.dumps(response)))

    # activities and built-in HTTP calls

    def _start_task(self, seq: int, hub: str, iid: str, execution: int, task_id: int, kind: str,
                    name: str, input_text: str | None) -> None:
        if self._stopping:
            return
        run = self._call_http(input_text) if kind == "http" else self._call_activity(name, input_text)
        task = asyncio.ensure_future(self._finish_task(run, seq, hub, iid, execution, task_id, name))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _finish_task(self, run: Any, seq: int, hub: str, iid: str, execution: int,
                           task_id: int, name: str) -> None:
        try:
            result = await run
            ev = event(EventType.TASK_COMPLETED, -1, TaskScheduledId=task_id, Result=result)
        except Exception as exc:  # the user's activity failed: the orchestrator sees a TaskFailed
            log.warning("activity %s failed for %s: %s: %s", name, iid, type(exc).__name__, exc)
            ev = event(EventType.TASK_FAILED, -1, TaskScheduledId=task_id,
                       Reason=f"Activity function '{name}' failed: {exc}",
                       Details="".join(traceback.format_exception(exc)))

        def complete() -> None:
            self.store.delete_task(seq)
            self._deliver(hub, iid, execution, ev)

        self._submit(complete)

    async def _call_activity(self, name: str, input_text: str | None) -> str | None:
        fn = self.functions.activities.get(name.lower())
        if fn is None:
            raise LookupError(f"The activity function '{name}' does not exist in this app.")
        value = _activity_converter.decode(
            meta.Datum(type="json", value=input_text if input_text is not None else "null"),
            trigger_metadata=None,
        )
        kwargs = {fn.trigger_arg: value, **self.extra_args(fn)}
        result = await self.invoker.call(fn.user_function, fn.is_async, **kwargs)
        return _activity_converter.encode(result, expected_type=None).value

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

    def _arm_timer(self, seq: int, hub: str, iid: str, execution: int, fire_at: str,
                   fired: Event) -> None:
        if self._stopping or self._loop is None:
            return
        delay = (parse_timestamp(fire_at) - utcnow()).total_seconds()

        def fire() -> None:
            self._timers.pop(seq, None)

            def deliver() -> None:
                self.store.delete_timer(seq)
                self._deliver(hub, iid, execution, {**fired, "Timestamp": timestamp()})

            self._submit(deliver)

        self._timers[seq] = self._loop.call_later(max(0.0, delay), fire)


