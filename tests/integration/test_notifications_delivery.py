"""The notifications service's delivery rules, on the real platform: its own process on the real Kafka and Postgres,
events published as their owners (identity, learning) publish them, the built-in simulator as the provider.

Closes issue 12's integration "done when" and its bad inputs: one message whatever the redelivery; SIGKILLed
between render and send → sent once after restart; provider 500s then success → one message; 5xx or timeouts →
retried, then failed with the provider's error; a code falls back to SMS; opt-out (BERHENTI / MULAI) honoured at
once; quiet hours defer a non-urgent message and not a sign-in code; no code in clear in Kafka, logs or metrics;
unknown phone → nothing, counted; forged or replayed webhooks → 4xx, nothing changed; a template that fails to
render → the DLQ with the error.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from shared.envelope import build_event
from shared.events.common import OrderLine
from shared.events.identity import SignInCodeIssued
from shared.events.learning import EnrolmentWaitlisted
from shared.events.orders import OrderPlaced
from shared.events.payments import PaymentRequested
from shared.phone import international
from shared.sealed import seal
from tests.conftest import TEST_CODE_SEAL_KEY, Platform, eventually
from tests.integration.probe import read_topic
from tests.notifications.support import db, inbox, messages_of_event, new_phone, sign_up, wait_inbox
from tests.orders.e2e_support import metric_sum, republish

pytestmark = pytest.mark.integration

CITY = "cimahi"
CIMAHI_NUMBER_ID = "100000000000001"  # config/cities.toml
DEV_APP_SECRET = "pasarkota-dev-whatsapp-app-secret"
CITIES_FILE = Path(__file__).resolve().parents[2] / "config" / "cities.toml"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as c:
        yield c


def waitlisted(phone: str | None, enrolment_id: str | None = None) -> EnrolmentWaitlisted:
    return EnrolmentWaitlisted(enrolment_id=enrolment_id or f"enr-{uuid.uuid4().hex[:10]}",
                               participant_id=f"par-{uuid.uuid4().hex[:8]}", programme_id="prog-uji",
                               session_id="ses-uji", position=3, participant_phone=phone,
                               session_title="Foto produk dengan ponsel")


def record(payload: Any, city: str = CITY) -> tuple[uuid.UUID, tuple[str, bytes, bytes, list[tuple[str, bytes]]]]:
    out = build_event(payload, city=city, correlation_id="notifications-it")
    return out.envelope.event_id, (out.topic, out.key.encode(), out.body(),
                                   [(k, v.encode()) for k, v in out.headers().items()])


async def send(platform: Platform, payload: Any, times: int = 1) -> uuid.UUID:
    event_id, rec = record(payload)
    await republish(platform.infra.bootstrap, [rec] * times)
    return event_id


async def processed(platform: Platform, event_id: uuid.UUID, consumer: str = "notifications.messages") -> None:
    """Wait until the consumer applied the event (its inbox row), whatever the effect was."""
    async def seen() -> bool:
        conn = await db(platform)
        try:
            return bool(await conn.fetchval("SELECT true FROM inbox WHERE consumer = $1 AND event_id = $2",
                                            consumer, event_id))
        finally:
            await conn.close()

    await eventually(seen, timeout=60, what=f"{consumer} applying {event_id}")


async def the_message(platform: Platform, event_id: uuid.UUID, *statuses: str) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        rows = await messages_of_event(platform, event_id)
        return rows[0] if rows and (not statuses or rows[0]["status"] in statuses) else None

    return await eventually(found, timeout=60, what=f"the message of {event_id} in {statuses}")


async def fault(client: httpx.AsyncClient, platform: Platform, phone: str, **kw: Any) -> None:
    r = await client.post(platform.url("notifications") + "/dev/faults", json={"phone": phone, **kw})
    assert r.status_code == 200, r.text


def signin(phone: str, code: str) -> SignInCodeIssued:
    challenge_id = f"chl-{uuid.uuid4().hex}"
    return SignInCodeIssued(challenge_id=challenge_id, phone=phone,
                            code_sealed=seal(TEST_CODE_SEAL_KEY, code, context=challenge_id),
                            expires_at=datetime.now(UTC) + timedelta(minutes=5))


def signed(body: dict[str, Any], secret: str = DEV_APP_SECRET) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    return raw, {"Content-Type": "application/json",
                 "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()}


def whatsapp_webhook(*, statuses: list[dict[str, Any]] | None = None,
                     messages: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The Cloud API's webhook body: entry → changes → value (metadata, statuses / messages)."""
    value: dict[str, Any] = {"messaging_product": "whatsapp",
                             "metadata": {"display_phone_number": "6281120000001", "phone_number_id": CIMAHI_NUMBER_ID}}
    if statuses:
        value["statuses"] = statuses
    if messages:
        value["messages"] = messages
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "WABA-UJI", "changes": [{"field": "messages", "value": value}]}]}


