"""The unit of work: the only thing in a service that opens a transaction.

A unit of work carries what a use case needs and nothing else:

* ``store`` — the service's store (its writes and aggregate loads), bound to this transaction;
* ``city``, ``correlation_id`` and ``causation`` — who the work is for and what caused it;
* ``emit(payload)`` — add an event to the outbox; the events are written in the same transaction, just before
  it commits, so the state change and its events commit together or not at all;
* ``replay`` / ``remember`` — the ``Idempotency-Key`` of a command that creates a money movement;
* ``audit(actor, entity, entity_id, action, before=, after=)`` — a back-office change onto the audit list,
  written in the same transaction (``shared.audit``).

Three entry points open one, all in the kernel: an HTTP request (``RequestContext.run`` in ``shared.http``),
the event bus (one per polled batch, or per message on the fallback path; ``uow.caused_by(envelope)`` scopes
it to each event) and periodic workers (``ServiceKernel.periodic``). Use cases are written
``async def handle(uow, command_or_event)`` and never see a connection.

``InMemoryUnitOfWork`` is the fake for unit tests: the same interface, events collected in a list, no
Postgres, no Kafka.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import asyncpg

from shared import audit as audit_list
from shared.envelope import Envelope, EventPayload, OutgoingEvent, build_event
from shared.idempotency import begin, remember
from shared.outbox import add_to_outbox

S = TypeVar("S")
R = TypeVar("R")


class UnitOfWork(Generic[S]):
    """One transaction's worth of work for a use case. See the module docstring."""

    def __init__(self, store: S, *, city: str | None, correlation_id: str | None = None,
                 causation: Envelope | None = None, pending: list[OutgoingEvent] | None = None,
                 audited: list[audit_list.AuditEntry] | None = None) -> None:
        self.store = store
        self.city = city
        self.causation = causation
        self.correlation_id = correlation_id or (causation.correlation_id if causation else str(uuid.uuid4()))
        # Shared by every scope of one transaction (see caused_by), flushed once at commit.
        self.pending: list[OutgoingEvent] = pending if pending is not None else []
        self.audited: list[audit_list.AuditEntry] = audited if audited is not None else []

    @property
    def this_city(self) -> str:
        """The city of the work; a use case that needs one fails loudly where a worker spans cities."""
        if self.city is None:
            raise RuntimeError("this unit of work spans cities: pass city= explicitly")
        return self.city

    def emit(self, payload: EventPayload, *, key: str | None = None, city: str | None = None,
             correlation_id: str | None = None) -> OutgoingEvent:
        """Add an event to the outbox of this transaction, correlated with (and caused by) what started it.

        A job spanning many flows (an expiry run) names each event's own ``city`` and ``correlation_id``.
        """
        event_city = city or self.this_city
        outgoing = build_event(payload, city=event_city, causation=self.causation,
                               correlation_id=correlation_id or self.correlation_id, key=key)
        self.pending.append(outgoing)
        return outgoing

    def audit(self, actor: Any, entity: str, entity_id: str, action: str, *, before: dict[str, Any] | None = None,
              after: dict[str, Any] | None = None) -> audit_list.AuditEntry:
        """Put a back-office change on the audit list of this transaction: who (a ``Principal``), what, before →
        after (only the fields that differ are kept)."""
        found = audit_list.entry(city=self.this_city, actor=actor, entity=entity, entity_id=entity_id,
                                 action=action, before=before, after=after, correlation_id=self.correlation_id)
        self.audited.append(found)
        return found

    def caused_by(self, envelope: Envelope) -> UnitOfWork[S]:
        """The same transaction, scoped to one incoming event: its city, correlation and causation."""
        return self._scoped(envelope)

    def _scoped(self, envelope: Envelope) -> UnitOfWork[S]:
        return UnitOfWork(self.store, city=envelope.city, causation=envelope, pending=self.pending,
                          audited=self.audited)

    async def replay(self, scope: str, key: str | None, body_hash: str) -> tuple[int, Any] | None:
        """The first answer to this ``Idempotency-Key`` (status, body), or None to go ahead."""
        raise NotImplementedError

    async def remember(self, scope: str, key: str | None, body_hash: str, status: int, body: Any) -> None:
        """Record the answer to this ``Idempotency-Key`` in the same transaction as the effect."""
        raise NotImplementedError

    async def flush(self) -> None:
        """Write the pending events (called by the opener just before commit)."""
        raise NotImplementedError


    async def _add_state_snapshots(self) -> None:
        """A store that keeps compacted state topics (``state_snapshots(pending)``, e.g. catalog's) adds one
        whole-state event per aggregate touched by this transaction's events, in the same outbox write."""
        snapshots = getattr(self.store, "state_snapshots", None)
        if snapshots is not None:
            self.pending.extend(await snapshots(self.pending))


