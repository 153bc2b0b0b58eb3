"""The write side of the notifications schema: projections, the send queue, opt-outs, webhook receipts. SQL lives
here and in ``queries.py`` only.

``NotificationsStore(conn)`` is built by the kernel for every unit of work, on that unit's transaction.
Projection upserts never move a row to another city (``WHERE <table>.city = EXCLUDED.city``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any, TypeAlias

import asyncpg

Row: TypeAlias = Any  # an asyncpg.Record (untyped): read by column name


class NotificationsStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    # ------------------------------------------------------------------------------------ projections

    async def upsert_account(self, city: str, account_id: str, phone: str, name: str | None) -> None:
        await self.conn.execute(
            "INSERT INTO accounts(account_id, city, phone, name) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (account_id) DO UPDATE SET phone = EXCLUDED.phone,"
            " name = coalesce(EXCLUDED.name, accounts.name), updated_at = now()",
            account_id, city, phone, name)

    async def forget_person(self, account_id: str, phone: str) -> None:
        """UU 27/2022: the account's phone and every message text to it go; counts and ids stay."""
        await self.conn.execute("DELETE FROM accounts WHERE account_id = $1", account_id)
        await self.conn.execute("UPDATE enrolments SET phone = NULL WHERE phone = $1", phone)
        await self.conn.execute("DELETE FROM opt_outs WHERE phone = $1", phone)
        await self.conn.execute("DELETE FROM simulated_messages WHERE phone = $1", phone)
        await self.conn.execute(
            "UPDATE messages SET recipient = 'deleted:' || message_id::text, body = '', params = '{}'::jsonb,"
            " sealed_code = NULL WHERE recipient = $1", phone)

    async def account_phone(self, account_id: str) -> str | None:
        phone: str | None = await self.conn.fetchval("SELECT phone FROM accounts WHERE account_id = $1", account_id)
        return phone

    async def upsert_vendor(self, city: str, vendor_id: str, *, market_id: str | None, name: str,
                            phone: str | None, stall: str | None) -> None:
        await self.conn.execute(
            "INSERT INTO vendors(vendor_id, city, market_id, name, phone, stall) VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (vendor_id) DO UPDATE SET market_id = EXCLUDED.market_id, name = EXCLUDED.name,"
            " phone = coalesce(EXCLUDED.phone, vendors.phone), stall = coalesce(EXCLUDED.stall, vendors.stall),"
            " updated_at = now() WHERE vendors.city = EXCLUDED.city",
            vendor_id, city, market_id, name, phone, stall)

    async def vendors(self, city: str, vendor_ids: list[str]) -> dict[str, Row]:
        rows = await self.conn.fetch("SELECT * FROM vendors WHERE city = $1 AND vendor_id = ANY($2::text[])",
                                     city, vendor_ids)
        return {r["vendor_id"]: r for r in rows}

    async def upsert_place(self, city: str, place_id: str, kind: str, name: str, address: str | None) -> None:
        await self.conn.execute(
            "INSERT INTO places(place_id, city, kind, name, address) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (place_id) DO UPDATE SET name = EXCLUDED.name, address = EXCLUDED.address,"
            " updated_at = now() WHERE places.city = EXCLUDED.city",
            place_id, city, kind, name, address)

    async def place(self, city: str, place_id: str | None) -> Row | None:
        if not place_id:
            return None
        row: Row | None = await self.conn.fetchrow("SELECT * FROM places WHERE city = $1 AND place_id = $2",
                                                   city, place_id)
        return row

    async def insert_order(self, city: str, order_id: str, *, buyer_id: str, market_id: str, fulfilment: str,
                           rw_hub_id: str | None, total: int, lines: list[dict[str, Any]]) -> None:
        await self.conn.execute(
            "INSERT INTO orders(order_id, city, buyer_id, market_id, fulfilment, rw_hub_id, total, lines)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb) ON CONFLICT (order_id) DO NOTHING",
            order_id, city, buyer_id, market_id, fulfilment, rw_hub_id, total, lines)

    async def order(self, city: str, order_id: str) -> Row | None:
        row: Row | None = await self.conn.fetchrow("SELECT * FROM orders WHERE city = $1 AND order_id = $2",
                                                   city, order_id)
        return row

    async def park(self, city: str, order_id: str, envelope: dict[str, Any]) -> None:
        await self.conn.execute(
            "INSERT INTO parked_events(event_id, order_id, city, envelope) VALUES ($1, $2, $3, $4::jsonb)"
            " ON CONFLICT (event_id) DO NOTHING", uuid.UUID(str(envelope["event_id"])), order_id, city, envelope)

    async def unpark(self, city: str, order_id: str) -> list[dict[str, Any]]:
        rows = await self.conn.fetch(
            "DELETE FROM parked_events WHERE city = $1 AND order_id = $2 RETURNING envelope, parked_at", city, order_id)
        return [r["envelope"] for r in sorted(rows, key=lambda r: r["parked_at"])]

    async def reject_line(self, city: str, order_id: str, product_id: str, vendor_id: str) -> None:
        await self.conn.execute(
            "UPDATE orders SET rejected = rejected || $3::jsonb WHERE city = $1 AND order_id = $2",
            city, order_id, [{"product_id": product_id, "vendor_id": vendor_id}])

    async def add_vendor_sales(self, city: str, day: date, amounts: dict[str, int]) -> None:
        await self.conn.executemany(
            "INSERT INTO vendor_sales(vendor_id, day, city, orders, amount) VALUES ($1, $2, $3, 1, $4)"
            " ON CONFLICT (vendor_id, day) DO UPDATE SET orders = vendor_sales.orders + 1,"
            " amount = vendor_sales.amount + EXCLUDED.amount WHERE vendor_sales.city = EXCLUDED.city",
            [(vendor_id, day, city, amount) for vendor_id, amount in sorted(amounts.items())])

    async def due_summaries(self, city: str, day: date) -> list[Row]:
        """The vendors of a city with sales on ``day`` not yet summarised (locked), with their phone."""
        return list(await self.conn.fetch(
            "SELECT s.*, v.phone FROM vendor_sales s LEFT JOIN vendors v ON v.vendor_id = s.vendor_id"
            " WHERE s.city = $1 AND s.day = $2 AND NOT s.summarised ORDER BY s.vendor_id"
            " FOR UPDATE OF s SKIP LOCKED", city, day))

    async def mark_summarised(self, vendor_id: str, day: date) -> None:
        await self.conn.execute("UPDATE vendor_sales SET summarised = true WHERE vendor_id = $1 AND day = $2",
                                vendor_id, day)

    async def upsert_enrolment(self, city: str, enrolment_id: str, *, participant_id: str, phone: str | None,
                               session_id: str | None, session_title: str | None, programme_title: str | None,
                               starts_at: datetime | None, rw_hub_id: str | None, meeting_link: str | None,
                               status: str, trainer_phone: str | None = None) -> None:
        await self.conn.execute(
            """INSERT INTO enrolments(enrolment_id, city, participant_id, phone, session_id, session_title,
                                      programme_title, starts_at, rw_hub_id, meeting_link, status, trainer_phone)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
               ON CONFLICT (enrolment_id) DO UPDATE SET phone = coalesce(EXCLUDED.phone, enrolments.phone),
                 session_title = coalesce(EXCLUDED.session_title, enrolments.session_title),
                 programme_title = coalesce(EXCLUDED.programme_title, enrolments.programme_title),
                 starts_at = coalesce(EXCLUDED.starts_at, enrolments.starts_at),
                 rw_hub_id = coalesce(EXCLUDED.rw_hub_id, enrolments.rw_hub_id),
                 meeting_link = coalesce(EXCLUDED.meeting_link, enrolments.meeting_link),
                 trainer_phone = coalesce(EXCLUDED.trainer_phone, enrolments.trainer_phone),
                 status = EXCLUDED.status, updated_at = now()
               WHERE enrolments.city = EXCLUDED.city""",
            enrolment_id, city, participant_id, phone, session_id, session_title, programme_title, starts_at,
            rw_hub_id, meeting_link, status, trainer_phone)

    async def set_enrolment_status(self, city: str, enrolment_id: str, status: str) -> None:
        await self.conn.execute("UPDATE enrolments SET status = $3, updated_at = now()"
                                " WHERE city = $1 AND enrolment_id = $2", city, enrolment_id, status)

    async def due_reminders(self, now: datetime, limit: int = 200) -> list[Row]:
        """Booked seats of sessions starting within a day that still lack the reminder due now (locked)."""
        return list(await self.conn.fetch(
            """SELECT * FROM enrolments WHERE status = 'booked' AND phone IS NOT NULL
                 AND starts_at > $1 AND starts_at <= $1 + interval '24 hours'
                 AND (NOT hour_reminded AND starts_at <= $1 + interval '1 hour'
                      OR NOT day_reminded AND NOT hour_reminded AND starts_at > $1 + interval '1 hour')
               ORDER BY starts_at LIMIT $2 FOR UPDATE SKIP LOCKED""", now, limit))

    async def due_rosters(self, city: str, day_start: datetime, day_end: datetime) -> list[Row]:
        """Sessions of the city starting in [day_start, day_end) with a trainer phone and no roster sent yet:
        their counts of booked and waitlisted seats."""
        return list(await self.conn.fetch(
            """SELECT e.session_id, min(e.session_title) AS session_title, min(e.programme_title) AS programme_title,
                      min(e.starts_at) AS starts_at, min(e.rw_hub_id) AS rw_hub_id,
                      min(e.meeting_link) AS meeting_link, min(e.trainer_phone) AS trainer_phone,
                      count(*) FILTER (WHERE e.status = 'booked') AS booked,
                      count(*) FILTER (WHERE e.status = 'waitlisted') AS waitlisted
               FROM enrolments e
               WHERE e.city = $1 AND e.starts_at >= $2 AND e.starts_at < $3 AND e.trainer_phone IS NOT NULL
                 AND NOT EXISTS (SELECT 1 FROM rosters_sent r WHERE r.session_id = e.session_id
                                 AND r.day = ($2 AT TIME ZONE 'Asia/Jakarta')::date)
               GROUP BY e.session_id ORDER BY min(e.starts_at)""", city, day_start, day_end))

    async def mark_roster_sent(self, session_id: str, day: date) -> bool:
        return (await self.conn.execute("INSERT INTO rosters_sent(session_id, day) VALUES ($1, $2)"
                                        " ON CONFLICT DO NOTHING", session_id, day)) != "INSERT 0 0"

    async def mark_reminded(self, enrolment_id: str, kind: str) -> None:
        column = "hour_reminded" if kind == "hour" else "day_reminded"
        await self.conn.execute(f"UPDATE enrolments SET {column} = true WHERE enrolment_id = $1", enrolment_id)

    # ------------------------------------------------------------------------------------ opt-outs

    async def opted_out(self, city: str, phone: str) -> bool:
        return bool(await self.conn.fetchval("SELECT true FROM opt_outs WHERE city = $1 AND phone = $2", city, phone))

    async def opt_out(self, city: str, phone: str) -> bool:
        return (await self.conn.execute("INSERT INTO opt_outs(city, phone) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                                        city, phone)) != "INSERT 0 0"

    async def opt_in(self, city: str, phone: str) -> bool:
        return (await self.conn.execute("DELETE FROM opt_outs WHERE city = $1 AND phone = $2", city, phone)) \
            != "DELETE 0"

    # ------------------------------------------------------------------------------------ the send queue

    async def enqueue(self, *, city: str, event_id: uuid.UUID, recipient: str, template: str, urgent: bool,
                      body: str, params: dict[str, str], channel: str, not_before: datetime,
                      sealed_code: str | None = None, seal_context: str | None = None) -> uuid.UUID | None:
        """One message per (event, recipient, template): the id, or None when it was queued before."""
        message_id: uuid.UUID | None = await self.conn.fetchval(
            """INSERT INTO messages(message_id, city, event_id, recipient, template, urgent, body, params, channel,
                                    status, not_before, sealed_code, seal_context)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, 'queued', $10, $11, $12)
               ON CONFLICT (event_id, recipient, template) DO NOTHING RETURNING message_id""",
            uuid.uuid4(), city, event_id, recipient, template, urgent, body, params, channel, not_before,
            sealed_code, seal_context)
        return message_id

    async def lock_due(self, limit: int) -> list[Row]:
        """Queued messages that are due, and claims whose sender died (lease over), oldest first, locked."""
        return list(await self.conn.fetch(
            """SELECT * FROM messages
               WHERE (status = 'queued' AND not_before <= now()) OR (status = 'sending' AND lease_until < now())
               ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED""", limit))

    async def opted_out_of(self, pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
        if not pairs:
            return set()
        rows = await self.conn.fetch(
            "SELECT city, phone FROM opt_outs WHERE (city, phone) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
            [c for c, _ in pairs], [p for _, p in pairs])
        return {(r["city"], r["phone"]) for r in rows}

    async def sent_counts(self, phones: list[str], cities: list[str]) -> tuple[dict[str, int], dict[str, int]]:
        """Messages sent in the last hour per phone, and in the last minute per city (the rate limits)."""
        per_phone = {r["recipient"]: r["n"] for r in await self.conn.fetch(
            "SELECT recipient, count(*) AS n FROM messages WHERE recipient = ANY($1::text[])"
            " AND sent_at > now() - interval '1 hour' GROUP BY recipient", phones)}
        per_city = {r["city"]: r["n"] for r in await self.conn.fetch(
            "SELECT city, count(*) AS n FROM messages WHERE city = ANY($1::text[])"
            " AND sent_at > now() - interval '1 minute' GROUP BY city", cities)}
        return per_phone, per_city

    async def claim(self, message_id: uuid.UUID, lease: timedelta) -> Row:
        row: Row = await self.conn.fetchrow(
            "UPDATE messages SET status = 'sending', attempts = attempts + 1, lease_until = now() + $2"
            " WHERE message_id = $1 RETURNING *", message_id, lease)
        return row

    async def defer(self, message_id: uuid.UUID, wait: timedelta) -> None:
        await self.conn.execute("UPDATE messages SET status = 'queued', not_before = now() + $2, lease_until = NULL"
                                " WHERE message_id = $1", message_id, wait)

    async def message(self, message_id: uuid.UUID, *, lock: bool = False) -> Row | None:
        row: Row | None = await self.conn.fetchrow(
            "SELECT * FROM messages WHERE message_id = $1" + (" FOR UPDATE" if lock else ""), message_id)
        return row

    async def by_provider_id(self, provider_message_id: str) -> Row | None:
        row: Row | None = await self.conn.fetchrow(
            "SELECT * FROM messages WHERE provider_message_id = $1 FOR UPDATE", provider_message_id)
        return row

    async def mark_sent(self, message_id: uuid.UUID, provider_message_id: str) -> None:
        await self.conn.execute(
            "UPDATE messages SET status = 'sent', sent_at = now(), provider_message_id = $2, lease_until = NULL"
            " WHERE message_id = $1", message_id, provider_message_id)

    async def retry_later(self, message_id: uuid.UUID, wait: timedelta, error: str) -> None:
        await self.conn.execute(
            "UPDATE messages SET status = 'queued', not_before = now() + $2, last_error = $3, lease_until = NULL"
            " WHERE message_id = $1", message_id, wait, error)

    async def switch_to_sms(self, message_id: uuid.UUID, error: str) -> None:
        await self.conn.execute(
            "UPDATE messages SET channel = 'sms', status = 'queued', attempts = 0, not_before = now(),"
            " last_error = $2, lease_until = NULL, provider_message_id = NULL WHERE message_id = $1",
            message_id, error)

    async def mark_failed(self, message_id: uuid.UUID, error: str) -> None:
        await self.conn.execute(
            "UPDATE messages SET status = 'failed', last_error = $2, lease_until = NULL, sealed_code = NULL"
            " WHERE message_id = $1", message_id, error)

    async def set_status(self, message_id: uuid.UUID, status: str, error: str | None = None) -> None:
        # a delivered, read or failed code needs no SMS fallback any more: the sealed form goes too
        await self.conn.execute("UPDATE messages SET status = $2, last_error = coalesce($3, last_error),"
                                " sealed_code = CASE WHEN $2 IN ('delivered', 'read', 'failed') THEN NULL"
                                " ELSE sealed_code END WHERE message_id = $1", message_id, status, error)

    async def remember_webhook(self, digest: str) -> bool:
        """False when exactly this webhook body was applied before (a replay)."""
        return (await self.conn.execute("INSERT INTO webhook_receipts(digest) VALUES ($1) ON CONFLICT DO NOTHING",
                                        digest)) != "INSERT 0 0"

    async def queue_depth(self) -> list[Row]:
        return list(await self.conn.fetch(
            "SELECT city, count(*) AS n FROM messages WHERE status IN ('queued', 'sending') GROUP BY city"))

    # ------------------------------------------------------------------------------------ the simulator

    async def set_simulator_fault(self, phone: str, channel: str, count: int, status: int, error: str) -> None:
        await self.conn.execute(
            "INSERT INTO simulator_faults(phone, channel, remaining, status, error) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (phone, channel) DO UPDATE SET remaining = EXCLUDED.remaining, status = EXCLUDED.status,"
            " error = EXCLUDED.error", phone, channel, count, status, error)