def reply(phone: str, text: str) -> dict[str, Any]:
    return whatsapp_webhook(messages=[{"from": international(phone), "id": f"wamid.{uuid.uuid4().hex}",
                                       "timestamp": str(int(time.time())), "type": "text", "text": {"body": text}}])


async def metrics(client: httpx.AsyncClient, platform: Platform) -> str:
    return (await client.get(platform.url("notifications") + "/metrics")).text


def restart_notifications(platform: Platform, extra_env: dict[str, str] | None = None) -> None:
    proc = platform.procs["notifications"]
    if proc.poll() is None:
        platform.kill("notifications")
    platform.restart("notifications", extra_env)


# ------------------------------------------------------------------------------------------- exactly once

async def test_the_same_event_delivered_three_times_is_one_message(platform: Platform,
                                                                  client: httpx.AsyncClient) -> None:
    phone = new_phone()
    event = waitlisted(phone)
    first = await send(platform, event, times=3)
    # a later event of the same enrolment (same key, same partition): once it is applied, so were the copies
    later = await send(platform, waitlisted(phone, event.enrolment_id))
    await processed(platform, later)
    got = await wait_inbox(client, platform, phone, 2)
    assert len(got) == 2 and [m["template"] for m in got] == ["enrolment_waitlisted"] * 2
    assert len(await messages_of_event(platform, first)) == 1


async def _due_messages(platform: Platform) -> int:
    conn = await db(platform)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM messages WHERE status IN ('queued', 'sending')"
                                       " AND not_before <= now() + interval '5 seconds'"))
    finally:
        await conn.close()


async def _crash_on_our_message(platform: Platform, phone: str) -> uuid.UUID | None:
    """Start notifications with the crash point armed once the queue is drained, publish our event, wait for the
    process to die; our event's id when it died on our message (another message may have been due first)."""
    await eventually(lambda: _drained(platform), timeout=60, what="the send queue drained")
    if platform.procs["notifications"].poll() is None:
        platform.kill("notifications")
    platform.start("notifications", env={"PASARKOTA_FAULT_INJECT": "notifications:before_send"})
    event_id = await send(platform, waitlisted(phone))
    proc = platform.procs["notifications"]
    await eventually(lambda: asyncio.sleep(0, proc.poll() is not None), timeout=90,
                     what="notifications dying at the injected point")
    assert proc.returncode == 137
    rows = await messages_of_event(platform, event_id)
    return event_id if rows and rows[0]["status"] == "sending" else None


async def _drained(platform: Platform) -> bool:
    return await _due_messages(platform) == 0


async def test_killed_between_render_and_send_is_sent_once_after_restart(platform: Platform,
                                                                          client: httpx.AsyncClient) -> None:
    event_id, phone = None, new_phone()
    for _ in range(3):
        event_id = await _crash_on_our_message(platform, phone)
        if event_id is not None:
            break
        await asyncio.to_thread(platform.restart, "notifications")  # another message was due: let it go, again
    assert event_id is not None, "notifications never died on our message"
    try:
        rows = await messages_of_event(platform, event_id)
        assert len(rows) == 1 and rows[0]["attempts"] == 1  # rendered and claimed, then the process died
        conn = await db(platform)  # the simulator's phones live in the schema: readable while the service is down
        try:
            assert await conn.fetchval("SELECT count(*) FROM simulated_messages WHERE phone = $1", phone) == 0
        finally:
            await conn.close()
    finally:
        await asyncio.to_thread(platform.restart, "notifications")
    got = await wait_inbox(client, platform, phone, 1)
    row = await the_message(platform, event_id, "sent")
    assert row["attempts"] == 2  # the claim that died, and the one after the lease ran out
    assert len(await inbox(client, platform, phone)) == 1 and got[0]["template"] == "enrolment_waitlisted"


# --------------------------------------------------------------------------------------- provider failures

async def test_provider_500s_then_success_is_one_message(platform: Platform, client: httpx.AsyncClient) -> None:
    phone = new_phone()
    await fault(client, platform, phone, count=2, status=500, error="Internal Server Error")
    event_id = await send(platform, waitlisted(phone))
    row = await the_message(platform, event_id, "sent")
    assert row["attempts"] == 3 and "HTTP 500" in row["last_error"]
    assert len(await inbox(client, platform, phone)) == 1


