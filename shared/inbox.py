"""The inbox: a consumer applies each event once, recorded in the same transaction as its effect."""

from __future__ import annotations

import uuid

import asyncpg

from shared.envelope import Envelope


async def claim(conn: asyncpg.Connection, consumer: str, envelope: Envelope) -> bool:
    """Record ``envelope`` as processed by ``consumer``; False when it already was (a duplicate).

    Call inside the transaction that applies the effect: if that transaction rolls back, so does the claim.
    """
    inserted = await conn.fetchval(
        "INSERT INTO inbox(consumer, event_id, event_type) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING RETURNING true",
        consumer, envelope.event_id, envelope.event_type,
    )
    return bool(inserted)


async def claim_many(conn: asyncpg.Connection, consumer: str, envelopes: list[Envelope]) -> set[uuid.UUID]:
    """Claim a whole batch in one statement; returns the event ids not seen before by ``consumer``."""
    rows = await conn.fetch(
        "INSERT INTO inbox(consumer, event_id, event_type)"
        " SELECT $1, e.id, e.t FROM unnest($2::uuid[], $3::text[]) AS e(id, t)"
        " ON CONFLICT DO NOTHING RETURNING event_id",
        consumer, [e.event_id for e in envelopes], [e.event_type for e in envelopes],
    )
    return {r["event_id"] for r in rows}
