"""Rebuilding a projection from offset 0 of compacted topics (``pasarkota projections rebuild <service>``).

A service declares, beside its live consumers, which of its tables are a projection of which *compacted*
topics (the last record per key is the aggregate as it is now — catalog's state topics, ``deploy/topics.toml``):

    rebuild = bus.rebuild("catalog", [cat.PRODUCT_STATE, cat.MARKET, cat.VENDOR_STATE],
                          tables=["product_view", "market_view", "rw_hub_view", "vendor_view"])
    rebuild.on(cat.ProductStateChanged)(handlers.on_product_state)

A rebuild reads every partition of those topics from the beginning up to the end offsets taken when it starts,
and in **one transaction** empties the tables (locked against the live consumer meanwhile) and applies each
record through the declared handlers, in partition order. The live consumer keeps its offsets: after the commit
it goes on applying what came later, so nothing is lost; what it re-applies is a full state again. A handler
that emits an event fails the rebuild (a projection only writes its own tables) and the transaction rolls back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from shared.auth import Principal, require
from shared.envelope import DecodeError, EventPayload, decode, spec_of
from shared.logging import get_logger

if TYPE_CHECKING:
    from shared.bus import EventBus

log = get_logger(__name__)
AsOperator = Annotated[Principal, Depends(require("operator"))]
P = TypeVar("P", bound=EventPayload)
Handler = Callable[[Any, Any], Awaitable[None]]


@dataclass
class ProjectionRebuild:
    """One rebuildable projection of a service: its compacted source topics, its tables, its handlers."""

    bus: EventBus
    name: str
    topics: list[str]
    tables: list[str]
    handlers: dict[tuple[str, int], Handler] = field(default_factory=dict)

    def on(self, model: type[P]) -> Callable[[Handler], Handler]:
        """Register ``handle(uow, event)`` for one event type and version, as ``EventConsumer.on`` does."""
        spec = spec_of(model)

        def register(fn: Handler) -> Handler:
            self.handlers[(spec.event_type, spec.version)] = fn
            return fn

        return register

    async def run(self) -> dict[str, Any]:
        """Rebuild now; returns what it did (records read, applied, skipped, tombstones, per table rows)."""
        started = time.monotonic()
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bus.bootstrap, enable_auto_commit=False,
                                    client_id=f"{self.bus.service}-rebuild-{self.name}",
                                    **self.bus.security.client_options())
        await consumer.start()
        counts = {"read": 0, "applied": 0, "skipped": 0, "tombstones": 0, "undecodable": 0}
        try:
            partitions = await self._partitions()
            missing = sorted({t for t in self.topics} - {tp.topic for tp in partitions})
            if missing:
                raise LookupError(f"topics not on the broker: {', '.join(missing)}")
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            left = {tp for tp in partitions if ends[tp] > 0}
            async with self.bus.work(city=None, correlation_id=f"rebuild-{self.name}") as uow:
                await uow.conn.execute(f"LOCK TABLE {', '.join(self.tables)} IN SHARE ROW EXCLUSIVE MODE")
                for table in self.tables:
                    await uow.conn.execute(f"DELETE FROM {table}")
                while left:
                    batch = await consumer.getmany(*left, timeout_ms=1000, max_records=1000)
                    for tp, records in batch.items():
                        for record in records:
                            if record.offset >= ends[tp]:
                                break
                            counts["read"] += 1
                            await self._apply(uow, record.value, counts)
                        if await consumer.position(tp) >= ends[tp]:
                            left.discard(tp)
                    for tp in list(left):  # compaction can leave the last offsets empty: position says when done
                        if await consumer.position(tp) >= ends[tp]:
                            left.discard(tp)
                if uow.pending:
                    raise RuntimeError(f"projection {self.name}: a handler emitted events during a rebuild")
                rows = {t: int(await uow.conn.fetchval(f"SELECT count(*) FROM {t}")) for t in self.tables}
        finally:
            await _stop(consumer)
        report = {"service": self.bus.service, "projection": self.name, "topics": self.topics, **counts,
                  "rows": rows, "seconds": round(time.monotonic() - started, 3)}
        log.info("projection rebuilt", **{k: v for k, v in report.items() if k != "topics"})
        return report

    async def _partitions(self) -> list[TopicPartition]:
        """Every partition of the source topics, as the broker describes them (an unsubscribed consumer has no
        metadata of its own)."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bus.bootstrap, client_id=f"{self.bus.service}-rebuild",
                                    **self.bus.security.client_options())
        await admin.start()
        try:
            described = await admin.describe_topics(self.topics)
        finally:
            await admin.close()
        return [TopicPartition(d["topic"], p["partition"]) for d in described if d.get("error_code", 0) == 0
                for p in sorted(d["partitions"], key=lambda p: p["partition"])]

    async def _apply(self, uow: Any, value: bytes | None, counts: dict[str, int]) -> None:
        if value is None:  # a tombstone: the key was deleted; its rows went with the DELETE above
            counts["tombstones"] += 1
            return
        try:
            envelope, event = decode(value)
        except DecodeError:  # a live consumer dead-lettered it once already; a rebuild only counts it
            counts["undecodable"] += 1
            return
        handler = self.handlers.get((envelope.event_type, envelope.event_version))
        if handler is None:
            counts["skipped"] += 1
            return
        await handler(uow.caused_by(envelope), event)
        counts["applied"] += 1


async def _stop(consumer: AIOKafkaConsumer) -> None:
    """aiokafka 0.14's consumer without a group lets the CancelledError of its own committed-offsets task escape
    ``stop()``; swallow that one, never a cancellation of the caller."""
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise


class ProjectionInfo(BaseModel):
    name: str
    topics: list[str]
    tables: list[str]


class ProjectionList(BaseModel):
    service: str
    projections: list[ProjectionInfo]


class RebuildReport(BaseModel):
    service: str
    projection: str
    topics: list[str]
    read: int = Field(description="records read from offset 0 up to the end offsets at the start")
    applied: int
    skipped: int = Field(description="records of event types or versions this projection does not apply")
    tombstones: int
    undecodable: int
    rows: dict[str, int] = Field(description="rows in each table after the rebuild")
    seconds: float


def projections_router(bus: EventBus) -> APIRouter:
    """``GET /ops/projections`` and ``POST /ops/projections/{name}/rebuild`` (operator): mounted by the kernel
    for a service that declares rebuildable projections."""
    from shared.problems import Problem

    router = APIRouter(tags=["ops"])

    @router.get("/ops/projections")
    async def list_projections(_: AsOperator) -> ProjectionList:
        """The projections of this service that can be rebuilt from compacted topics."""
        return ProjectionList(service=bus.service, projections=[
            ProjectionInfo(name=r.name, topics=r.topics, tables=r.tables) for r in bus.rebuilds.values()])

    @router.post("/ops/projections/{name}/rebuild")
    async def rebuild_projection(name: Annotated[str, Path(max_length=64)],
                                 _: AsOperator) -> RebuildReport:
        """Empty the projection's tables and apply its compacted topics from offset 0, in one transaction."""
        found = bus.rebuilds.get(name)
        if found is None:
            raise Problem(404, f"Proyeksi tidak dikenal: {name[:64]} / Unknown projection: {name[:64]}",
                          code="projection-not-found")
        try:
            return RebuildReport(**await found.run())
        except LookupError as exc:
            raise Problem(409, f"Topik belum ada. / {exc}", code="topics-missing") from None

    return router