async def test_5xx_and_timeouts_are_retried_then_failed_with_the_providers_error(
        platform: Platform, client: httpx.AsyncClient) -> None:
    unavailable, silent = new_phone(), new_phone()
    await fault(client, platform, unavailable, count=10, status=503, error="Service Unavailable (uji)")
    await fault(client, platform, silent, count=10, status=0, error="no answer")
    first = await send(platform, waitlisted(unavailable))
    second = await send(platform, waitlisted(silent))
    failed = await the_message(platform, first, "failed")
    assert failed["attempts"] == 3 and failed["last_error"] == "whatsapp: HTTP 503: Service Unavailable (uji)"
    timed_out = await the_message(platform, second, "failed")
    assert timed_out["attempts"] == 3 and timed_out["last_error"].startswith("whatsapp: timeout")
    assert await inbox(client, platform, unavailable) == [] and await inbox(client, platform, silent) == []
    found = await eventually(lambda: read_topic(platform.infra.bootstrap, "notifications.message.v1",
                                                str(failed["message_id"]).encode()), what="NotificationFailed")
    event = json.loads(found[0][1])
    assert event["event_type"] == "NotificationFailed" and "HTTP 503" in event["payload"]["error"]
    assert unavailable not in found[0][1].decode()  # the phone travels masked only


async def test_a_sign_in_code_falls_back_to_sms_when_whatsapp_fails(platform: Platform,
                                                                     client: httpx.AsyncClient) -> None:
    phone = new_phone()
    await fault(client, platform, phone, channel="whatsapp", count=10, status=500)
    await send(platform, signin(phone, "581274"))
    got = await wait_inbox(client, platform, phone, 1)
    assert got[0]["channel"] == "sms" and "581274" in got[0]["text"]


# ------------------------------------------------------------------------------------------------ opt-out

async def test_berhenti_opts_out_at_once_and_mulai_opts_back_in(platform: Platform, client: httpx.AsyncClient) -> None:
    phone, url = new_phone(), platform.url("notifications")
    before = metric_sum(await metrics(client, platform), "pasarkota_notifications_messages_total",
                        outcome="skipped_opted_out")
    raw, headers = signed(reply(phone, "berhenti"))
    r = await client.post(url + "/webhooks/whatsapp", content=raw, headers=headers)
    assert r.status_code == 200 and r.json()["replies_applied"] == 1, r.text
    again = await client.post(url + "/webhooks/whatsapp", content=raw, headers=headers)
    assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")

    skipped = await send(platform, waitlisted(phone))
    await processed(platform, skipped)
    assert await messages_of_event(platform, skipped) == []
    assert metric_sum(await metrics(client, platform), "pasarkota_notifications_messages_total",
                      outcome="skipped_opted_out") == before + 1
    # the code the person asked for on our page still comes (documented exception)
    await send(platform, signin(phone, "640913"))
    await wait_inbox(client, platform, phone, 1)

    raw, headers = signed(reply(phone, "MULAI"))
    assert (await client.post(url + "/webhooks/whatsapp", content=raw, headers=headers)).status_code == 200
    back = await send(platform, waitlisted(phone))
    await the_message(platform, back, "sent")
    assert [m["template"] for m in await inbox(client, platform, phone)] == ["signin_code", "enrolment_waitlisted"]


async def test_a_person_opts_out_on_their_account_and_that_is_honoured(platform: Platform,
                                                                     client: httpx.AsyncClient) -> None:
    phone, sub = new_phone(), f"acc-{uuid.uuid4().hex[:10]}"
    await sign_up(platform, sub, phone)
    url = platform.url("notifications") + f"/cities/{CITY}/me/notifications"
    me = platform.headers(CITY, "participant", sub=sub)
    assert (await client.get(url, headers=me)).json()["opted_out"] is False
    r = await client.put(url, headers=me, json={"opted_out": True})
    assert r.status_code == 200 and r.json()["opted_out"] is True, r.text
    skipped = await send(platform, waitlisted(phone))
    await processed(platform, skipped)
    assert await messages_of_event(platform, skipped) == []
    other = await client.get(platform.url("notifications") + "/cities/tegal/me/notifications", headers=me)
    assert other.status_code == 403  # another city's settings are not theirs
    assert (await client.put(url, headers=me, json={"opted_out": "yes please"})).status_code == 422


