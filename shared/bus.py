"""The Kafka event bus: consumers that apply each event once, in a unit of work, and never stall a partition.

Handlers are registered directly on a consumer, with the one signature of every use case::

    consumer.on(OrderPaid)(handlers.commit_stock)            # async def commit_stock(uow, event: OrderPaid)
    consumer.on_batch(PaymentSucceeded)(handlers.mark_paid)  # async def mark_paid(uow, events: list[Incoming])

The rules, all here and nowhere else:

* **Decoding is ours, deliberately.** FastStream hands us the raw records (``decoder=_raw_decoder``): a body
  that is not our envelope must become a dead letter, not a FastStream decode error that nacks and loops.
  Any exception while decoding — bad UTF-8, bad JSON, JSON nested 100,000 deep (past the parser's nesting limit), a
  payload that does not validate — is a :class:`DecodeError`. Only what this consumer handles is decoded: a
  record whose ``event_type`` header (the envelope's routing copy) names a type it has no handler for is skipped
  as it comes — most records of a busy topic are some other consumer's, and decoding is most of a skip's cost.
* ``AckPolicy.NACK_ON_ERROR``: the offset is committed only after the batch's transaction (effects + inbox
  rows + dead letters) committed — a crash re-delivers, the inbox drops the repeat.
* **A polled batch is one unit of work** (one transaction, one offset commit) — cheap bursts. If anything
  in it fails, the transaction rolls back; the part before the failing message is applied again as one
  batch, and the rest one message at a time: retried in-process with backoff (``consumer_max_attempts``),
  then dead-lettered.
* **Dead letters go through the outbox, claimed once.** A dead letter is an outbox row for ``<topic>.dlq``
  written in a transaction that also claims ``(consumer, source topic/partition/offset)`` in the inbox: a
  re-read batch never dead-letters anything twice, and dead-lettering never needs Kafka to be up. A body too
  large to travel whole with its error headers is kept in ``dead_letter_bodies``; the DLQ record carries a
  prefix and a pointer (``x-dlq-body-ref``), logged and counted (``pasarkota_dead_letters_truncated_total``).
* **No exception of any type escapes a message.** Only an outage is not the message's fault: when Postgres
  is unreachable the batch is nacked after a back-off and read again once it is back — never dead-lettered.
  Every nack is logged with its partitions and offsets (rate-limited) and counted.
* Stalls are visible: consumer lag per partition and the age of the oldest message in flight per group are
  gauges on ``/metrics`` and in ``/readyz``'s body (``pasarkota status`` prints them).
"""

from __future__ import annotations

import asyncio
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from opentelemetry.trace import SpanKind

from shared import tracing
from shared.db import is_outage
from shared.envelope import DecodeError, Envelope, EventPayload, decode, spec_of
from shared.inbox import claim_many
from shared.kafka import PLAINTEXT, KafkaSecurity
from shared.logging import bound_contextvars, get_logger
from shared.metrics import (
    CONSUMER_LAG,
    CONSUMER_NACKS,
    CONSUMER_OLDEST_IN_FLIGHT,
    DEAD_LETTERS_TRUNCATED,
    EVENTS_CONSUMED,
    EVENTS_DEAD_LETTERED,
    EVENTS_DUPLICATE,
    EVENTS_FAILED,
    EVENTS_UNHANDLED_VERSION,
)
from shared.uow import PgUnitOfWork, StoreFactory

if TYPE_CHECKING:
    from shared.projections import ProjectionRebuild

log = get_logger(__name__)

DLQ_SUFFIX = ".dlq"
# A DLQ record must fit the broker's default max.message.bytes (1 MiB) together with its error headers.
DLQ_INLINE_MAX = 512 * 1024
DLQ_PREFIX_BYTES = 16 * 1024
DLQ_ORIGINAL_HEADERS_MAX = 8 * 1024
DEAD_LETTER_NAMESPACE = uuid.UUID("0b6c3c1e-6f3e-4d53-9a55-2b5d0f1d1e0a")


def dlq_topic(topic: str) -> str:
    return topic + DLQ_SUFFIX


class InfrastructureUnavailable(RuntimeError):
    """The database could not be reached: retry the whole batch later, never dead-letter it."""


P = TypeVar("P", bound=EventPayload)


@dataclass(frozen=True)
class Incoming:
    """One decoded event of a batch, for batch handlers: ``uow.caused_by(item.envelope)`` scopes the emits."""

    envelope: Envelope
    event: Any


