"""asyncpg queries on the ``learning`` schema only (the pool's search_path)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

SEAT_STATUSES = ("booked", "attended", "no_show")

SESSION_VIEW = """
SELECT s.*, pr.style, pr.title AS programme_title,
       h.name AS hub_name, h.kelurahan AS hub_kelurahan, h.rw AS hub_rw, h.address AS hub_address,
       t.name AS trainer_name,
       (SELECT count(*) FROM enrolments e WHERE e.session_id = s.session_id
          AND e.status IN ('booked', 'attended', 'no_show')) AS seats_taken,
       (SELECT count(*) FROM enrolments e WHERE e.session_id = s.session_id AND e.status = 'waitlisted') AS waitlisted
FROM sessions s
JOIN programmes pr ON pr.programme_id = s.programme_id
LEFT JOIN rw_hubs h ON h.rw_hub_id = s.rw_hub_id
LEFT JOIN trainers t ON t.trainer_id = s.trainer_id
"""


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def session_json(row: asyncpg.Record) -> dict[str, Any]:
    venue: dict[str, Any] = {}
    if row["rw_hub_id"]:
        venue["rw_hub"] = {"rw_hub_id": row["rw_hub_id"], "name": row["hub_name"], "kelurahan": row["hub_kelurahan"],
                           "rw": row["hub_rw"], "address": row["hub_address"]}
    if row["meeting_link"]:
        venue["meeting_link"] = row["meeting_link"]
    return {
        "session_id": row["session_id"], "programme_id": row["programme_id"],
        "programme_title": row["programme_title"], "style": row["style"], "title": row["title"],
        "module": row["module"], "starts_at": iso(row["starts_at"]), "ends_at": iso(row["ends_at"]),
        "venue": venue, "capacity": row["capacity"], "seats_taken": row["seats_taken"],
        "seats_left": max(0, row["capacity"] - row["seats_taken"]), "waitlisted": row["waitlisted"],
        "required": row["required"],
        "trainer": {"trainer_id": row["trainer_id"], "name": row["trainer_name"]} if row["trainer_id"] else None,
    }


def programme_json(row: asyncpg.Record) -> dict[str, Any]:
    return {"programme_id": row["programme_id"], "title": row["title"], "style": row["style"],
            "partner": row["partner"], "modules": list(row["modules"]), "description": row["description"]}


def enrolment_json(row: asyncpg.Record) -> dict[str, Any]:
    out = {"enrolment_id": row["enrolment_id"], "session_id": row["session_id"],
           "programme_id": row["programme_id"], "participant_id": row["participant_id"], "status": row["status"],
           "created_at": iso(row["created_at"]), "updated_at": iso(row["updated_at"])}
    if "waitlist_position" in row.keys():
        out["waitlist_position"] = row["waitlist_position"]
    if "session_title" in row.keys():
        out.update({"session_title": row["session_title"], "starts_at": iso(row["starts_at"]),
                    "ends_at": iso(row["ends_at"]), "programme_title": row["programme_title"],
                    "style": row["style"], "rw_hub_id": row["rw_hub_id"], "meeting_link": row["meeting_link"]})
    return out


def participant_json(row: asyncpg.Record) -> dict[str, Any]:
    return {"participant_id": row["participant_id"], "name": row["name"], "phone": row["phone"],
            "group": row["grp"], "rw": row["rw"], "kelurahan": row["kelurahan"], "vendor_id": row["vendor_id"]}


def trainer_json(row: asyncpg.Record) -> dict[str, Any]:
    return {"trainer_id": row["trainer_id"], "name": row["name"], "subject": row["subject"],
            "phone": row["phone"], "expertise": row["expertise"]}


# ------------------------------------------------------------------------------------------------ reads

async def list_programmes(conn: asyncpg.Connection, city: str) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM programmes WHERE city = $1 ORDER BY created_at, title", city)


async def get_programme(conn: asyncpg.Connection, city: str, programme_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM programmes WHERE city = $1 AND programme_id = $2", city, programme_id)


async def list_sessions(conn: asyncpg.Connection, city: str, *, programme_id: str | None = None,
                        trainer_id: str | None = None, upcoming_after: datetime | None = None) -> list[asyncpg.Record]:
    return await conn.fetch(
        SESSION_VIEW + " WHERE s.city = $1 AND ($2::text IS NULL OR s.programme_id = $2)"
        " AND ($3::text IS NULL OR s.trainer_id = $3) AND ($4::timestamptz IS NULL OR s.ends_at >= $4)"
        " ORDER BY s.starts_at, s.session_id",
        city, programme_id, trainer_id, upcoming_after)


async def get_session(conn: asyncpg.Connection, city: str, session_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(SESSION_VIEW + " WHERE s.city = $1 AND s.session_id = $2", city, session_id)


async def participant_by_subject(conn: asyncpg.Connection, city: str, subject: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM participants WHERE city = $1 AND subject = $2", city, subject)


async def trainer_by_subject(conn: asyncpg.Connection, city: str, subject: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM trainers WHERE city = $1 AND subject = $2", city, subject)


async def list_trainers(conn: asyncpg.Connection, city: str) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM trainers WHERE city = $1 ORDER BY name", city)


ENROLMENT_VIEW = """
SELECT e.*, CASE WHEN e.status = 'waitlisted' THEN
    (SELECT count(*) FROM enrolments w WHERE w.session_id = e.session_id AND w.status = 'waitlisted'
       AND w.seq <= e.seq) END AS waitlist_position,
    s.title AS session_title, s.starts_at, s.ends_at, s.rw_hub_id, s.meeting_link,
    pr.title AS programme_title, pr.style
