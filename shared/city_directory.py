"""Every process's projection of the city directory (issue #14): ``identity.city.v1`` → ``cities`` → ``shared.cities``.

Identity owns the directory (``POST /cities``) and publishes ``CityAdded`` / ``CityUpdated`` on the compacted
``identity.city.v1`` topic, key = slug. Each service with a schema:

* consumes the topic in its own group (``<service>.cities``): the document is checked again
  (``validate_document``: a forged or broken one is dead-lettered, never applied), upserted into its own
  ``cities`` table (kernel migration ``0005_cities.sql``; newer versions only) and applied to the process's
  directory at once, so ``get_city()`` knows the city within a second;
* loads that table at start, before it serves (a restarted process knows its cities even while Kafka is away);
* re-reads the table every :data:`REFRESH_SECONDS`, so a replica whose group partner took the event learns it.

A process without a schema (the portal) follows the topic itself with a group-less reader from the beginning —
the compacted topic holds the latest document of every city, so that is the whole directory.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import asyncpg

from shared.cities import apply_document, validate_document
from shared.envelope import decode
from shared.events.identity import CITY, CityAdded, CityUpdated
from shared.logging import get_logger
from shared.uow import PgUnitOfWork

if TYPE_CHECKING:
    from shared.service import ServiceKernel

log = get_logger(__name__)
REFRESH_SECONDS = 2.0


async def project_city(uow: PgUnitOfWork[Any], event: CityAdded | CityUpdated) -> None:
    """Upsert the city's document (newer versions only) into this schema's ``cities`` and apply it here."""
    document = validate_document(event.document)  # raises: a broken document is dead-lettered, not applied
    if document["slug"] != event.slug:
        raise ValueError(f"city event for {event.slug!r} carries the document of {document['slug']!r}")
    await uow.conn.execute(
        "INSERT INTO cities (slug, version, document) VALUES ($1, $2, $3::jsonb)"
        " ON CONFLICT (slug) DO UPDATE SET version = EXCLUDED.version, document = EXCLUDED.document,"
        " updated_at = now() WHERE cities.version < EXCLUDED.version",
        event.slug, event.version, json.dumps(document))
    if apply_document(document, event.version):
        log.info("city applied", city=event.slug, version=event.version)


async def load(conn: asyncpg.Connection) -> int:
    """Apply every city of this schema's ``cities`` table to the process's directory; returns how many changed."""
    changed = 0
    for row in await conn.fetch("SELECT slug, version, document FROM cities ORDER BY slug"):
        document = row["document"]
        if isinstance(document, str):
            document = json.loads(document)
        if apply_document(document, row["version"]):
            changed += 1
    return changed


def attach(kernel: ServiceKernel) -> None:
    """For a service with a schema: the ``cities`` consumer and the refresher (the start-up load is the kernel's)."""
    cities = kernel.bus.consumer("cities", [CITY])
    cities.on(CityAdded)(project_city)
    cities.on(CityUpdated)(project_city)

    async def refresh_city_directory(k: ServiceKernel) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                async with k.db().acquire() as conn:
                    if changed := await load(conn):
                        log.info("city directory refreshed", changed=changed)
            except Exception as exc:  # an outage: the next round tries again
                log.warning("city directory refresh failed", error=repr(exc)[:200])

    kernel.worker(refresh_city_directory)


def follow_topic(kernel: ServiceKernel) -> None:
    """For a process without a schema (the portal): read the compacted topic from the beginning, for ever."""

    async def follow_city_directory(k: ServiceKernel) -> None:
        from aiokafka import AIOKafkaConsumer

        s = k.settings
        while True:
            consumer = AIOKafkaConsumer(CITY, bootstrap_servers=s.kafka_bootstrap_servers, group_id=None,
                                        enable_auto_commit=False, auto_offset_reset="earliest",
                                        client_id=f"{k.name}-city-directory", **k.kafka_security.client_options())
            try:
                await consumer.start()
                while True:
                    batches = await consumer.getmany(timeout_ms=1000, max_records=500)
                    for records in batches.values():
                        for record in records:
                            apply_record(record.value or b"")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Kafka away: the seed and what was read stay; try again
                log.warning("city directory reader failed; retrying", error=repr(exc)[:200])
                await asyncio.sleep(2)
            finally:
                await consumer.stop()

    kernel.worker(follow_city_directory)


def apply_record(value: bytes) -> bool:
    """One record of ``identity.city.v1`` applied to this process (a bad one is logged and skipped)."""
    try:
        _envelope, event = decode(value)
        if not isinstance(event, (CityAdded, CityUpdated)):
            return False
        document = validate_document(event.document)
        return apply_document(document, event.version)
    except Exception as exc:
        log.warning("city record skipped", error=repr(exc)[:300])
        return False