async def test_forged_or_replayed_status_webhooks_change_nothing(platform: Platform,
                                                                 client: httpx.AsyncClient) -> None:
    phone, url = new_phone(), platform.url("notifications") + "/webhooks/whatsapp"
    event_id = await send(platform, waitlisted(phone))
    row = await the_message(platform, event_id, "sent")
    provider_id = row["provider_message_id"]

    def status(state: str) -> dict[str, Any]:
        return whatsapp_webhook(statuses=[{"id": provider_id, "status": state, "timestamp": str(int(time.time())),
                                           "recipient_id": international(phone)}])

    raw, headers = signed(status("read"), secret="not-the-app-secret")
    forged = await client.post(url, content=raw, headers=headers)
    assert forged.status_code == 401 and forged.headers["content-type"].startswith("application/problem+json")
    unsigned = await client.post(url, content=raw, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    assert (await the_message(platform, event_id))["status"] == "sent"

    raw, headers = signed(status("delivered"))
    ok = await client.post(url, content=raw, headers=headers)
    assert ok.status_code == 200 and ok.json()["statuses_changed"] == 1, ok.text
    assert (await the_message(platform, event_id))["status"] == "delivered"
    replayed = await client.post(url, content=raw, headers=headers)
    assert replayed.status_code == 409
    raw, headers = signed(status("sent"))  # an older status arriving late moves nothing back
    late = await client.post(url, content=raw, headers=headers)
    assert late.status_code == 200 and late.json()["statuses_changed"] == 0
    assert (await the_message(platform, event_id))["status"] == "delivered"
    bad = await client.post(url, content=b"{not json", headers=signed({})[1] | {
        "X-Hub-Signature-256": "sha256=" + hmac.new(DEV_APP_SECRET.encode(), b"{not json", hashlib.sha256).hexdigest()})
    assert bad.status_code == 422


async def test_an_order_event_before_its_order_placed_waits_for_it_and_is_then_told(
        platform: Platform, client: httpx.AsyncClient) -> None:
    phone, buyer = new_phone(), f"acc-{uuid.uuid4().hex[:10]}"
    await sign_up(platform, buyer, phone)
    order_id = f"ord-{uuid.uuid4().hex[:12]}"
    early = await send(platform, PaymentRequested(payment_id=f"pay-{order_id}", order_id=order_id, amount=27500,
                                                  qris="000201...6304ABCD",
                                                  expires_at=datetime.now(UTC) + timedelta(minutes=15)))
    await processed(platform, early)
    assert await messages_of_event(platform, early) == []  # nothing to say yet: whose order is it?
    await send(platform, OrderPlaced(order_id=order_id, buyer_id=buyer, market_id="mkt-uji", subtotal=27500,
                                     total=27500, fulfilment="pickup_stall",
                                     lines=[OrderLine(product_id="p-1", vendor_id="v-uji", quantity=1,
                                                      unit_price=27500)]))
    row = await the_message(platform, early, "sent")
    assert row["template"] == "order_awaiting_payment" and row["recipient"] == phone
    got = await inbox(client, platform, phone)
    assert [m["template"] for m in got] == ["order_awaiting_payment"] and "Rp 27.500" in got[0]["text"]


# ------------------------------------------------------------------------------------------- quiet hours

async def test_quiet_hours_defer_a_non_urgent_message_and_not_a_sign_in_code(platform: Platform,
                                                                            client: httpx.AsyncClient) -> None:
    local = datetime.now(ZoneInfo("Asia/Jakarta"))
    window = f"{(local - timedelta(hours=1)):%H:%M}-{(local + timedelta(hours=2)):%H:%M}"  # "now" is quiet
    await asyncio.to_thread(restart_notifications, platform, {"PASARKOTA_NOTIFICATIONS_QUIET_HOURS": window})
    try:
        phone = new_phone()
        deferred = await send(platform, waitlisted(phone))
        row = await the_message(platform, deferred)
        await send(platform, signin(phone, "902615"))
        got = await wait_inbox(client, platform, phone, 1)
        assert [m["template"] for m in got] == ["signin_code"]  # the code went at once
        conn = await db(platform)
        try:
            waits = await conn.fetchval("SELECT not_before > now() + interval '1 hour' FROM messages"
                                        " WHERE message_id = $1", row["message_id"])
        finally:
            await conn.close()
        assert row["status"] == "queued" and waits  # held until the quiet hours end
        assert [m["template"] for m in await inbox(client, platform, phone)] == ["signin_code"]
    finally:
        await asyncio.to_thread(restart_notifications, platform)


# -------------------------------------------------------------------------------------------- secrets

CODE = "738291"
ALONE = re.compile(rf"(?<![0-9A-Za-z]){CODE}(?![0-9A-Za-z])")
IN_CLEAR = re.compile(rf"(?<![0-9A-Za-z.:+-]){CODE}(?![0-9A-Za-z])")  # not a fraction of a second nor inside an id


async def test_no_sign_in_code_in_clear_in_kafka_logs_metrics_or_tables(platform: Platform,
                                                                        client: httpx.AsyncClient) -> None:
    phone = new_phone()
    event = signin(phone, CODE)
    event_id = await send(platform, event)
    got = await wait_inbox(client, platform, phone, 1)  # the phone (the simulator) got it: it was really used
    assert CODE in got[0]["text"] and got[0]["template"] == "signin_code"
    row = await the_message(platform, event_id, "sent")
    # Kafka: the event itself carries only the sealed form; nothing we wrote carries the code
    assert await read_topic(platform.infra.bootstrap, "identity.signin.v1", event.challenge_id.encode())
    for topic in ("identity.signin.v1", "notifications.message.v1", "identity.signin.v1.dlq"):
        found = await read_topic(platform.infra.bootstrap, topic, CODE.encode())
        # six digits also turn up by chance inside other numbers (a timestamp's microseconds, an id): only the code
        # standing alone as a value counts
        assert not [v for _p, v, _h in found if IN_CLEAR.search(v.decode(errors="replace"))], topic
    assert await read_topic(platform.infra.bootstrap, "notifications.message.v1", str(row["message_id"]).encode())
    # logs and metrics
    async def logged() -> str | None:
        text = (platform.home / "notifications.log").read_text(errors="replace")
        return text if str(row["message_id"]) in text else None  # the send itself is in the log, the code is not

    log = await eventually(logged, what="the send in the log")
    assert not ALONE.search(log)
    assert not ALONE.search(await metrics(client, platform))
    # tables: the queue keeps the sealed form until sent, the simulator's phone keeps it sealed
    conn = await db(platform)
    try:
        dump = json.dumps([dict(r) for r in await conn.fetch(
            "SELECT body, params::text, sealed_code FROM messages WHERE message_id = $1", row["message_id"])])
        sim = await conn.fetchval("SELECT text FROM simulated_messages WHERE message_id = $1", row["message_id"])
    finally:
        await conn.close()
    assert not ALONE.search(dump) and not ALONE.search(sim)


# ------------------------------------------------------------------------------------------- bad input

async def test_an_unknown_phone_gets_nothing_and_is_counted(platform: Platform, client: httpx.AsyncClient) -> None:
    before = metric_sum(await metrics(client, platform), "pasarkota_notifications_messages_total",
                        template="enrolment_waitlisted", outcome="skipped_unknown_phone")
    event_id = await send(platform, waitlisted(None))
    await processed(platform, event_id)
    assert await messages_of_event(platform, event_id) == []
    assert metric_sum(await metrics(client, platform), "pasarkota_notifications_messages_total",
                      template="enrolment_waitlisted", outcome="skipped_unknown_phone") == before + 1


async def test_a_template_that_fails_to_render_sends_the_event_to_the_dlq_with_the_error(
        platform: Platform, client: httpx.AsyncClient, tmp_path: Path) -> None:
    broken = tmp_path / "templates"
    broken.mkdir()
    (broken / "enrolment_waitlisted.txt").write_text("Antrean {{ position }} untuk {{ sesi_yang_tidak_ada }}\n")
    text = CITIES_FILE.read_text().replace('# templates_dir = "config/templates/cimahi"', f'templates_dir = "{broken}"')
    assert str(broken) in text
    (tmp_path / "cities.toml").write_text(text)
    await asyncio.to_thread(restart_notifications, platform, {"PASARKOTA_CITIES_FILE": str(tmp_path / "cities.toml")})
    try:
        phone = new_phone()
        event_id = await send(platform, waitlisted(phone))
        dead = await eventually(lambda: read_topic(platform.infra.bootstrap, "learning.enrolment.v1.dlq",
                                                   str(event_id).encode()), timeout=60, what="the dead letter")
        headers = dead[0][2]
        assert headers["x-dlq-consumer"] == b"notifications.messages"
        assert b"enrolment_waitlisted" in headers["x-dlq-error"] and b"sesi_yang_tidak_ada" in headers["x-dlq-error"]
        assert await messages_of_event(platform, event_id) == [] and await inbox(client, platform, phone) == []
    finally:
        await asyncio.to_thread(restart_notifications, platform)
