"""A payments process killed (SIGKILL) in the middle of a burst of notifications loses and duplicates nothing:
every acknowledged notification was stored before its 2xx, and the acquirer's retries (same request id) of
the unacknowledged ones are safe."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from payments.simulator import notification_body, scan, signed_request
from shared.cities import get_city
from shared.events.orders import OrderPaymentRequested
from tests.conftest import Platform, eventually
from tests.e2e.test_payments_webhook import CITY, payment_events, publish, types_of

pytestmark = pytest.mark.integration
N = 80


async def test_killing_payments_mid_burst_loses_and_duplicates_nothing(platform: Platform) -> None:
    orders = [f"fault-{uuid.uuid4()}" for _ in range(N)]
    await publish(platform, [OrderPaymentRequested(order_id=o, buyer_id="b", amount=10_000 + i,
                                                   vendor_amounts={"v": 10_000 + i}) for i, o in enumerate(orders)])

    async def all_requested() -> dict[str, str] | None:
        found = {e["payload"]["order_id"]: e["payload"]["qris"] for e in await payment_events(platform, set(orders))
                 if e["event_type"] == "PaymentRequested"}
        return found if len(found) == N else None

    qris = await eventually(all_requested, timeout=120, what="every PaymentRequested")
    secret = get_city(CITY).webhook_secret
    base = platform.url("payments")
    acked: set[str] = set()

    async def deliver(order_id: str) -> None:
        """What a gateway does: retry with the same request id until it gets a 2xx."""
        body, request_id = notification_body(scan(qris[order_id])), f"fault-{uuid.uuid4().hex}"
        async with httpx.AsyncClient(timeout=5) as client:
            while True:
                path, headers = signed_request(CITY, secret, body, request_id=request_id)
                try:
                    response = await client.post(base + path, content=body, headers=headers)
                    if response.status_code == 200:
                        acked.add(order_id)
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)

    semaphore = asyncio.Semaphore(8)

    async def limited(order_id: str) -> None:
        async with semaphore:
            await deliver(order_id)

    burst = asyncio.gather(*(limited(o) for o in orders))
    await eventually(lambda: _true(len(acked) >= N // 2), what="half the burst acknowledged", interval=0.01)
    await asyncio.to_thread(platform.kill, "payments")
    killed_after = len(acked)
    await asyncio.to_thread(platform.restart, "payments")
    await asyncio.wait_for(burst, 120)
    assert killed_after < N and acked == set(orders)

    async def every_order_paid() -> list[dict[str, Any]] | None:
        events = await payment_events(platform, set(orders))
        paid = {e["payload"]["order_id"] for e in events if e["event_type"] == "PaymentSucceeded"}
        return events if paid == set(orders) else None

    await eventually(every_order_paid, timeout=120, what="a PaymentSucceeded for every order")
    await asyncio.sleep(2.0)  # a duplicate would arrive now
    events = await payment_events(platform, set(orders))
    # A relay killed between Kafka's ack and marking its rows sent re-publishes them with the same event id
    # (consumers' inboxes drop those); a second *effect* would be a second event id for the same order.
    effects: dict[str, set[str]] = {}
    for e in events:
        if e["event_type"] == "PaymentSucceeded":
            effects.setdefault(e["payload"]["order_id"], set()).add(e["event_id"])
    assert {o: len(ids) for o, ids in effects.items()} == {o: 1 for o in orders}
    assert "PaymentRefunded" not in types_of(events)


async def _true(value: bool) -> bool:
    return value