FROM enrolments e
JOIN sessions s ON s.session_id = e.session_id
JOIN programmes pr ON pr.programme_id = e.programme_id
"""


async def participant_enrolments(conn: asyncpg.Connection, city: str, participant_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(ENROLMENT_VIEW + " WHERE e.city = $1 AND e.participant_id = $2 ORDER BY e.seq",
                            city, participant_id)


async def get_enrolment(conn: asyncpg.Connection, city: str, enrolment_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(ENROLMENT_VIEW + " WHERE e.city = $1 AND e.enrolment_id = $2", city, enrolment_id)


async def enrolment_history(conn: asyncpg.Connection, enrolment_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT from_status, to_status, reason, actor, at FROM enrolment_history"
                            " WHERE enrolment_id = $1 ORDER BY id", enrolment_id)
    return [{"from": r["from_status"], "to": r["to_status"], "reason": r["reason"], "actor": r["actor"],
             "at": iso(r["at"])} for r in rows]


async def roster(conn: asyncpg.Connection, city: str, session_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT e.enrolment_id, e.status, e.seq, p.participant_id, p.name, p.phone, p.grp, p.rw, p.kelurahan,"
        " a.method AS attendance_method, a.recorded_at"
        " FROM enrolments e JOIN participants p ON p.participant_id = e.participant_id"
        " LEFT JOIN attendance a ON a.enrolment_id = e.enrolment_id"
        " WHERE e.city = $1 AND e.session_id = $2 AND e.status <> 'cancelled' ORDER BY e.seq", city, session_id)


async def participant_certificates(conn: asyncpg.Connection, city: str, participant_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT c.code, c.issued_on, c.programme_id, pr.title, pr.style, pr.partner FROM certificates c"
        " JOIN programmes pr ON pr.programme_id = c.programme_id"
        " WHERE c.city = $1 AND c.participant_id = $2 ORDER BY c.issued_at", city, participant_id)


async def certificate_public(conn: asyncpg.Connection, code: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT c.code, c.city, c.issued_on, p.name, pr.title, pr.style, pr.partner FROM certificates c"
        " JOIN participants p ON p.participant_id = c.participant_id"
        " JOIN programmes pr ON pr.programme_id = c.programme_id WHERE c.code = $1", code)


async def list_hubs(conn: asyncpg.Connection, city: str) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM rw_hubs WHERE city = $1 ORDER BY kelurahan, rw", city)


async def programme_report(conn: asyncpg.Connection, city: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT pr.programme_id, pr.title, pr.style, pr.partner,"
        " (SELECT count(*) FROM sessions s WHERE s.programme_id = pr.programme_id) AS sessions,"
        " count(e.*) FILTER (WHERE e.status IN ('booked', 'attended', 'no_show')) AS seats_taken,"
        " count(e.*) FILTER (WHERE e.status = 'waitlisted') AS waitlisted,"
        " count(e.*) FILTER (WHERE e.status = 'attended') AS attended,"
        " count(e.*) FILTER (WHERE e.status = 'no_show') AS no_show,"
        " count(e.*) FILTER (WHERE e.status = 'cancelled') AS cancelled,"
        " (SELECT count(*) FROM certificates c WHERE c.programme_id = pr.programme_id) AS certificates"
        " FROM programmes pr LEFT JOIN enrolments e ON e.programme_id = pr.programme_id"
        " WHERE pr.city = $1 GROUP BY pr.programme_id ORDER BY pr.created_at, pr.title", city)


# ------------------------------------------------------------------------------------- funnel inputs

async def funnel_inputs(conn: asyncpg.Connection, city: str) -> dict[str, Any]:
    facts = await conn.fetch(
        "SELECT e.participant_id, pr.style, p.grp, p.rw, p.kelurahan,"
        " bool_or(e.status <> 'cancelled') AS enrolled, bool_or(e.status = 'attended') AS attended"
        " FROM enrolments e JOIN programmes pr ON pr.programme_id = e.programme_id"
        " JOIN participants p ON p.participant_id = e.participant_id"
        " WHERE e.city = $1 GROUP BY e.participant_id, pr.style, p.grp, p.rw, p.kelurahan", city)
    certified = await conn.fetch(
        "SELECT DISTINCT c.participant_id, pr.style FROM certificates c"
        " JOIN programmes pr ON pr.programme_id = c.programme_id WHERE c.city = $1", city)
    vendors = await conn.fetch(
        "SELECT p.participant_id, x.vendor_id, coalesce(v.activated_at IS NOT NULL, false) AS active"
        " FROM participants p CROSS JOIN LATERAL ("
        "   SELECT p.vendor_id AS vendor_id WHERE p.vendor_id IS NOT NULL"
        "   UNION SELECT l.vendor_id FROM vendor_links l WHERE l.participant_id = p.participant_id) x"
        " LEFT JOIN vendor_links v ON v.vendor_id = x.vendor_id"
        " WHERE p.city = $1", city)
    sales = await conn.fetch(
        "SELECT vendor_id, sold_at FROM vendor_sales WHERE city = $1 ORDER BY vendor_id, sold_at", city)
    return {"facts": facts, "certified": certified, "vendors": vendors, "sales": sales}
