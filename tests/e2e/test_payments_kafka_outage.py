"""Kafka goes away during a payment burst: the webhook keeps answering 2xx and storing notifications, payments
stays ready (Kafka reported as degraded, not as a reason to leave the load balancer), and everything stored
reaches Kafka once the broker is back.

Runs on a broker and a Postgres server of its own (the session's are shared by every other test).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from deploy.local.kafka import KafkaBroker
from deploy.local.postgres import LocalPostgres
from deploy.local.procs import free_port
from deploy.provision import DATA_SERVICES, DATABASE_NAME, admin_on_database, ensure_topics, provision_database
from payments.simulator import notification_body, scan, signed_request
from shared.cities import get_city
from shared.events.orders import OrderPaymentRequested
from tests.conftest import Infra, Platform, eventually
from tests.e2e.test_payments_webhook import CITY, payment_events, publish

pytestmark = pytest.mark.integration
N = 30


@pytest.fixture(scope="module")
def own_payments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, KafkaBroker]]:
    work = tmp_path_factory.mktemp("kafka-outage")
    kafka = KafkaBroker(work / "kafka", port=free_port(), controller_port=free_port())
    pg = LocalPostgres(work / "postgres", port=free_port())
    threads = [threading.Thread(target=kafka.start), threading.Thread(target=pg.start)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    async def provision() -> None:
        await provision_database(pg.admin_url, DATA_SERVICES)
        await ensure_topics(kafka.bootstrap)

    asyncio.run(provision())
    home = work / "platform"
    home.mkdir()
    platform = Platform(Infra(kafka.bootstrap, pg.admin_url, work), home)
    try:
        platform.start("payments")
        platform.wait_ready(["payments"])
        yield platform, kafka
    finally:
        platform.stop_all()
        kafka.stop()
        pg.stop()


def readyz(platform: Platform) -> tuple[int, dict]:  # type: ignore[type-arg]
    r = httpx.get(platform.url("payments") + "/readyz", timeout=10)
    return r.status_code, r.json()


async def test_the_webhook_keeps_storing_payments_while_kafka_is_down_and_drains_after(
        own_payments: tuple[Platform, KafkaBroker], tmp_path: Path) -> None:
    platform, kafka = own_payments
    orders = [f"outage-{uuid.uuid4()}" for _ in range(N)]
    await publish(platform, [OrderPaymentRequested(order_id=o, buyer_id="b", amount=12_000 + i,
                                                   vendor_amounts={"v": 12_000 + i}) for i, o in enumerate(orders)])

    async def all_requested() -> dict[str, str] | None:
        found = {e["payload"]["order_id"]: e["payload"]["qris"] for e in await payment_events(platform, set(orders))
                 if e["event_type"] == "PaymentRequested"}
        return found if len(found) == N else None

    qris = await eventually(all_requested, timeout=120, what="every PaymentRequested")

    await asyncio.to_thread(kafka.stop)
    try:
        async def degraded() -> tuple[int, dict] | None:  # type: ignore[type-arg]
            status, body = await asyncio.to_thread(readyz, platform)
            return (status, body) if body["checks"].get("kafka") is False else None

        status, body = await eventually(degraded, timeout=60, what="payments noticing Kafka is gone")
        assert status == 200 and body["ready"] is True and body["degraded"] == ["kafka"], body
        assert body["checks"]["postgres"] is True

        secret = get_city(CITY).webhook_secret
        async with httpx.AsyncClient(base_url=platform.url("payments"), timeout=10) as client:
            for order_id in orders:
                body_bytes = notification_body(scan(qris[order_id]))
                path, headers = signed_request(CITY, secret, body_bytes)
                response = await client.post(path, content=body_bytes, headers=headers)
                assert response.status_code == 200, response.text
            metrics = (await client.get("/metrics")).text
        assert 'pasarkota_dependency_up{dependency="kafka",service="payments"} 0.0' in metrics

        conn = await asyncpg.connect(admin_on_database(platform.infra.admin_url, DATABASE_NAME))
        try:
            stored = await conn.fetchval("SELECT count(*) FROM payments.acquirer_notifications")
        finally:
            await conn.close()
        assert stored >= N, "every answered notification is stored while Kafka is down"
    finally:
        await asyncio.to_thread(kafka.start)

    async def all_succeeded() -> set[str] | None:
        done = {e["payload"]["order_id"] for e in await payment_events(platform, set(orders))
                if e["event_type"] == "PaymentSucceeded"}
        return done if done == set(orders) else None

    await eventually(all_succeeded, timeout=180, what="every PaymentSucceeded after Kafka returned")
    events = [e for e in await payment_events(platform, set(orders)) if e["event_type"] == "PaymentSucceeded"]
    assert len({e["event_id"] for e in events}) == N, "one PaymentSucceeded per order, none twice"
    status, body = await asyncio.to_thread(readyz, platform)
    assert status == 200 and body["degraded"] == []
