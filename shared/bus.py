"""The Kafka event bus: FastStream subscribers that apply each event once, retry, and dead-letter.

Every consumer here uses ``AckPolicy.NACK_ON_ERROR``, deliberately:

* the offset is committed only after the handler's transaction (effect + inbox row) committed, or after
  the message went to the dead-letter topic — so a crash re-delivers, and the inbox drops the repeat;
* a handler that keeps failing is retried in-process with backoff (``consumer_max_attempts``), then the
  message goes to ``<topic>.dlq`` with the error in headers and the partition moves on;
* a message that cannot be decoded goes to the DLQ at once;
* a polled batch is applied in one transaction with one offset commit (cheap bursts); if anything in it fails,
  the batch is rolled back and applied one message at a time with the rules above;
* an outage is not the message's fault: when Postgres is unreachable (connection lost, shutting down,
  refusing connections) the batch is nacked after a back-off and read again once the database is back —
  never dead-lettered;
* only if even the DLQ publish fails (Kafka unavailable) do we nack, so the message is read again later
  rather than lost.
"""

from __future__ import annotations

import asyncio
import dataclasses
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from shared.db import is_outage
from shared.envelope import DecodeError, Envelope, EventPayload, OutgoingEvent, decode, spec_of
from shared.inbox import claim, claim_many
from shared.logging import bound_contextvars, get_logger
from shared.metrics import EVENTS_CONSUMED, EVENTS_DEAD_LETTERED, EVENTS_DUPLICATE, EVENTS_FAILED
from shared.outbox import add_to_outbox, emit

log = get_logger(__name__)

DLQ_SUFFIX = ".dlq"


def dlq_topic(topic: str) -> str:
    return topic + DLQ_SUFFIX


class InfrastructureUnavailable(RuntimeError):
    """The database could not be reached: retry the whole batch later, never dead-letter it."""



@dataclass
class EventContext:
    """What a handler gets besides the payload: the open transaction and the incoming envelope."""

    conn: asyncpg.Connection
    envelope: Envelope
    consumer: str

    @property
    def city(self) -> str:
        return self.envelope.city

    async def emit(self, payload: EventPayload, *, key: str | None = None) -> OutgoingEvent:
        """Emit a follow-up event in the same transaction, caused by (and correlated with) this one."""
        return await emit(self.conn, payload, city=self.city, causation=self.envelope, key=key)

    async def emit_many(self, events: list[OutgoingEvent]) -> None:
        await add_to_outbox(self.conn, events)


P = TypeVar("P", bound=EventPayload)
Handler = Callable[[EventContext, Any], Awaitable[None]]


class PoolHolder:
    """Late-bound access to the service's pool (the bus is declared before the pool exists)."""

    pool: asyncpg.Pool | None = None

    def get(self) -> asyncpg.Pool:
        if self.pool is None:
            raise RuntimeError("database pool not started")
        return self.pool


def _sanitise(record: Any) -> Any:
    # Header values that are not UTF-8 must not crash the parser (that would nack-loop the partition).
    headers = [(k, v if _is_utf8(v) else repr(v).encode()) for k, v in (record.headers or ())]
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return dataclasses.replace(record, headers=headers)
    return record


async def _tolerant_parser(message: Any, original: Callable[[Any], Awaitable[Any]]) -> Any:
    if isinstance(message, tuple):
        return await original(tuple(_sanitise(r) for r in message))
    return await original(_sanitise(message))


def _is_utf8(value: bytes | None) -> bool:
    try:
        (value or b"").decode()
    except UnicodeDecodeError:
        return False
    return True


async def _raw_decoder(msg: Any, _original: Any) -> list[bytes]:
    return [r.value or b"" for r in msg.raw_message]


def _headers(record: Any) -> dict[str, str]:
    out = {}
    for k, v in record.headers or ():
        out[k] = v.decode() if _is_utf8(v) else repr(v)
    return out