class PgUnitOfWork(UnitOfWork[S]):
    """The real one: an asyncpg connection inside an open transaction."""

    def __init__(self, conn: asyncpg.Connection, store: S, **kw: Any) -> None:
        super().__init__(store, **kw)
        self.conn = conn

    def _scoped(self, envelope: Envelope) -> UnitOfWork[S]:
        return PgUnitOfWork(self.conn, self.store, city=envelope.city, causation=envelope, pending=self.pending,
                            audited=self.audited)

    async def replay(self, scope: str, key: str | None, body_hash: str) -> tuple[int, Any] | None:
        return await begin(self.conn, scope, key, body_hash)

    async def remember(self, scope: str, key: str | None, body_hash: str, status: int, body: Any) -> None:
        await remember(self.conn, scope, key, body_hash, status, body)

    async def flush(self) -> None:
        if self.pending:
            await self._add_state_snapshots()
            await add_to_outbox(self.conn, self.pending)
            self.pending.clear()
        if self.audited:
            await audit_list.write(self.conn, self.audited)
            self.audited.clear()


class InMemoryUnitOfWork(UnitOfWork[S]):
    """The fake for unit tests: events land in ``committed`` when the test's ``async with`` block ends."""

    def __init__(self, store: S, **kw: Any) -> None:
        super().__init__(store, **kw)
        self.committed: list[OutgoingEvent] = []
        self.audit_list: list[audit_list.AuditEntry] = []  # the audit entries of committed work, for assertions
        self.answers: dict[tuple[str, str], tuple[str, int, Any]] = {}

    def _scoped(self, envelope: Envelope) -> UnitOfWork[S]:
        child = InMemoryUnitOfWork(self.store, city=envelope.city, causation=envelope, pending=self.pending,
                                   audited=self.audited)
        child.committed, child.answers, child.audit_list = self.committed, self.answers, self.audit_list
        return child

    async def replay(self, scope: str, key: str | None, body_hash: str) -> tuple[int, Any] | None:
        if not key or (scope, key) not in self.answers:
            return None
        first_hash, status, body = self.answers[(scope, key)]
        if first_hash != body_hash:
            from shared.problems import Problem

            raise Problem(422, "Idempotency-Key sudah dipakai untuk permintaan lain. / "
                               "This Idempotency-Key was used for a different request.",
                          code="idempotency-key-reused")
        return status, body

    async def remember(self, scope: str, key: str | None, body_hash: str, status: int, body: Any) -> None:
        if key:
            self.answers[(scope, key)] = (body_hash, status, body)

    async def flush(self) -> None:
        if self.pending:
            await self._add_state_snapshots()
        self.committed.extend(self.pending)
        self.pending.clear()
        self.audit_list.extend(self.audited)
        self.audited.clear()

    @property
    def events(self) -> list[EventPayload | dict[str, Any]]:
        """Payload dicts of every committed event, for assertions: ``[e["order_id"] for e in uow.events]``."""
        return [e.envelope.payload for e in self.committed]

    def event_types(self) -> list[str]:
        return [e.envelope.event_type for e in self.committed]


StoreFactory = Callable[[asyncpg.Connection], Any]


@dataclass
class _Grouped:
    handler: Callable[..., Awaitable[Any]]
    args: tuple[Any, ...]
    city: str | None
    correlation_id: str | None
    answer: asyncio.Future[Any]


