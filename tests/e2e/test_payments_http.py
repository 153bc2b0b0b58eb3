"""Payments' HTTP edge on the real platform: the webhook's body limit is the kernel's (413 before the body is
read), and an event caused by a request carries that request's X-Correlation-ID; refunds reach the acquirer
after commit (the refund worker)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from tests.catalog.support import admin_db_url
from tests.conftest import Platform, eventually
from tests.e2e.test_payments_webhook import CITY, Payments, types_of

pytestmark = pytest.mark.integration


@pytest.fixture
def pay(platform: Platform) -> Payments:
    return Payments(platform)


async def test_an_oversized_notification_is_refused_413_before_its_body_is_read(platform: Platform) -> None:
    """Only headers are sent, declaring 100 MB: the answer comes at once, without waiting for a byte of body."""
    url = urlsplit(platform.url("payments"))
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write((f"POST /acquirer/{CITY}/notifications HTTP/1.1\r\nHost: {url.netloc}\r\n"
                      "Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n").encode())
        await writer.drain()
        response = b""
        while b"\r\n\r\n" not in response or not response.rstrip().endswith(b"}"):  # head and body may
            chunk = await asyncio.wait_for(reader.read(65536), timeout=10)        # arrive in two packets
            if not chunk:
                break
            response += chunk
    finally:
        writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert b"content-type: application/problem+json" in head.lower()
    assert b"body-too-large" in body and b"16384" in body


async def test_a_chunked_notification_past_the_limit_is_cut_off_413(platform: Platform) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(64):  # 64 × 1 KiB, streamed without a Content-Length
            yield b"x" * 1024

    async with httpx.AsyncClient() as client:
        response = await client.post(f"{platform.url('payments')}/acquirer/{CITY}/notifications", content=chunks())
        small = await client.post(f"{platform.url('payments')}/acquirer/{CITY}/notifications", content=b"{}")
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert small.status_code == 401  # under the limit: the signature check answers, as before


async def _refund_rows(platform: Platform, payment_id: str) -> list[dict[str, object]]:
    conn = await asyncpg.connect(admin_db_url(platform))
    try:
        rows = await conn.fetch("SELECT amount, acquirer_refund_reference, correlation_id FROM payments.refunds"
                                " WHERE payment_id = $1::uuid", payment_id)
        return [dict(r) for r in rows]
    finally:
        await conn.close()


async def test_a_staff_refund_carries_the_requests_correlation_id_and_reaches_the_acquirer(
        pay: Payments, platform: Platform) -> None:
    intent = await pay.create(amount=21_000)
    await pay.simulate(intent["qris"])
    await pay.wait_status(intent["order_id"], "succeeded")
    correlation_id = str(uuid.uuid4())
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{pay.base}/cities/{CITY}/payments/{intent['payment_id']}/refunds",
                                     json={"amount": 1_000, "reason": "goodwill"},
                                     headers={**pay.staff, "X-Correlation-ID": correlation_id})
    assert response.status_code == 201, response.text
    assert response.headers["x-correlation-id"] == correlation_id
    events = await pay.events(intent["order_id"], until="PaymentRefunded")
    refunded = [e for e in events if e["event_type"] == "PaymentRefunded"]
    assert [e["payload"]["amount"] for e in refunded] == [1_000]
    assert refunded[0]["correlation_id"] == correlation_id
    assert types_of(events)[:2] == ["PaymentRequested", "PaymentSucceeded"]

    async def sent() -> list[dict[str, object]] | None:
        rows = await _refund_rows(platform, intent["payment_id"])
        return rows if rows and all(r["acquirer_refund_reference"] for r in rows) else None

    rows = await eventually(sent, what="the refund confirmed by the acquirer")
    assert [(r["amount"], r["correlation_id"]) for r in rows] == [(1_000, correlation_id)]