Handler = Callable[[PgUnitOfWork[Any], Any], Awaitable[None]]
BatchHandler = Callable[[PgUnitOfWork[Any], list[Incoming]], Awaitable[None]]


def _text(value: bytes | str | None, limit: int | None = None) -> str:
    """Printable text for a header or key (Postgres text/jsonb refuses NUL; not all bytes are UTF-8)."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        try:
            value = value.decode()
        except UnicodeDecodeError:
            value = repr(value)
    value = value.replace("\x00", "\\x00")
    return value if limit is None else value[:limit]


def _event_type_header(record: Any) -> str | None:
    """The ``event_type`` header our outbox puts on every record (``OutgoingEvent.headers``), or None when absent
    or not plain text — then the body decides, as for any record."""
    for key, value in record.headers or ():
        if key == "event_type" and isinstance(value, bytes) and 0 < len(value) <= 64:
            try:
                return value.decode("ascii")
            except UnicodeDecodeError:
                return None
    return None


async def _raw_decoder(msg: Any, _original: Any) -> list[bytes]:
    # Deliberately bypasses FastStream's decoding: we decode each record ourselves (see the module doc).
    return [r.value or b"" for r in msg.raw_message]


async def _raw_parser(message: Any, original: Callable[[Any], Awaitable[Any]]) -> Any:
    # FastStream's parser decodes every header as UTF-8; a bad header must not nack-loop the partition, so
    # the parser sees a copy without headers (we read the originals from ``raw_message`` ourselves).
    import dataclasses

    def strip(record: Any) -> Any:
        if dataclasses.is_dataclass(record) and not isinstance(record, type):
            try:
                return dataclasses.replace(record, headers=[])
            except Exception:
                return record
        return record

    if isinstance(message, tuple):
        parsed = await original(tuple(strip(r) for r in message))
        parsed.raw_message = message
        return parsed
    parsed = await original(strip(message))
    parsed.raw_message = message
    return parsed


@dataclass
class _Work:
    record: Any
    envelope: Envelope
    event: Any
    handler: Handler | None
    batch_handler: BatchHandler | None


class EventConsumer:
    """One consumer group reading some topics and dispatching by event type (and version) to its handlers."""

    def __init__(self, bus: EventBus, name: str, topics: list[str]) -> None:
        self.bus = bus
        self.name = name
        self.topics = topics
        self.handlers: dict[tuple[str, int], Handler] = {}
        self.batch_handlers: dict[tuple[str, int], BatchHandler] = {}
        self.group_id = f"{bus.service}.{name}"
        self.outage_backoff = 0.0
        self.in_flight_since: float | None = None  # Kafka timestamp (s) of the oldest record being applied
        self._last_nack_log = 0.0
        subscriber = bus.broker.subscriber(
            *topics, group_id=self.group_id, ack_policy=AckPolicy.NACK_ON_ERROR,
            auto_offset_reset="earliest", parser=_raw_parser, decoder=_raw_decoder,
            batch=True, max_records=bus.batch_size, batch_timeout_ms=100,
            title=f"{bus.service}:{name}",
        )
        subscriber(self._on_batch)

    @property
    def handled_types(self) -> set[str]:
        return {t for t, _v in (*self.handlers, *self.batch_handlers)}

    def handled(self) -> list[tuple[str, int]]:
        """Every (event type, version) this consumer applies: the contract of what it receives."""
        return sorted({*self.handlers, *self.batch_handlers})

    def on(self, model: type[P]) -> Callable[[Callable[[PgUnitOfWork[Any], P], Awaitable[None]]], Any]:
        """Register ``handle(uow, event)`` for one event type (and version); returns the handler unchanged."""
        spec = spec_of(model)

        def register(fn: Callable[[PgUnitOfWork[Any], P], Awaitable[None]]) -> Any:
            self.handlers[(spec.event_type, spec.version)] = fn
            return fn

        return register

    def on_batch(self, model: type[P]) -> Callable[[BatchHandler], BatchHandler]:
        """Register ``handle(uow, items)`` receiving every consecutive event of this type in a polled batch at
        once (set-based handlers); on the one-by-one fallback path it receives a list of one."""
        spec = spec_of(model)

        def register(fn: BatchHandler) -> BatchHandler:
            self.batch_handlers[(spec.event_type, spec.version)] = fn
            return fn

        return register

    # ------------------------------------------------------------------------------------------- the loop

    async def _on_batch(self, bodies: list[bytes], msg: KafkaMessage) -> None:
        records = list(msg.raw_message) if isinstance(msg.raw_message, (list, tuple)) else [msg.raw_message]
        if not records:
            return
        self.in_flight_since = min((r.timestamp or 0) for r in records) / 1000 or time.time()
        try:
            await self._apply_records(records)
        except BaseException:
            self._log_nack(records)
            raise
        finally:
            self.in_flight_since = None
            self._record_lag(msg, records)

    async def _apply_records(self, records: Sequence[Any]) -> None:
        """Decode, then apply the batch in one unit of work; on failure: the good prefix, then one by one."""
        work: list[_Work] = []
        undecodable: list[tuple[Any, BaseException]] = []
        handled_types = self.handled_types
        for record in records:
            hint = _event_type_header(record)
            if hint is not None and hint not in handled_types:
                continue  # another consumer's business, named by the envelope's header: not even decoded
            try:
                envelope, event = decode(record.value or b"")
            except DecodeError as exc:
                undecodable.append((record, exc))
                continue
            except Exception as exc:  # belt and braces: decode() already wraps everything
                undecodable.append((record, DecodeError(f"undecodable: {exc!r}"[:500])))
                continue
            key = (envelope.event_type, envelope.event_version)
            handler, batch_handler = self.handlers.get(key), self.batch_handlers.get(key)
            if handler or batch_handler:
                work.append(_Work(record, envelope, event, handler, batch_handler))
            elif envelope.event_type in self.handled_types:
                # a version of an event we handle, but not this version: counted and logged, never silent
                EVENTS_UNHANDLED_VERSION.labels(self.bus.service, self.name, envelope.event_type,
                                                str(envelope.event_version)).inc()
                log.warning("event version not handled by this consumer; skipped", topic=record.topic,
                            partition=record.partition, offset=record.offset, event_type=envelope.event_type,
                            event_version=envelope.event_version, consumer=self.name)
            # events of other types are another consumer's business
        if undecodable:
            await self._guarded(self._dead_letter_all, [(r, e, 0) for r, e in undecodable])
        if not work:
            return
        failed_at = await self._try_batch(work)
        if failed_at is None:
            return
        if failed_at > 0:  # the part before the failing message is fine: one transaction for it
            if await self._try_batch(work[:failed_at]) is not None:
                failed_at = 0
        for item in work[failed_at:]:
            await self._process_one(item)

    async def _try_batch(self, work: list[_Work]) -> int | None:
        """Apply ``work`` in one unit of work; None when committed, else the index of the failing message."""
        position = [0]
        try:
            applied = await self._apply(work, position)
        except Exception as exc:
            if is_outage(exc):
                await self._back_off_for_outage(exc)
            if len(work) > 1:
                log.info("batch failed; applying the rest one by one", size=len(work), at=position[0],
                         error=repr(exc)[:300])
            return position[0]
        self.outage_backoff = 0.0
        for item, was_applied in zip(work, applied, strict=True):
            self._count(item.envelope, was_applied)
        return None

    async def _apply(self, work: list[_Work], position: list[int]) -> list[bool]:
        """One transaction: claim the batch in the inbox, run the handlers in order, write their events."""
        applied: list[bool] = []
        async with self.bus.work(city=None) as uow:
            fresh = await claim_many(uow.conn, self.group_id, [w.envelope for w in work])
            i = 0
            while i < len(work):
                position[0] = i
                item = work[i]
                if item.envelope.event_id not in fresh:
                    applied.append(False)  # seen before, or twice in this batch
                    i += 1
                    continue
                fresh.discard(item.envelope.event_id)
                if item.batch_handler is not None:
                    run = [item]
                    j = i + 1
                    while (j < len(work) and work[j].batch_handler is item.batch_handler
                           and work[j].envelope.event_id in fresh):
                        fresh.discard(work[j].envelope.event_id)
                        run.append(work[j])
                        j += 1
                    with bound_contextvars(event_type=item.envelope.event_type, batch=len(run)), self._span(item):
                        await item.batch_handler(uow, [Incoming(w.envelope, w.event) for w in run])
                    applied.extend([True] * len(run))
                    i = j
                    continue
                env = item.envelope
                with bound_contextvars(city=env.city, correlation_id=env.correlation_id,
                                       event_id=str(env.event_id), event_type=env.event_type), \
                        self._span(item):
                    assert item.handler is not None
                    await item.handler(uow.caused_by(env), item.event)  # type: ignore[arg-type]
                applied.append(True)
                i += 1
            position[0] = len(work)
        return applied

    def _span(self, item: _Work) -> Any:
        """The consumer span of one event, continuing its producer's trace (the ``traceparent`` header); a set-based
        batch runs in the span of its first event."""
        env = item.envelope
        return tracing.span(f"{item.record.topic} process {env.event_type}", parent=item.record.headers,
                            kind=SpanKind.CONSUMER, **{"messaging.system": "kafka",
                                                       "messaging.destination.name": item.record.topic,
                                                       "messaging.consumer.group.name": self.group_id,
                                                       "pasarkota.event_id": str(env.event_id),
                                                       "pasarkota.city": env.city})

    async def _process_one(self, item: _Work) -> None:
        env = item.envelope
        with bound_contextvars(city=env.city, correlation_id=env.correlation_id, event_id=str(env.event_id),
                               event_type=env.event_type, consumer=self.name):
            attempts = 0
            waited_for_city = False
            while True:
                attempts += 1
                try:
                    applied = await self._apply([item], [0])
                except Exception as exc:  # a handler bug, a bad message, or an outage
                    if is_outage(exc):
                        await self._back_off_for_outage(exc)
                    EVENTS_FAILED.labels(self.bus.service, self.name, env.event_type).inc()
                    if attempts >= self.bus.max_attempts:
                        if not waited_for_city and await self.bus.wait_for_city(env.city):
                            waited_for_city, attempts = True, 0  # a city added a moment ago: try again
                            continue
                        await self._guarded(self._dead_letter_all, [(item.record, exc, attempts)])
                        return
                    log.warning("handler failed; retrying", attempt=attempts, error=repr(exc)[:300],
                                topic=item.record.topic, partition=item.record.partition,
                                offset=item.record.offset)
                    await asyncio.sleep(self.bus.backoff * 2 ** (attempts - 1))
                    continue
                self.outage_backoff = 0.0
                self._count(env, applied[0])
                if not applied[0]:
                    log.info("duplicate event skipped")
                return

    async def _guarded(self, fn: Callable[..., Awaitable[None]], arg: Any) -> None:
        """Run a kernel step (dead-lettering); an outage nacks the batch after a back-off, as for handlers.

        Any other failure of the step is retried once in its minimal form (no copied headers, no stack), so no
        shape of message can make dead-lettering itself fail; only if even that fails is the batch nacked.
        """
        try:
            await fn(arg)
            return
        except Exception as exc:
            if is_outage(exc):
                await self._back_off_for_outage(exc)
            log.error("dead-lettering failed; retrying in minimal form", error=repr(exc)[:300])
        try:
            await fn(arg, minimal=True)
        except Exception as exc:
            if is_outage(exc):
                await self._back_off_for_outage(exc)
            raise

    def _count(self, envelope: Envelope, applied: bool) -> None:
        if applied:
            EVENTS_CONSUMED.labels(self.bus.service, self.name, envelope.event_type).inc()
        else:
            EVENTS_DUPLICATE.labels(self.bus.service, self.name).inc()

    async def _back_off_for_outage(self, exc: BaseException) -> None:
        """Wait, then raise: NACK_ON_ERROR rewinds the batch, which is read again once the database is back."""
        self.outage_backoff = min(max(self.outage_backoff * 2, 0.5), 5.0)
        log.warning("database unavailable; the batch will be read again", error=repr(exc)[:300],
                    backoff=self.outage_backoff)
        await asyncio.sleep(self.outage_backoff)
        raise InfrastructureUnavailable(repr(exc)) from exc

    # ------------------------------------------------------------------------------------ dead letters

    async def _dead_letter_all(self, failures: list[tuple[Any, BaseException, int]], *, minimal: bool = False) -> None:
        """Dead-letter each record once: an outbox row for ``<topic>.dlq`` claimed by its source offset."""
        ids = [uuid.uuid5(DEAD_LETTER_NAMESPACE, f"{self.group_id}/{r.topic}/{r.partition}/{r.offset}")
               for r, _e, _a in failures]
        written: list[tuple[Any, BaseException, int, bool]] = []
        async with self.bus.work(city=None) as uow:
            fresh = {row["event_id"] for row in await uow.conn.fetch(
                "INSERT INTO inbox(consumer, event_id, event_type)"
                " SELECT $1, unnest($2::uuid[]), 'dead-letter' ON CONFLICT DO NOTHING RETURNING event_id",
                self.group_id, ids)}
            rows = []
            for dead_id, (record, exc, attempts) in zip(ids, failures, strict=True):
                if dead_id not in fresh:
                    continue  # this very offset was dead-lettered before (a re-read batch)
                body = record.value or b""
                headers = self._dlq_headers(record, exc, attempts, minimal=minimal)
                truncated = len(body) > DLQ_INLINE_MAX
                if truncated:
                    await uow.conn.execute(
                        "INSERT INTO dead_letter_bodies(id, consumer, source_topic, source_partition, source_offset,"
                        " body) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                        dead_id, self.group_id, record.topic, record.partition, record.offset, body)
                    headers.update({"x-dlq-body-truncated": "true", "x-dlq-body-size": str(len(body)),
                                    "x-dlq-body-ref": f"{self.bus.service}.dead_letter_bodies/{dead_id}"})
                    body = body[:DLQ_PREFIX_BYTES]
                city = headers.get("city") or "unknown"
                rows.append((dead_id, dlq_topic(record.topic), _text(record.key, 1000), "DeadLetter",
                             _text(city, 64), headers, body))
                written.append((record, exc, attempts, truncated))
            if rows:
                await uow.conn.executemany(
                    "INSERT INTO outbox(event_id, topic, message_key, event_type, city, headers, body)"
                    " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)", rows)
        for record, exc, attempts, truncated in written:
            EVENTS_DEAD_LETTERED.labels(self.bus.service, self.name, record.topic).inc()
            if truncated:
                DEAD_LETTERS_TRUNCATED.labels(self.bus.service, self.name, record.topic).inc()
            log.error("message dead-lettered", topic=record.topic, partition=record.partition,
                      offset=record.offset, error=_text(str(exc), 300), error_type=type(exc).__name__,
                      attempts=attempts, size=len(record.value or b""), truncated=truncated)

    def _dlq_headers(self, record: Any, exc: BaseException, attempts: int, *, minimal: bool = False
                     ) -> dict[str, str]:
        headers: dict[str, str] = {}
        budget = DLQ_ORIGINAL_HEADERS_MAX
        for k, v in () if minimal else record.headers or ():
            name, value = _text(k, 200), _text(v, 2000)
            budget -= len(name) + len(value)
            if budget < 0:
                headers["x-dlq-headers-truncated"] = "true"
                break
            headers[name] = value
        headers.update({
            "x-dlq-consumer": self.group_id,
            "x-dlq-source-topic": record.topic,
            "x-dlq-source-partition": str(record.partition),
            "x-dlq-source-offset": str(record.offset),
            "x-dlq-error-type": type(exc).__name__,
            "x-dlq-error": _text(str(exc), 2000),
            "x-dlq-stack": "" if minimal else _text("".join(traceback.format_exception(exc)), 8000)[-4000:],
            "x-dlq-attempts": str(attempts),
            "x-dlq-failed-at": datetime.now(UTC).isoformat(),
        })
        if record.key is not None and _text(record.key) != _text(record.key, 1000):
            headers["x-dlq-key-truncated"] = "true"
        return headers

    # ------------------------------------------------------------------------------------- visibility

    def _log_nack(self, records: Sequence[Any]) -> None:
        CONSUMER_NACKS.labels(self.bus.service, self.name).inc()
        now = time.monotonic()
        if now - self._last_nack_log < 5.0:
            return
        self._last_nack_log = now
        spans: dict[tuple[str, int], list[int]] = {}
        for r in records:
            spans.setdefault((r.topic, r.partition), []).append(r.offset)
        log.warning("batch nacked; it will be read again",
                    partitions=[f"{t}[{p}]@{min(o)}-{max(o)}" for (t, p), o in sorted(spans.items())])

    def _record_lag(self, msg: Any, records: Sequence[Any]) -> None:
        consumer = getattr(msg, "consumer", None)
        if consumer is None:
            return
        try:
            from aiokafka import TopicPartition

            last: dict[tuple[str, int], int] = {}
            for r in records:
                last[(r.topic, r.partition)] = max(last.get((r.topic, r.partition), -1), r.offset)
            for (topic, partition), offset in last.items():
                high = consumer.highwater(TopicPartition(topic, partition))
                if high is not None:
                    CONSUMER_LAG.labels(self.bus.service, self.group_id, topic, str(partition)).set(
                        max(high - offset - 1, 0))
        except Exception:  # visibility must never break consumption
            pass

    def oldest_in_flight_seconds(self) -> float:
        return max(time.time() - self.in_flight_since, 0.0) if self.in_flight_since else 0.0

    def lag(self) -> int:
        total = 0
        for metric in CONSUMER_LAG.collect():
            for sample in metric.samples:
                if sample.labels.get("group") == self.group_id:
                    total += int(sample.value)
        return total


class EventBus:
    """The service's FastStream Kafka broker plus its consumers."""

    def __init__(self, service: str, bootstrap: str, *, max_attempts: int = 3, backoff_ms: int = 200,
                 batch_size: int = 500, store: StoreFactory | None = None,
                 security: KafkaSecurity = PLAINTEXT) -> None:
        from shared.uow import Work

        self.service = service
        self.bootstrap = bootstrap
        self.security = security
        self.batch_size = batch_size
        self.broker = KafkaBroker(bootstrap, acks="all", enable_idempotence=True, client_id=service,
                                  logger=None, security=security.faststream(), **security.broker_options())
        self._pool: asyncpg.Pool | None = None
        self.work = Work(self._get_pool, store or (lambda conn: None))
        self.max_attempts = max_attempts
        self.backoff = backoff_ms / 1000
        self.consumers: list[EventConsumer] = []
        self.rebuilds: dict[str, ProjectionRebuild] = {}

    def _get_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("database pool not started")
        return self._pool

    def consumer(self, name: str, topics: list[str]) -> EventConsumer:
        consumer = EventConsumer(self, name, topics)
        self.consumers.append(consumer)
        return consumer

    def rebuild(self, name: str, topics: list[str], *, tables: list[str]) -> ProjectionRebuild:
        """Declare ``tables`` a projection of the compacted ``topics``, rebuildable from offset 0
        (``shared.projections``; ``POST /ops/projections/{name}/rebuild``, ``pasarkota projections rebuild``)."""
        from shared.projections import ProjectionRebuild

        self.rebuilds[name] = ProjectionRebuild(self, name, topics, tables)
        return self.rebuilds[name]

    async def start(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        await self.broker.start()

    async def stop(self) -> None:
        await self.broker.stop()

    async def ping(self) -> bool:
        try:
            return bool(await self.broker.ping(timeout=2.0))
        except Exception:
            return False

    def stall_report(self) -> dict[str, dict[str, float]]:
        """Per consumer group: messages behind the head and the age of the oldest message in flight."""
        for c in self.consumers:
            CONSUMER_OLDEST_IN_FLIGHT.labels(self.service, c.group_id).set(c.oldest_in_flight_seconds())
        return {c.group_id: {"lag": c.lag(), "oldest_in_flight_seconds": round(c.oldest_in_flight_seconds(), 1)}
                for c in self.consumers}

    async def wait_for_city(self, city: str, timeout: float | None = None) -> bool:
        """True when ``city`` was unknown to this process and became known within ``timeout`` (try the message
        again); False at once when it was known already (the failure is not about it) or when it did not appear.

        A city added at runtime (issue #14) reaches every directory within about a second, independently of the
        other topics, so an event about it may come first: it waits, re-reading the ``cities`` projection."""
        from shared import city_directory
        from shared.cities import all_cities

        not_coming: dict[str, float] = self.__dict__.setdefault("_cities_not_coming", {})
        if city in all_cities() or self._pool is None or not_coming.get(city, 0.0) > time.monotonic() \
                or len(not_coming) >= 1000:
            return False  # known (not the cause), or waited for in vain a moment ago: no second wait
        deadline = time.monotonic() + (CITY_WAIT_SECONDS if timeout is None else timeout)
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            try:
                async with self._pool.acquire() as conn:
                    await city_directory.load(conn)
            except Exception as exc:  # an outage: the usual path takes over after the wait
                log.warning("city directory reload failed", error=repr(exc)[:200])
            if city in all_cities():
                log.info("event waited for its city to be added", city=city)
                return True
        now = time.monotonic()
        for stale in [c for c, until in not_coming.items() if until < now][:1000]:
            del not_coming[stale]
        if len(not_coming) < 1000:  # a flood of one unknown city costs one wait a minute, per consumer
            not_coming[city] = now + 60
        return False


# How long an event about an unknown city waits for it before it is dead-lettered (EventBus.wait_for_city).
CITY_WAIT_SECONDS = 5.0

