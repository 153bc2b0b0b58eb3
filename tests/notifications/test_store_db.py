"""The send queue's rules on the real Postgres (a scratch schema with notifications' migrations): rate limits per
phone and per city, opt-outs dropped at send time, leases, reminders due a day and an hour before, a person
forgotten on request."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from notifications import domain
from notifications.app import MIGRATIONS
from notifications.handlers import Messages
from notifications.store import NotificationsStore
from shared.uow import PgUnitOfWork
from tests.conftest import Infra, scratch_schema

pytestmark = pytest.mark.integration

RULES = {"cimahi": domain.CityRules.parse("cimahi", {"max_per_phone_per_hour": 2, "max_per_city_per_minute": 3},
                                          quiet_override="off")}


@pytest.fixture
async def pool(infra: Infra) -> AsyncIterator[asyncpg.Pool]:
    async with scratch_schema(infra, "notifications", MIGRATIONS) as p:
        yield p


async def _in_tx(pool: asyncpg.Pool, fn: Any) -> Any:
    async with pool.acquire() as conn, conn.transaction():
        uow: PgUnitOfWork[NotificationsStore] = PgUnitOfWork(conn, NotificationsStore(conn), city="cimahi")
        result = await fn(uow)
        await uow.flush()
        return result


async def _queue(pool: asyncpg.Pool, phone: str, n: int, template: str = "order_paid") -> None:
    async def add(uow: PgUnitOfWork[NotificationsStore]) -> None:
        for _ in range(n):
            await uow.store.enqueue(city="cimahi", event_id=uuid.uuid4(), recipient=phone, template=template,
                                    urgent=False, body="x", params={}, channel="whatsapp",
                                    not_before=datetime.now(UTC))
    await _in_tx(pool, add)


async def test_rate_limits_per_phone_and_per_city_defer_the_rest(pool: asyncpg.Pool) -> None:
    m = Messages(RULES, "http://portal")
    await _queue(pool, "081300000001", 3)
    await _queue(pool, "081300000002", 1)
    await _queue(pool, "081300000003", 1)
    claimed = await _in_tx(pool, lambda uow: m.claim_due(uow, 50, timedelta(seconds=30)))
    per_phone = [r["recipient"] for r in claimed]
    # two for the first phone (its hourly limit), then the city's three-a-minute limit stops the rest
    assert per_phone == ["081300000001", "081300000001", "081300000002"]
    async with pool.acquire() as conn:
        deferred = await conn.fetch("SELECT recipient FROM messages WHERE status = 'queued' AND not_before > now()")
    assert sorted(r["recipient"] for r in deferred) == ["081300000001", "081300000003"]
    # a claimed message is not claimed again while its lease runs
    assert await _in_tx(pool, lambda uow: m.claim_due(uow, 50, timedelta(seconds=30))) == []


async def test_an_opt_out_after_queueing_drops_the_message_at_send_time_but_not_a_sign_in_code(
        pool: asyncpg.Pool) -> None:
    m = Messages(RULES, "http://portal")
    await _queue(pool, "081300000009", 1, "order_completed")
    await _queue(pool, "081300000009", 1, "signin_code")
    await _in_tx(pool, lambda uow: m.on_reply(uow, "0813-0000-0009", "BERHENTI"))
    claimed = await _in_tx(pool, lambda uow: m.claim_due(uow, 50, timedelta(seconds=30)))
    assert [r["template"] for r in claimed] == ["signin_code"]
    async with pool.acquire() as conn:
        dropped = await conn.fetchrow("SELECT status, last_error FROM messages WHERE template = 'order_completed'")
    assert dropped["status"] == "failed" and dropped["last_error"].startswith("opted-out")


async def test_reminders_are_due_a_day_and_an_hour_before_once_each(pool: asyncpg.Pool) -> None:
    now = datetime.now(UTC)
    m = Messages(RULES, "http://portal", now=lambda: now)

    async def seed(uow: PgUnitOfWork[NotificationsStore]) -> None:
        for ref, starts in (("soon", now + timedelta(minutes=30)), ("today", now + timedelta(hours=5)),
                            ("later", now + timedelta(hours=30)), ("past", now - timedelta(minutes=5))):
            await uow.store.upsert_enrolment("cimahi", ref, participant_id=f"p-{ref}", phone="081300000100",
                                             session_id=f"s-{ref}", session_title=f"Sesi {ref}",
                                             programme_title="Program", starts_at=starts, rw_hub_id=None,
                                             meeting_link="https://meet.example.id/x", status="booked")

    await _in_tx(pool, seed)
    assert await _in_tx(pool, m.remind) == 2
    assert await _in_tx(pool, m.remind) == 0  # once each
    async with pool.acquire() as conn:
        sent = {r["template"]: r["body"] for r in await conn.fetch("SELECT template, body FROM messages")}
    assert set(sent) == {"session_reminder_hour", "session_reminder_day"}
    assert "Sesi soon" in sent["session_reminder_hour"] and "Sesi today" in sent["session_reminder_day"]
    assert "https://meet.example.id/x" in sent["session_reminder_day"]
    # an hour before the session of today, its hour reminder follows
    later = Messages(RULES, "http://portal", now=lambda: now + timedelta(hours=4, minutes=30))
    assert await _in_tx(pool, later.remind) == 1


async def test_a_deleted_account_leaves_no_phone_and_no_text(pool: asyncpg.Pool) -> None:
    async def seed(uow: PgUnitOfWork[NotificationsStore]) -> None:
        await uow.store.upsert_account("cimahi", "acc-1", "081300000200", "Warga")
    await _in_tx(pool, seed)
    await _queue(pool, "081300000200", 2)
    await _in_tx(pool, lambda uow: uow.store.forget_person("acc-1", "081300000200"))
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM accounts") == 0
        rows = await conn.fetch("SELECT recipient, body FROM messages")
    assert len(rows) == 2 and all(r["recipient"].startswith("deleted:") and r["body"] == "" for r in rows)


async def test_each_vendor_gets_one_evening_summary_of_the_days_completed_sales(pool: asyncpg.Pool) -> None:
    from datetime import time

    from shared.envelope import build_event
    from shared.events.common import OrderLine
    from shared.events.orders import OrderCompleted, OrderLineRejected, OrderPlaced

    placed = OrderPlaced(order_id="ord-s", buyer_id="acc-b", market_id="mkt", subtotal=25000, total=25000,
                         fulfilment="pickup_stall",
                         lines=[OrderLine(product_id="p-1", vendor_id="v-1", quantity=2, unit_price=10000),
                                OrderLine(product_id="p-2", vendor_id="v-1", quantity=1, unit_price=3000),
                                OrderLine(product_id="p-3", vendor_id="v-2", quantity=1, unit_price=5000)])
    rejected = OrderLineRejected(order_id="ord-s", line_id="L2", product_id="p-2", vendor_id="v-1", quantity=1,
                                 amount=3000, reason="habis")
    completed = build_event(OrderCompleted(order_id="ord-s", buyer_id="acc-b", vendor_ids=["v-1", "v-2"],
                                           total=25000), city="cimahi").envelope
    day = completed.occurred_at.astimezone(domain.WIB).date()
    evening = datetime.combine(day, time(20, 30), tzinfo=domain.WIB)
    m = Messages(RULES, "http://portal", now=lambda: evening)

    async def apply(uow: PgUnitOfWork[NotificationsStore]) -> None:
        await uow.store.upsert_vendor("cimahi", "v-1", market_id="mkt", name="Toko Sari", phone="081300000301",
                                      stall=None)
        await m.on_order_placed(uow.caused_by(build_event(placed, city="cimahi").envelope), placed)
        await m.on_line_rejected(uow.caused_by(build_event(rejected, city="cimahi").envelope), rejected)
        await m.on_order_completed(uow.caused_by(completed), OrderCompleted(**completed.payload))

    await _in_tx(pool, apply)
    afternoon = Messages(RULES, "http://portal", now=lambda: evening - timedelta(hours=5))
    assert await _in_tx(pool, afternoon.summarise_sales) == 0  # not before 20:00
    assert await _in_tx(pool, m.summarise_sales) == 2  # v-1 and v-2 (v-2 has no phone: counted, not sent)
    assert await _in_tx(pool, m.summarise_sales) == 0  # once a day
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT recipient, body FROM messages WHERE template = 'vendor_daily_summary'")
    assert [r["recipient"] for r in rows] == ["081300000301"]
    assert "1 pesanan selesai, total Rp 20.000" in rows[0]["body"]  # the rejected line is not a sale


async def test_a_trainer_hears_the_evening_before_who_comes_tomorrow_once(pool: asyncpg.Pool) -> None:
    from datetime import time

    evening = datetime.combine(datetime.now(domain.WIB).date(), time(18, 30), tzinfo=domain.WIB)
    tomorrow_ten = datetime.combine(evening.date() + timedelta(days=1), time(10, 0), tzinfo=domain.WIB)

    async def seed(uow: PgUnitOfWork[NotificationsStore]) -> None:
        for i, status in enumerate(("booked", "booked", "waitlisted", "cancelled")):
            await uow.store.upsert_enrolment("cimahi", f"enr-r{i}", participant_id=f"p-{i}", phone=f"08130000040{i}",
                                             session_id="ses-besok", session_title="Foto produk",
                                             programme_title="Program", starts_at=tomorrow_ten, rw_hub_id=None,
                                             meeting_link="https://meet.example.id/foto", status=status,
                                             trainer_phone="081300000499")
        await uow.store.upsert_enrolment("cimahi", "enr-lusa", participant_id="p-9", phone="081300000409",
                                         session_id="ses-lusa", session_title="Lusa", programme_title="Program",
                                         starts_at=tomorrow_ten + timedelta(days=1), rw_hub_id=None,
                                         meeting_link=None, status="booked", trainer_phone="081300000499")

    await _in_tx(pool, seed)
    early = Messages(RULES, "http://portal", now=lambda: evening - timedelta(hours=2))
    assert await _in_tx(pool, early.send_rosters) == 0  # not before 18:00
    m = Messages(RULES, "http://portal", now=lambda: evening)
    assert await _in_tx(pool, m.send_rosters) == 1  # tomorrow's session only
    assert await _in_tx(pool, m.send_rosters) == 0  # once
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT recipient, body FROM messages WHERE template = 'trainer_roster_tomorrow'")
    assert [r["recipient"] for r in rows] == ["081300000499"]
    assert "2 peserta terdaftar, 1 di daftar tunggu" in rows[0]["body"] and "10.00 WIB" in rows[0]["body"]
    assert "https://meet.example.id/foto" in rows[0]["body"] and "/pelatih/sesi/ses-besok" in rows[0]["body"]
