"""Helpers for the catalog's end-to-end tests: publish events as another service would, read what catalog emitted."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from deploy.provision import DATABASE_NAME
from shared.envelope import EventPayload, build_event
from shared.ids import demo_id
from tests.conftest import Platform
from tests.integration.probe import read_topic


def vendor_id(city: str, i: int) -> str:
    return demo_id("vendor", city, f"vendor-{i:02d}")


def market_id(city: str, slug: str) -> str:
    return demo_id("market", city, slug)


def vendor_headers(platform: Platform, city: str, i: int) -> dict[str, str]:
    return platform.headers(city, "vendor", vendor_id=vendor_id(city, i))


async def publish(bootstrap: str, payloads: list[EventPayload], city: str, *,
                  envelopes: list[Any] | None = None) -> list[Any]:
    """Publish events to Kafka exactly as an outbox relay would (acks=all, idempotent); returns the envelopes."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        built = envelopes or [build_event(p, city=city, correlation_id="catalog-e2e") for p in payloads]
        futures = [await producer.send(e.topic, value=e.body(), key=e.key.encode(),
                                       headers=[(k, v.encode()) for k, v in e.headers().items()]) for e in built]
        for f in futures:
            await f
        return built
    finally:
        await producer.stop()


async def catalog_events(bootstrap: str, topic: str, needle: str) -> list[dict[str, Any]]:
    """Envelopes (as dicts) on ``topic`` whose JSON contains ``needle``."""
    return [json.loads(value) for _, value, _ in await read_topic(bootstrap, topic, needle.encode())]


def by_type(events: list[dict[str, Any]], event_type: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event_type"] == event_type]


def admin_db_url(platform: Platform) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(platform.infra.admin_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{DATABASE_NAME}", parts.query, ""))


async def inbox_has(platform: Platform, event_ids: list[str]) -> bool:
    """Whether catalog's consumers have processed (or dropped as duplicates) all these event ids."""
    conn = await asyncpg.connect(admin_db_url(platform))
    try:
        n = await conn.fetchval("SELECT count(DISTINCT event_id) FROM catalog.inbox WHERE event_id::text = ANY($1)",
                                event_ids)
        return n == len(set(event_ids))
    finally:
        await conn.close()


async def product(platform: Platform, city: str, pid: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=platform.url("catalog")) as client:
        r = await client.get(f"/cities/{city}/products/{pid}")
        r.raise_for_status()
        return dict(r.json())