class GroupCommit:
    """Group commit at the edge: concurrent requests' use cases run in one transaction, each answered only after
    it committed (``await ctx.run_grouped(handler, command)``; the acquirer webhook during a payment burst).

    Natural batching, no timer: while one group is committing, new requests queue; the next group is whatever
    queued meanwhile (at most ``max_size``), so one request alone commits at once and a burst shares each fsync.
    Up to ``in_flight`` groups commit concurrently (the database has more than one core). If a group's
    transaction fails, every request of it runs again alone, so a bad request fails only itself and the others
    never see its error — the use cases must therefore be safe to run again after a rollback (they are: a
    rollback undid everything).
    """

    def __init__(self, work: Work, *, max_size: int = 64, in_flight: int = 2) -> None:
        self.work = work
        self.max_size = max_size
        self.in_flight = in_flight
        self._queue: list[_Grouped] = []
        self._flushers: set[asyncio.Task[None]] = set()  # strong references: the loop keeps only weak ones
        self._active = 0  # flushers that will still look at the queue (counted down in the same step they stop)
        self.groups = 0      # transactions committed for groups (a figure for benchmarks and tests)
        self.grouped = 0     # requests they carried

    async def run(self, handler: Callable[..., Awaitable[R]], *args: Any, city: str | None,
                  correlation_id: str | None) -> R:
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append(_Grouped(handler, args, city, correlation_id, answer))
        if self._active < self.in_flight:
            self._active += 1
            task = asyncio.create_task(self._flush())
            self._flushers.add(task)
            task.add_done_callback(self._flushers.discard)
        result: R = await answer
        return result

    async def _flush(self) -> None:
        try:
            while self._queue:
                group, self._queue = self._queue[:self.max_size], self._queue[self.max_size:]
                await self._commit(group)
        finally:
            self._active -= 1  # no await between the empty queue and this: a request queued later starts a flusher

    async def _commit(self, group: list[_Grouped]) -> None:
        try:
            results = []
            async with self.work.shared() as scoped:
                for item in group:
                    results.append(await item.handler(scoped(item.city, item.correlation_id), *item.args))
        except BaseException as exc:
            if len(group) == 1 or isinstance(exc, asyncio.CancelledError):
                for item in group:
                    if not item.answer.done():
                        item.answer.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                return
            for item in group:  # alone, each in its own transaction: only the bad one fails
                try:
                    async with self.work(city=item.city, correlation_id=item.correlation_id) as uow:
                        result = await item.handler(uow, *item.args)
                except BaseException as alone:
                    if not item.answer.done():
                        item.answer.set_exception(alone)
                else:
                    if not item.answer.done():
                        item.answer.set_result(result)
            return
        self.groups += 1
        self.grouped += len(group)
        for item, result in zip(group, results, strict=True):
            if not item.answer.done():
                item.answer.set_result(result)


class Work:
    """Opens units of work on a service's pool: ``async with kernel.work(city=...) as uow: ...``.

    Commits when the block ends normally (events first), rolls back on any exception, which propagates.
    """

    def __init__(self, pool: Callable[[], asyncpg.Pool], store: StoreFactory) -> None:
        self._pool = pool
        self.store = store
        self._group: GroupCommit | None = None

    @asynccontextmanager
    async def __call__(self, *, city: str | None, correlation_id: str | None = None,
                       causation: Envelope | None = None) -> AsyncIterator[PgUnitOfWork[Any]]:
        async with self._pool().acquire() as conn, conn.transaction():
            uow: PgUnitOfWork[Any] = PgUnitOfWork(conn, self.store(conn), city=city,
                                                  correlation_id=correlation_id, causation=causation)
            yield uow
            await uow.flush()

    @asynccontextmanager
    async def shared(self) -> AsyncIterator[Callable[[str | None, str | None], PgUnitOfWork[Any]]]:
        """One transaction shared by several use cases (``GroupCommit``): yields a maker of units of work, one per
        use case with its own city and correlation id, whose events and audit entries are written together."""
        async with self._pool().acquire() as conn, conn.transaction():
            store = self.store(conn)
            pending: list[OutgoingEvent] = []
            audited: list[audit_list.AuditEntry] = []
            first: list[PgUnitOfWork[Any]] = []

            def scoped(city: str | None, correlation_id: str | None) -> PgUnitOfWork[Any]:
                uow: PgUnitOfWork[Any] = PgUnitOfWork(conn, store, city=city, correlation_id=correlation_id,
                                                      pending=pending, audited=audited)
                if not first:
                    first.append(uow)
                return uow

            yield scoped
            if first:
                await first[0].flush()

    def group_commit(self) -> GroupCommit:
        """This pool's group committer (one per process, made on first use)."""
        if self._group is None:
            self._group = GroupCommit(self)
        return self._group

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection for the read side (``queries.py``): no transaction, nothing written."""
        async with self._pool().acquire() as conn:
            yield conn


@asynccontextmanager
async def in_memory(store: S, *, city: str | None = "cimahi", correlation_id: str | None = None,
                    causation: Envelope | None = None) -> AsyncIterator[InMemoryUnitOfWork[S]]:
    """Test helper: ``async with in_memory(FakeStore()) as uow: await handle(uow, cmd)`` then ``uow.committed``."""
    uow: InMemoryUnitOfWork[S] = InMemoryUnitOfWork(store, city=city, correlation_id=correlation_id,
                                                    causation=causation)
    yield uow
    await uow.flush()
