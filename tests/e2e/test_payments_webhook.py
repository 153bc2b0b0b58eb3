"""Payments on the real platform: intents from OrderPaymentRequested, the signed acquirer webhook, the edge
cases (replay, stale, forged, wrong amount, late, cancelled, twice), refunds and the settlement report.

Intents are created without depending on orders: the test publishes OrderPaymentRequested itself.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from payments.simulator import notification_body, scan, signed_request
from shared.cities import get_city
from shared.envelope import EventPayload, build_event
from shared.events.orders import OrderCancelled, OrderPaymentRequested
from tests.catalog.support import admin_db_url
from tests.conftest import Platform, eventually

pytestmark = pytest.mark.integration

CITY = "cimahi"


async def publish(platform: Platform, payloads: Iterable[EventPayload], city: str = CITY) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=platform.infra.bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for payload in payloads:
            out = build_event(payload, city=city)
            await producer.send_and_wait(out.topic, out.body(), key=out.key.encode(),
                                         headers=[(k, v.encode()) for k, v in out.headers().items()])
    finally:
        await producer.stop()


async def payment_events(platform: Platform, order_ids: set[str]) -> list[dict[str, Any]]:
    """Every event on payments.payment.v1 for these orders, in order per order."""
    consumer = AIOKafkaConsumer(bootstrap_servers=platform.infra.bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition("payments.payment.v1", p)
                 for p in consumer.partitions_for_topic("payments.payment.v1") or set()]
        if not parts:
            await consumer._client.force_metadata_update()
            parts = [TopicPartition("payments.payment.v1", p)
                     for p in consumer.partitions_for_topic("payments.payment.v1") or set()]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        end = await consumer.end_offsets(parts)
        found = []
        while [tp for tp in parts if await consumer.position(tp) < end[tp]]:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for r in records:
                    if r.key and r.key.decode() in order_ids:
                        found.append(json.loads(r.value))
        return found
    finally:
        await consumer.stop()


def types_of(events: list[dict[str, Any]]) -> list[str]:
    return [e["event_type"] for e in events]


class Payments:
    def __init__(self, platform: Platform, city: str = CITY) -> None:
        self.p = platform
        self.city = city
        self.base = platform.url("payments")
        self.staff = platform.headers(city, "city_admin")

    async def create(self, amount: int = 25_000, vendor_amounts: dict[str, int] | None = None,
                     buyer_id: str | None = None) -> dict[str, Any]:
        order_id = str(uuid.uuid4())
        await publish(self.p, [OrderPaymentRequested(
            order_id=order_id, buyer_id=buyer_id or f"buyer-{order_id[:8]}", amount=amount,
            vendor_amounts=vendor_amounts or {"vendor-x": amount})], self.city)
        return await self.wait_status(order_id, "pending")

    async def get(self, order_id: str) -> httpx.Response:
        async with httpx.AsyncClient() as client:
            return await client.get(f"{self.base}/cities/{self.city}/payments/by-order/{order_id}",
                                    headers=self.staff)

    async def wait_status(self, order_id: str, status: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            r = await self.get(order_id)
            return r.json() if r.status_code == 200 and r.json()["status"] == status else None
        return await eventually(probe, what=f"payment of {order_id} {status}")

    async def notify(self, qris: str, *, amount: int | None = None, request_id: str | None = None,
                     timestamp: int | None = None, secret: str | None = None, body: bytes | None = None,
                     reference: str | None = None) -> httpx.Response:
        body = body if body is not None else notification_body(scan(qris), amount=amount,
                                                               acquirer_reference=reference)
        path, headers = signed_request(self.city, secret or get_city(self.city).webhook_secret, body,
                                       request_id=request_id, timestamp=timestamp)
        async with httpx.AsyncClient() as client:
            return await client.post(self.base + path, content=body, headers=headers)

    async def simulate(self, qris: str, **options: Any) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=30) as client:
            r = await client.post(f"{self.base}/simulator/{self.city}/pay", json={"qris": qris, **options})
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def expire(self, **target: str) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=30) as client:
            r = await client.post(f"{self.base}/simulator/{self.city}/expire", json=target)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def events(self, order_id: str, until: str | None = None) -> list[dict[str, Any]]:
        async def probe() -> list[dict[str, Any]] | None:
            found = await payment_events(self.p, {order_id})
            return found if until is None or until in types_of(found) else None
        return await eventually(probe, what=f"{until} for {order_id}")


@pytest.fixture
def pay(platform: Platform) -> Payments:
    return Payments(platform)


async def test_intent_has_a_dynamic_qris_and_a_scannable_image(pay: Payments, platform: Platform) -> None:
    import zxingcpp
    from PIL import Image

    intent = await pay.create(amount=37_500)
    decoded = scan(intent["qris"])
    assert decoded.amount == 37_500 and intent["merchant_name"] == get_city(CITY).merchant.name
    events = await pay.events(intent["order_id"], until="PaymentRequested")
    requested = events[0]["payload"]
    assert requested["payment_id"] == intent["payment_id"] and requested["qris"] == intent["qris"]
    async with httpx.AsyncClient() as client:
        png = await client.get(pay.base + intent["qr_png"])
        svg = await client.get(pay.base + intent["qr_svg"])
        missing = await client.get(f"{pay.base}/cities/{CITY}/payments/{uuid.uuid4()}/qr.png")
    assert png.headers["content-type"] == "image/png" and svg.text.lstrip().startswith("<")
    assert missing.status_code == 404
    with Image.open(io.BytesIO(png.content)) as image:
        assert zxingcpp.read_barcodes(image.convert("L"))[0].text == intent["qris"]


async def test_only_the_buyer_of_the_order_or_city_staff_see_the_payment(pay: Payments,
                                                                         platform: Platform) -> None:
    intent = await pay.create(buyer_id="demo-buyer-cimahi-7")
    url = f"{pay.base}/cities/{CITY}/payments/by-order/{intent['order_id']}"
    async with httpx.AsyncClient() as client:
        own = await client.get(url, headers=platform.headers(CITY, "buyer", sub="demo-buyer-cimahi-7"))
        other = await client.get(url, headers=platform.headers(CITY, "buyer", sub="demo-buyer-cimahi-8"))
        other_city = await client.get(url, headers=platform.headers("tegal", "city_admin"))
        anonymous = await client.get(url)
        nul = await client.get(url + "%00", headers=pay.staff)
    # the kernel's one NUL rule (#18.9): a NUL anywhere in a request is 422 problem+json, before the route
    assert nul.status_code == 422 and nul.headers["content-type"].startswith("application/problem+json")
    assert own.status_code == 200 and own.json()["payment_id"] == intent["payment_id"]
    assert other.status_code == 404 and other_city.status_code == 403 and anonymous.status_code == 401


async def test_paid_once_and_a_replayed_request_changes_nothing(pay: Payments) -> None:
    intent = await pay.create()
    body = notification_body(scan(intent["qris"]))
    request_id = f"replay-{uuid.uuid4().hex}"
    first = await pay.notify(intent["qris"], body=body, request_id=request_id)
    again = await pay.notify(intent["qris"], body=body, request_id=request_id)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() and again.headers.get("x-pk-replay") == "true"
    await pay.wait_status(intent["order_id"], "succeeded")
    # The same payment again under a new request id (a gateway retry) is not a second payment either.
    retry = await pay.notify(intent["qris"], body=body)
    assert retry.status_code == 200
    events = await pay.events(intent["order_id"], until="PaymentSucceeded")
    await asyncio.sleep(1.0)
    events = await payment_events(pay.p, {intent["order_id"]})
    assert types_of(events) == ["PaymentRequested", "PaymentSucceeded"]
    assert events[1]["payload"]["amount"] == intent["amount"]


async def test_forged_missing_and_stale_signatures_are_refused(pay: Payments) -> None:
    intent = await pay.create()
    forged = await pay.notify(intent["qris"], secret="not-the-city-secret")
    stale = await pay.notify(intent["qris"], timestamp=int(time.time()) - 600)
    other_city_secret = await pay.notify(intent["qris"], secret=get_city("tegal").webhook_secret)
    async with httpx.AsyncClient() as client:
        missing = await client.post(f"{pay.base}/acquirer/{CITY}/notifications",
                                    content=notification_body(scan(intent["qris"])))
    for response, code in ((forged, "bad-signature"), (stale, "stale-timestamp"),
                           (other_city_secret, "bad-signature"), (missing, "missing-signature")):
        assert response.status_code == 401, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["type"].endswith(code)
    await asyncio.sleep(1.0)
    assert (await pay.get(intent["order_id"])).json()["status"] == "pending"


async def test_bad_input_is_a_4xx_and_nothing_is_paid(pay: Payments) -> None:
    intent = await pay.create()
    scanned = scan(intent["qris"])
    good = json.loads(notification_body(scanned))
    cases = {
        b"{not json": 400,
        json.dumps({**good, "amount": -25_000}).encode(): 422,
        json.dumps({**good, "amount": 25_000.5}).encode(): 422,
        json.dumps({**good, "amount": "25000"}).encode(): 422,
        json.dumps({**good, "amount": 10_000_001}).encode(): 422,
        json.dumps({**good, "paid_at": "yesterday"}).encode(): 422,
        json.dumps({k: v for k, v in good.items() if k != "bill_number"}).encode(): 422,
        json.dumps({**good, "bill_number": "PKNOSUCHBILL"}).encode(): 404,
        json.dumps({**good, "bill_number": "PK\u0000"}).encode(): 422,
        json.dumps(good).encode("utf-16"): 422,  # NUL bytes: the kernel's one NUL rule (#18.9), before the route
        json.dumps({**good, "reference_label": "caf\u00e9"}, ensure_ascii=False).encode("latin-1"): 400,  # not UTF-8
        b"[]": 422,
    }
    for body, status in cases.items():
        response = await pay.notify(intent["qris"], body=body)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    async with httpx.AsyncClient() as client:
        body = notification_body(scanned)
        path, headers = signed_request("atlantis", "x", body)
        unknown_city = await client.post(pay.base + path, content=body, headers=headers)
    assert unknown_city.status_code == 404
    await asyncio.sleep(1.0)
    assert (await pay.get(intent["order_id"])).json()["status"] == "pending"


async def test_wrong_amount_is_recorded_alerted_and_never_paid(pay: Payments) -> None:
    intent = await pay.create(amount=40_000)
    response = await pay.notify(intent["qris"], amount=39_000)
    assert response.status_code == 200
    events = await pay.events(intent["order_id"], until="PaymentAmountMismatch")
    mismatch = events[-1]["payload"]
    assert (mismatch["expected"], mismatch["notified"]) == (40_000, 39_000)
    assert "PaymentSucceeded" not in types_of(events)
    assert (await pay.get(intent["order_id"])).json()["status"] == "pending"
    async with httpx.AsyncClient() as client:
        metrics = (await client.get(pay.base + "/metrics")).text
    assert f'pasarkota_payment_amount_mismatch_total{{city="{CITY}"}}' in metrics


async def test_late_payment_is_refunded_never_succeeded(pay: Payments) -> None:
    intent = await pay.create()
    result = await pay.simulate(intent["qris"], late=True)
    assert result["notifications"][0]["status_code"] == 200
    events = await pay.events(intent["order_id"], until="PaymentRefunded")
    assert types_of(events) == ["PaymentRequested", "PaymentExpired", "PaymentRefunded"]
    assert events[-1]["payload"]["reason"] == "late_payment"
    assert events[-1]["payload"]["amount"] == intent["amount"]
    assert (await pay.get(intent["order_id"])).json()["status"] == "expired"


async def test_payment_for_a_cancelled_order_is_refunded(pay: Payments, platform: Platform) -> None:
    intent = await pay.create()
    await publish(platform, [OrderCancelled(order_id=intent["order_id"], reason="buyer_cancelled", paid=False)])
    await pay.wait_status(intent["order_id"], "cancelled")
    await pay.simulate(intent["qris"])
    events = await pay.events(intent["order_id"], until="PaymentRefunded")
    assert types_of(events) == ["PaymentRequested", "PaymentRefunded"]
    assert events[-1]["payload"]["reason"] == "order_cancelled"


async def test_second_payment_is_refunded_and_the_first_stands(pay: Payments) -> None:
    intent = await pay.create()
    result = await pay.simulate(intent["qris"], twice=True)
    assert [n["status_code"] for n in result["notifications"]] == [200, 200]
    events = await pay.events(intent["order_id"], until="PaymentRefunded")
    assert types_of(events) == ["PaymentRequested", "PaymentSucceeded", "PaymentRefunded"]
    assert events[-1]["payload"]["reason"] == "duplicate_payment"
    assert (await pay.get(intent["order_id"])).json()["status"] == "succeeded"


async def test_refund_is_idempotent_capped_and_for_staff_only(pay: Payments, platform: Platform) -> None:
    intent = await pay.create(amount=50_000)
    url = f"{pay.base}/cities/{CITY}/payments/{intent['payment_id']}/refunds"
    async with httpx.AsyncClient() as client:
        unpaid = await client.post(url, json={"amount": 1_000}, headers=pay.staff)
        assert unpaid.status_code == 409
        await pay.simulate(intent["qris"])
        await pay.wait_status(intent["order_id"], "succeeded")
        headers = {**pay.staff, "Idempotency-Key": f"k-{uuid.uuid4()}"}
        first = await client.post(url, json={"amount": 20_000, "reason": "vendor_rejected"}, headers=headers)
        again = await client.post(url, json={"amount": 20_000, "reason": "vendor_rejected"}, headers=headers)
        reused = await client.post(url, json={"amount": 5_000}, headers=headers)
        buyer = await client.post(url, json={"amount": 1}, headers=platform.headers(CITY, "buyer"))
        rest = await client.post(url, json={}, headers={**pay.staff, "Idempotency-Key": f"k-{uuid.uuid4()}"})
        nothing_left = await client.post(url, json={"amount": 1}, headers=pay.staff)
        negative = await client.post(url, json={"amount": -5}, headers=pay.staff)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert first.json()["payment_status"] == "partially_refunded"
    assert reused.status_code == 422 and buyer.status_code == 403 and negative.status_code == 422
    assert rest.status_code == 201 and rest.json()["amount"] == 30_000
    assert rest.json()["payment_status"] == "refunded"
    assert nothing_left.status_code == 409
    await asyncio.sleep(1.0)
    events = await pay.events(intent["order_id"])
    refunds = [e["payload"]["amount"] for e in events if e["event_type"] == "PaymentRefunded"]
    assert refunds == [20_000, 30_000]


async def test_settlement_totals_match_the_events(pay: Payments, platform: Platform) -> None:
    va, vb = f"v-{uuid.uuid4().hex[:8]}", f"v-{uuid.uuid4().hex[:8]}"
    intents = [await pay.create(amount=30_000, vendor_amounts={va: 20_000, vb: 10_000}),
               await pay.create(amount=12_000, vendor_amounts={va: 12_000}),
               await pay.create(amount=9_000, vendor_amounts={vb: 9_000})]
    for intent in intents:
        await pay.simulate(intent["qris"])
    await pay.simulate(intents[2]["qris"], amount=1)  # a mismatch on record
    for intent in intents:
        await pay.wait_status(intent["order_id"], "succeeded")
    async with httpx.AsyncClient() as client:
        refund = await client.post(f"{pay.base}/cities/{CITY}/payments/{intents[0]['payment_id']}/refunds",
                                   json={"amount": 6_000}, headers=pay.staff)
        assert refund.status_code == 201
        orders = {i["order_id"] for i in intents}

        async def all_events() -> list[dict[str, Any]] | None:
            found = await payment_events(platform, orders)
            return found if types_of(found).count("PaymentRefunded") == 1 and \
                types_of(found).count("PaymentSucceeded") == 3 else None
        events = await eventually(all_events, what="payments and refund on Kafka")
        today = datetime.now(ZoneInfo("Asia/Jakarta")).date().isoformat()

        async def report_with_the_mismatch() -> dict[str, Any] | None:
            # the wrong-amount notification is applied by the worker after its answer: wait for it, not a clock
            got = (await client.get(f"{pay.base}/cities/{CITY}/settlements", params={"date": today},
                                    headers=pay.staff)).json()
            return got if any(m["order_id"] == intents[2]["order_id"] for m in got["mismatches"]) else None

        report = await eventually(report_with_the_mismatch, what="the mismatch in the settlement report")
        csv_text = (await client.get(f"{pay.base}/cities/{CITY}/settlements", params={"date": today},
                                     headers={**pay.staff, "Accept": "text/csv"})).text
        forbidden = await client.get(f"{pay.base}/cities/{CITY}/settlements",
                                     headers=platform.headers(CITY, "buyer"))
    assert forbidden.status_code == 403
    ours = {r["vendor_id"]: r for r in report["vendors"] if r["vendor_id"] in (va, vb)}
    paid_events = sum(e["payload"]["amount"] for e in events if e["event_type"] == "PaymentSucceeded")
    refunded_events = sum(e["payload"]["amount"] for e in events if e["event_type"] == "PaymentRefunded")
    assert sum(r["paid"] for r in ours.values()) == paid_events == 51_000
    assert sum(r["refunded"] for r in ours.values()) == refunded_events == 6_000
    assert ours[va] == {**ours[va], "paid": 32_000, "refunded": 4_000, "net": 28_000}
    assert ours[vb] == {**ours[vb], "paid": 19_000, "refunded": 2_000, "net": 17_000}
    assert any(m["kind"] == "amount_mismatch" and m["order_id"] == intents[2]["order_id"]
               for m in report["mismatches"])
    assert csv_text.startswith("record,date,vendor_id,paid,refunded,net")
    assert f"vendor,{today},{va},32000,4000,28000" in csv_text


async def test_pasarkota_pay_finds_the_intent_and_pays_it(pay: Payments, platform: Platform,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from deploy.commands.pay import pay_order
    monkeypatch.setenv("PASARKOTA_IDENTITY_URL", platform.url("identity"))  # `pay` asks identity for its token
    intent = await pay.create(amount=18_000)
    result = await asyncio.to_thread(pay_order, CITY, intent["order_id"], base_url=pay.base)
    assert result["payment"]["payment_id"] == intent["payment_id"]
    assert [n["status_code"] for n in result["simulator"]["notifications"]] == [200]
    await pay.wait_status(intent["order_id"], "succeeded")


async def _intents_of(platform: Platform, order_id: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(admin_db_url(platform))
    try:
        rows = await conn.fetch("SELECT payment_id, status FROM payments.payment_intents WHERE order_id = $1",
                                order_id)
        return [dict(r) for r in rows]
    finally:
        await conn.close()


async def _consumed(platform: Platform, event_id: str) -> bool:
    conn = await asyncpg.connect(admin_db_url(platform))
    try:
        return bool(await conn.fetchval("SELECT count(*) FROM payments.inbox WHERE event_id::text = $1", event_id))
    finally:
        await conn.close()


async def test_a_repeated_payment_request_re_sends_the_same_answer_and_creates_nothing(pay: Payments,
                                                                                     platform: Platform) -> None:
    """The orders grace worker re-sends OrderPaymentRequested once (new event id) when no PaymentRequested came:
    the still-pending intent's PaymentRequested goes out again, identical; a failed one's PaymentFailed too."""
    intent = await pay.create(amount=31_000)
    order_id = intent["order_id"]
    request = OrderPaymentRequested(order_id=order_id, buyer_id=f"buyer-{order_id[:8]}", amount=31_000,
                                    vendor_amounts={"vendor-x": 31_000})
    await publish(platform, [request])

    async def two_answers() -> list[dict[str, Any]] | None:
        found = await payment_events(platform, {order_id})
        return found if types_of(found).count("PaymentRequested") >= 2 else None

    events = await eventually(two_answers, what="PaymentRequested re-sent")
    assert types_of(events) == ["PaymentRequested", "PaymentRequested"]
    assert events[0]["payload"] == events[1]["payload"] and events[0]["event_id"] != events[1]["event_id"]
    assert events[1]["payload"]["payment_id"] == intent["payment_id"]
    assert await _intents_of(platform, order_id) == [{"payment_id": uuid.UUID(intent["payment_id"]),
                                                      "status": "pending"}]

    # no QRIS can be issued above the QRIS limit: the recorded refusal is what goes out again
    failed_order = str(uuid.uuid4())
    too_much = OrderPaymentRequested(order_id=failed_order, buyer_id="b", amount=10_000_001,
                                     vendor_amounts={"vendor-x": 10_000_001})
    await publish(platform, [too_much, too_much])

    async def two_refusals() -> list[dict[str, Any]] | None:
        found = await payment_events(platform, {failed_order})
        return found if types_of(found).count("PaymentFailed") >= 2 else None

    refusals = await eventually(two_refusals, what="PaymentFailed re-sent")
    assert types_of(refusals) == ["PaymentFailed", "PaymentFailed"]
    assert refusals[0]["payload"] == refusals[1]["payload"]
    assert refusals[0]["payload"]["reason"] == "amount_above_qris_limit"
    assert len(await _intents_of(platform, failed_order)) == 1

    # once the intent expired, the order has its answer (PaymentExpired): a repeat re-sends nothing
    expired = await pay.expire(qris=intent["qris"])
    assert expired["status"] == "expired" and expired["expired_now"] is True
    await pay.events(order_id, until="PaymentExpired")
    late = build_event(request, city=CITY)
    producer = AIOKafkaProducer(bootstrap_servers=platform.infra.bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(late.topic, late.body(), key=late.key.encode(),
                                     headers=[(k, v.encode()) for k, v in late.headers().items()])
    finally:
        await producer.stop()
    await eventually(lambda: _consumed(platform, str(late.envelope.event_id)), what="the repeat consumed")
    assert types_of(await payment_events(platform, {order_id})) == ["PaymentRequested", "PaymentRequested",
                                                                    "PaymentExpired"]


async def test_simulator_expires_an_intent_now_like_the_worker(pay: Payments) -> None:
    intent = await pay.create()
    by_id = await pay.expire(payment_id=intent["payment_id"])
    assert by_id == {"payment_id": intent["payment_id"], "order_id": intent["order_id"], "status": "expired",
                     "expired_now": True}
    events = await pay.events(intent["order_id"], until="PaymentExpired")
    assert types_of(events) == ["PaymentRequested", "PaymentExpired"]
    assert events[1]["payload"] == {"payment_id": intent["payment_id"], "order_id": intent["order_id"]}
    assert events[1]["correlation_id"] == events[0]["correlation_id"]
    again = await pay.expire(qris=intent["qris"])
    assert again["status"] == "expired" and again["expired_now"] is False
    assert types_of(await payment_events(pay.p, {intent["order_id"]})) == ["PaymentRequested", "PaymentExpired"]

    paid = await pay.create()
    await pay.simulate(paid["qris"])
    await pay.wait_status(paid["order_id"], "succeeded")
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{pay.base}/simulator/{pay.city}/expire", json={"qris": paid["qris"]})
        assert r.status_code == 409 and r.json()["status_value"] == "succeeded", r.text
        unknown = await client.post(f"{pay.base}/simulator/{pay.city}/expire", json={"payment_id": str(uuid.uuid4())})
        assert unknown.status_code == 404
        both = await client.post(f"{pay.base}/simulator/{pay.city}/expire",
                                 json={"payment_id": paid["payment_id"], "qris": paid["qris"]})
        neither = await client.post(f"{pay.base}/simulator/{pay.city}/expire", json={})
        bad = await client.post(f"{pay.base}/simulator/{pay.city}/expire", json={"qris": "0002010102" + "x" * 20})
    assert (both.status_code, neither.status_code, bad.status_code) == (422, 422, 422)
    assert (await pay.get(paid["order_id"])).json()["status"] == "succeeded"