class EventConsumer:
    """One consumer group reading some topics and dispatching by event type to its handlers."""

    def __init__(self, bus: EventBus, name: str, topics: list[str]) -> None:
        self.bus = bus
        self.name = name
        self.topics = topics
        self.handlers: dict[tuple[str, int], Handler] = {}
        self.group_id = f"{bus.service}.{name}"
        self.outage_backoff = 0.0
        subscriber = bus.broker.subscriber(
            *topics, group_id=self.group_id, ack_policy=AckPolicy.NACK_ON_ERROR,
            auto_offset_reset="earliest", parser=_tolerant_parser, decoder=_raw_decoder,
            batch=True, max_records=bus.batch_size, batch_timeout_ms=100,
            title=f"{bus.service}:{name}",
        )
        subscriber(self._on_batch)

    def on(self, model: type[P]) -> Callable[[Callable[[EventContext, P], Awaitable[None]]], Any]:
        """Register the handler for one event type (and version) of the model."""
        spec = spec_of(model)

        def register(fn: Callable[[EventContext, P], Awaitable[None]]) -> Any:
            self.handlers[(spec.event_type, spec.version)] = fn
            return fn

        return register

    async def _on_batch(self, bodies: list[bytes], msg: KafkaMessage) -> None:
        """Apply a polled batch in one transaction; on any failure fall back to one message at a time.

        One transaction (and one offset commit) per batch is what makes bursts cheap; the per-message path keeps
        the semantics exact: retries, then the dead-letter topic, and the inbox making every repeat a no-op.
        """
        records = list(msg.raw_message)
        work: list[tuple[Any, Envelope, EventPayload | None, Handler]] = []
        for record in records:
            body = record.value or b""
            try:
                envelope, payload = decode(body)
            except DecodeError as exc:
                await self._dead_letter(record, body, exc, attempts=0)
                continue
            handler = self.handlers.get((envelope.event_type, envelope.event_version))
            if handler is not None:  # events of other types are another consumer's business
                work.append((record, envelope, payload, handler))
        if not work:
            return
        if len(work) > 1:
            try:
                applied = await self._apply_batch(work)
            except Exception as exc:
                if is_outage(exc):
                    await self._back_off_for_outage(exc)
                log.info("batch failed; applying one by one", size=len(work), error=repr(exc))
            else:
                self.outage_backoff = 0.0
                for (_r, envelope, _p, _h), was_applied in zip(work, applied, strict=True):
                    self._count(envelope, was_applied)
                return
        for record, envelope, payload, handler in work:
            await self._process_one(record, envelope, payload, handler)

    async def _apply_batch(self, work: list[tuple[Any, Envelope, EventPayload | None, Handler]]) -> list[bool]:
        pool = self.bus.pools.get()
        applied = []
        async with pool.acquire() as conn, conn.transaction():
            fresh = await claim_many(conn, self.group_id, [envelope for _r, envelope, _p, _h in work])
            for _record, envelope, payload, handler in work:
                if envelope.event_id not in fresh:
                    applied.append(False)  # seen before, or twice in this batch
                    continue
                fresh.discard(envelope.event_id)
                with bound_contextvars(city=envelope.city, correlation_id=envelope.correlation_id,
                                       event_id=str(envelope.event_id), event_type=envelope.event_type):
                    await handler(EventContext(conn, envelope, self.name), payload)
                applied.append(True)
        return applied

    def _count(self, envelope: Envelope, applied: bool) -> None:
        if applied:
            EVENTS_CONSUMED.labels(self.bus.service, self.name, envelope.event_type).inc()
        else:
            EVENTS_DUPLICATE.labels(self.bus.service, self.name).inc()

    async def _process_one(self, record: Any, envelope: Envelope, payload: EventPayload | None,
                           handler: Handler) -> None:
        with bound_contextvars(city=envelope.city, correlation_id=envelope.correlation_id,
                               event_id=str(envelope.event_id), event_type=envelope.event_type,
                               consumer=self.name):
            attempts = 0
            while True:
                attempts += 1
                try:
                    applied = await self._apply(handler, envelope, payload)
                except Exception as exc:  # a handler bug, a bad message, or an outage
                    if is_outage(exc):
                        await self._back_off_for_outage(exc)
                    EVENTS_FAILED.labels(self.bus.service, self.name, envelope.event_type).inc()
                    if attempts >= self.bus.max_attempts:
                        await self._dead_letter(record, record.value or b"", exc, attempts)
                        return
                    log.warning("handler failed; retrying", attempt=attempts, error=repr(exc), topic=record.topic)
                    await asyncio.sleep(self.bus.backoff * 2 ** (attempts - 1))
                    continue
                self.outage_backoff = 0.0
                self._count(envelope, applied)
                if not applied:
                    log.info("duplicate event skipped")
                return

    async def _back_off_for_outage(self, exc: BaseException) -> None:
        """Wait, then raise: NACK_ON_ERROR rewinds the batch, which is read again once the database is back."""
        self.outage_backoff = min(max(self.outage_backoff * 2, 0.5), 5.0)
        log.warning("database unavailable; the batch will be read again", error=repr(exc),
                    backoff=self.outage_backoff)
        await asyncio.sleep(self.outage_backoff)
        raise InfrastructureUnavailable(repr(exc)) from exc

    async def _apply(self, handler: Handler, envelope: Envelope, payload: EventPayload | None) -> bool:
        pool = self.bus.pools.get()
        async with pool.acquire() as conn, conn.transaction():
            if not await claim(conn, self.group_id, envelope):
                return False
            await handler(EventContext(conn, envelope, self.name), payload)
            return True

    async def _dead_letter(self, record: Any, body: bytes, exc: BaseException, attempts: int) -> None:
        topic = record.topic
        headers = _headers(record)
        headers.update({
            "x-dlq-consumer": self.group_id,
            "x-dlq-source-topic": topic,
            "x-dlq-source-partition": str(record.partition),
            "x-dlq-source-offset": str(record.offset),
            "x-dlq-error-type": type(exc).__name__,
            "x-dlq-error": str(exc)[:2000],
            "x-dlq-stack": "".join(traceback.format_exception(exc))[-4000:],
            "x-dlq-attempts": str(attempts),
            "x-dlq-failed-at": datetime.now(UTC).isoformat(),
        })
        # Raises if Kafka does not confirm: NACK_ON_ERROR then re-reads the message instead of losing it.
        await self.bus.broker.publish(body, topic=dlq_topic(topic), key=record.key, headers=headers)
        EVENTS_DEAD_LETTERED.labels(self.bus.service, self.name, topic).inc()
        log.error("message dead-lettered", topic=topic, partition=record.partition, offset=record.offset,
                  error=str(exc)[:300], attempts=attempts)


class EventBus:
    """The service's FastStream Kafka broker plus its consumers."""

    def __init__(self, service: str, bootstrap: str, *, max_attempts: int = 3, backoff_ms: int = 200,
                 batch_size: int = 500) -> None:
        self.service = service
        self.batch_size = batch_size
        self.broker = KafkaBroker(bootstrap, acks="all", enable_idempotence=True, client_id=service,
                                  logger=None)
        self.pools = PoolHolder()
        self.max_attempts = max_attempts
        self.backoff = backoff_ms / 1000
        self.consumers: list[EventConsumer] = []

    def consumer(self, name: str, topics: list[str]) -> EventConsumer:
        consumer = EventConsumer(self, name, topics)
        self.consumers.append(consumer)
        return consumer

    async def start(self, pool: asyncpg.Pool) -> None:
        self.pools.pool = pool
        await self.broker.start()

    async def stop(self) -> None:
        await self.broker.stop()

    async def ping(self) -> bool:
        try:
            return bool(await self.broker.ping(timeout=2.0))
        except Exception:
            return False
