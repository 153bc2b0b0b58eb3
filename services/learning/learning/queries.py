"""The read side of learning's routes: ``async def fn(conn, city, ...)`` → the JSON the route answers.

Joins and a constant number of queries per page (no N+1); nothing is written. A thing that is missing, or
belongs to another city, is ``NotFound``; who may see a trainer's page is ``policy``'s call.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

from learning import domain, evaluation, policy
from shared.auth import Principal
from shared.cities import all_cities
from shared.errors import Forbidden, not_found

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


# ------------------------------------------------------------------------------------------- rendering

def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def session_json(row: asyncpg.Record, *, with_link: bool = False) -> dict[str, Any]:
    """A session as anyone may see it: the meeting link only with ``with_link`` (its trainer, a city admin)."""
    venue: dict[str, Any] = {"online": bool(row["meeting_link"])}
    if row["rw_hub_id"]:
        venue["rw_hub"] = {"rw_hub_id": row["rw_hub_id"], "name": row["hub_name"], "kelurahan": row["hub_kelurahan"],
                           "rw": row["hub_rw"], "address": row["hub_address"]}
    if row["meeting_link"] and with_link:
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


def enrolment_json(row: asyncpg.Record, now: datetime | None = None) -> dict[str, Any]:
    """An enrolment; the session's meeting link only from 30 minutes before its start (given ``now``), if booked."""
    out = {"enrolment_id": row["enrolment_id"], "session_id": row["session_id"],
           "programme_id": row["programme_id"], "participant_id": row["participant_id"], "status": row["status"],
           "created_at": iso(row["created_at"]), "updated_at": iso(row["updated_at"])}
    if "waitlist_position" in row.keys():
        out["waitlist_position"] = row["waitlist_position"]
    if "session_title" in row.keys():
        out.update({"session_title": row["session_title"], "starts_at": iso(row["starts_at"]),
                    "ends_at": iso(row["ends_at"]), "programme_title": row["programme_title"],
                    "style": row["style"], "rw_hub_id": row["rw_hub_id"], "online": bool(row["meeting_link"]),
                    "meeting_link": row["meeting_link"] if now is not None and domain.meeting_link_visible(
                        status=row["status"], starts_at=row["starts_at"], ends_at=row["ends_at"], now=now) else None,
                    "meeting_link_from": iso(row["starts_at"] - domain.MEETING_LINK_OPENS_BEFORE)
                    if row["meeting_link"] else None})
    return out


def participant_json(row: Any) -> dict[str, Any]:
    return {"participant_id": row["participant_id"], "name": row["name"], "phone": row["phone"],
            "group": row["grp"], "rw": row["rw"], "kelurahan": row["kelurahan"], "vendor_id": row["vendor_id"],
            "subject": row["subject"]}


def trainer_json(row: asyncpg.Record) -> dict[str, Any]:
    return {"trainer_id": row["trainer_id"], "name": row["name"], "subject": row["subject"],
            "phone": row["phone"], "expertise": row["expertise"]}


# ----------------------------------------------------------------------------------------------- public


# Every vendor a participant is (their own vendor id, or a proven link) and whether catalog activated it: the
# "became a vendor" step of the funnel and of the evaluation
PARTICIPANT_VENDORS = (
    "SELECT p.participant_id, x.vendor_id, coalesce(v.activated_at IS NOT NULL, false) AS active"
    " FROM participants p CROSS JOIN LATERAL ("
    "   SELECT p.vendor_id AS vendor_id WHERE p.vendor_id IS NOT NULL"
    "   UNION SELECT l.vendor_id FROM vendor_links l WHERE l.participant_id = p.participant_id) x"
    " LEFT JOIN vendor_links v ON v.vendor_id = x.vendor_id"
    " WHERE p.city = $1")


async def programmes(conn: asyncpg.Connection, city: str) -> dict[str, Any]:
    rows = await conn.fetch("SELECT * FROM programmes WHERE city = $1 ORDER BY created_at, title", city)
    return {"city": city, "programmes": [programme_json(r) for r in rows]}


async def programme(conn: asyncpg.Connection, city: str, programme_id: str, *,
                    with_sessions: bool = True) -> dict[str, Any]:
    """A programme with its sessions (two queries)."""
    row = await conn.fetchrow("SELECT * FROM programmes WHERE city = $1 AND programme_id = $2", city, programme_id)
    if row is None:
        raise not_found("Program", "Programme", "programme-not-found")
    if not with_sessions:
        return programme_json(row)
    sessions = await _sessions(conn, city, programme_id=programme_id)
    return {**programme_json(row), "sessions": [session_json(s) for s in sessions]}


async def _sessions(conn: asyncpg.Connection, city: str, *, programme_id: str | None = None,
                    trainer_id: str | None = None, upcoming_after: datetime | None = None) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        SESSION_VIEW + " WHERE s.city = $1 AND ($2::text IS NULL OR s.programme_id = $2)"
        " AND ($3::text IS NULL OR s.trainer_id = $3) AND ($4::timestamptz IS NULL OR s.ends_at >= $4)"
        " ORDER BY s.starts_at, s.session_id",
        city, programme_id, trainer_id, upcoming_after))


async def sessions(conn: asyncpg.Connection, city: str, *, programme_id: str | None = None,
                   upcoming_after: datetime | None = None) -> dict[str, Any]:
    rows = await _sessions(conn, city, programme_id=programme_id, upcoming_after=upcoming_after)
    return {"city": city, "sessions": [session_json(r) for r in rows]}


async def _session(conn: asyncpg.Connection, city: str, session_id: str) -> asyncpg.Record:
    row = await conn.fetchrow(SESSION_VIEW + " WHERE s.city = $1 AND s.session_id = $2", city, session_id)
    if row is None:
        raise not_found("Sesi", "Session", "session-not-found")
    return row


async def session(conn: asyncpg.Connection, city: str, session_id: str) -> dict[str, Any]:
    return session_json(await _session(conn, city, session_id))


async def certificate(conn: asyncpg.Connection, raw_code: str) -> dict[str, Any]:
    """Public verification: only the holder's name, the programme, the city and the date."""
    code = domain.normalise_certificate_code(raw_code)
    row = None
    if 4 <= len(code) <= 20 and code.isascii() and code.isalnum():
        row = await conn.fetchrow(
            "SELECT c.code, c.city, c.issued_on, p.name, pr.title, pr.style, pr.partner FROM certificates c"
            " JOIN participants p ON p.participant_id = c.participant_id"
            " JOIN programmes pr ON pr.programme_id = c.programme_id WHERE c.code = $1", code)
    if row is None:
        raise not_found("Sertifikat", "Certificate", "certificate-not-found")
    city = all_cities().get(row["city"])
    return {"valid": True, "code": row["code"], "name": row["name"], "programme": row["title"],
            "programme_style": row["style"], "partner": row["partner"], "city": row["city"],
            "city_name": city.name if city else row["city"], "issued_on": row["issued_on"].isoformat()}


# ------------------------------------------------------------------------------------------ participant

async def _participant(conn: asyncpg.Connection, city: str, subject: str) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM participants WHERE city = $1 AND subject = $2", city, subject)
    if row is None:
        raise Forbidden("not-a-participant",
                        "Anda belum terdaftar sebagai peserta. / You are not registered as a participant.")
    return row


async def me(conn: asyncpg.Connection, city: str, subject: str) -> dict[str, Any]:
    return participant_json(await _participant(conn, city, subject))


async def my_enrolments(conn: asyncpg.Connection, city: str, subject: str,
                        now: datetime | None = None) -> dict[str, Any]:
    p = await _participant(conn, city, subject)
    rows = await conn.fetch(ENROLMENT_VIEW + " WHERE e.city = $1 AND e.participant_id = $2 ORDER BY e.seq",
                            city, p["participant_id"])
    return {"enrolments": [enrolment_json(r, now) for r in rows]}


async def my_certificates(conn: asyncpg.Connection, city: str, subject: str) -> dict[str, Any]:
    p = await _participant(conn, city, subject)
    rows = await conn.fetch(
        "SELECT c.code, c.issued_on, c.programme_id, pr.title, pr.style, pr.partner FROM certificates c"
        " JOIN programmes pr ON pr.programme_id = c.programme_id"
        " WHERE c.city = $1 AND c.participant_id = $2 ORDER BY c.issued_at", city, p["participant_id"])
    return {"certificates": [{"code": r["code"], "programme_id": r["programme_id"], "programme": r["title"],
                              "style": r["style"], "partner": r["partner"], "issued_on": r["issued_on"].isoformat(),
                              "verify_path": f"/certificates/{r['code']}"} for r in rows]}


# ---------------------------------------------------------------------------------------------- trainer

async def trainer_sessions(conn: asyncpg.Connection, city: str, subject: str) -> dict[str, Any]:
    t = await conn.fetchrow("SELECT * FROM trainers WHERE city = $1 AND subject = $2", city, subject)
    if t is None:
        raise Forbidden("not-a-trainer", "Anda belum terdaftar sebagai pelatih. / You are not registered as a trainer.")
    rows = await _sessions(conn, city, trainer_id=t["trainer_id"])
    return {"trainer": trainer_json(t), "sessions": [session_json(r, with_link=True) for r in rows]}


async def _trainer_session(conn: asyncpg.Connection, city: str, session_id: str, who: Principal) -> asyncpg.Record:
    """The session (with the caller's trainer id, in one query), if the caller may run it."""
    row = await conn.fetchrow(
        "SELECT v.*, (SELECT trainer_id FROM trainers WHERE city = $1 AND subject = $3) AS callers_trainer_id"
        f" FROM ({SESSION_VIEW} WHERE s.city = $1 AND s.session_id = $2) v", city, session_id, who.sub)
    if row is None:
        raise not_found("Sesi", "Session", "session-not-found")
    policy.ensure_runs_session(who, row["trainer_id"], row["callers_trainer_id"])
    return row


async def roster(conn: asyncpg.Connection, city: str, session_id: str, who: Principal, *,
                 include_cancelled: bool = False) -> dict[str, Any]:
    s = await _trainer_session(conn, city, session_id, who)
    rows = await conn.fetch(
        "SELECT e.enrolment_id, e.status, e.seq, p.participant_id, p.name, p.phone, p.grp, p.rw, p.kelurahan,"
        " a.method AS attendance_method, a.recorded_at"
        " FROM enrolments e JOIN participants p ON p.participant_id = e.participant_id"
        " LEFT JOIN attendance a ON a.enrolment_id = e.enrolment_id"
        " WHERE e.city = $1 AND e.session_id = $2 AND ($3 OR e.status <> 'cancelled')"
        " ORDER BY e.status = 'cancelled', e.seq", city, session_id, include_cancelled)
    waiting = 0
    entries = []
    for r in rows:
        position = None
        if r["status"] == "waitlisted":
            waiting += 1
            position = waiting
        entries.append({"enrolment_id": r["enrolment_id"], "participant_id": r["participant_id"], "name": r["name"],
                        "phone": r["phone"], "group": r["grp"], "rw": r["rw"], "kelurahan": r["kelurahan"],
                        "status": r["status"], "waitlist_position": position,
                        "attendance": ({"method": r["attendance_method"], "at": iso(r["recorded_at"])}
                                       if r["attendance_method"] else None)})
    return {"session": session_json(s, with_link=True), "roster": entries}


def code_payload(city: str, session_id: str, code: str) -> str:
    return f"pasarkota:check-in?city={city}&session={session_id}&code={code}"


async def check_in_code(conn: asyncpg.Connection, city: str, session_id: str, who: Principal,
                        now: datetime) -> dict[str, Any]:
    """The rotating code of a session the caller runs, with its validity and the check-in window."""
    s = await _trainer_session(conn, city, session_id, who)
    code = domain.check_in_code(s["checkin_secret"], now)
    opens, closes = domain.check_in_window(s["starts_at"], s["ends_at"])
    return {"session_id": session_id, "code": code, "valid_until": domain.code_valid_until(now).isoformat(),
            "rotates_every_seconds": domain.CODE_PERIOD_SECONDS, "check_in_opens_at": opens.isoformat(),
            "check_in_closes_at": closes.isoformat(), "check_in_open": opens <= now <= closes,
            "qr_payload": code_payload(city, session_id, code),
            "qr_png_path": f"/cities/{city}/trainer/sessions/{session_id}/check-in-code.png"}


# ------------------------------------------------------------------------------------------- city admin

async def trainer(conn: asyncpg.Connection, city: str, trainer_id: str) -> dict[str, Any]:
    row = await conn.fetchrow("SELECT * FROM trainers WHERE city = $1 AND trainer_id = $2", city, trainer_id)
    if row is None:
        raise not_found("Pelatih", "Trainer", "trainer-not-found")
    return trainer_json(row)


async def trainers(conn: asyncpg.Connection, city: str) -> dict[str, Any]:
    rows = await conn.fetch("SELECT * FROM trainers WHERE city = $1 ORDER BY name", city)
    return {"trainers": [trainer_json(r) for r in rows]}


async def rw_hubs(conn: asyncpg.Connection, city: str) -> dict[str, Any]:
    rows = await conn.fetch("SELECT * FROM rw_hubs WHERE city = $1 ORDER BY kelurahan, rw", city)
    return {"rw_hubs": [{"rw_hub_id": r["rw_hub_id"], "name": r["name"], "kelurahan": r["kelurahan"], "rw": r["rw"],
                         "address": r["address"], "active": r["active"]} for r in rows]}


async def enrolment_detail(conn: asyncpg.Connection, city: str, enrolment_id: str) -> dict[str, Any]:
    row = await conn.fetchrow(ENROLMENT_VIEW + " WHERE e.city = $1 AND e.enrolment_id = $2", city, enrolment_id)
    if row is None:
        raise not_found("Pendaftaran", "Enrolment", "enrolment-not-found")
    history = await conn.fetch("SELECT from_status, to_status, reason, actor, at FROM enrolment_history"
                               " WHERE enrolment_id = $1 ORDER BY id", enrolment_id)
    return {**enrolment_json(row), "history": [{"from": h["from_status"], "to": h["to_status"], "reason": h["reason"],
                                                "actor": h["actor"], "at": iso(h["at"])} for h in history]}


async def programme_report(conn: asyncpg.Connection, city: str) -> dict[str, Any]:
    rows = await conn.fetch(
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
    return {"city": city, "programmes": [dict(r) for r in rows]}


async def funnel_report(conn: asyncpg.Connection, city: str, *, style: str | None = None) -> dict[str, object]:
    """The funnel (four queries, whatever the size of the city), counted by ``domain.funnel``."""
    facts = await conn.fetch(
        "SELECT e.participant_id, pr.style, p.grp, p.rw, p.kelurahan,"
        " bool_or(e.status <> 'cancelled') AS enrolled, bool_or(e.status = 'attended') AS attended"
        " FROM enrolments e JOIN programmes pr ON pr.programme_id = e.programme_id"
        " JOIN participants p ON p.participant_id = e.participant_id"
        " WHERE e.city = $1 GROUP BY e.participant_id, pr.style, p.grp, p.rw, p.kelurahan", city)
    certified_rows = await conn.fetch(
        "SELECT DISTINCT c.participant_id, pr.style FROM certificates c"
        " JOIN programmes pr ON pr.programme_id = c.programme_id WHERE c.city = $1", city)
    vendor_rows = await conn.fetch(PARTICIPANT_VENDORS, city)
    sales_rows = await conn.fetch(
        "SELECT vendor_id, sold_at FROM vendor_sales WHERE city = $1 ORDER BY vendor_id, sold_at", city)
    certified = {(r["participant_id"], r["style"]) for r in certified_rows}
    vendors_of: dict[str, list[tuple[str, bool]]] = {}
    for r in vendor_rows:
        vendors_of.setdefault(r["participant_id"], []).append((r["vendor_id"], r["active"]))
    sales_of: dict[str, list[datetime]] = {}
    for r in sales_rows:
        sales_of.setdefault(r["vendor_id"], []).append(r["sold_at"])
    rows = []
    for f in facts:
        if style and f["style"] != style:
            continue
        vendors = vendors_of.get(f["participant_id"], [])
        sales = tuple(sorted(t for vendor_id, _ in vendors for t in sales_of.get(vendor_id, [])))
        rows.append(domain.ParticipantFacts(
            participant_id=f["participant_id"], style=f["style"], group=f["grp"], rw=f["rw"],
            kelurahan=f["kelurahan"], enrolled=f["enrolled"], attended=f["attended"],
            certified=(f["participant_id"], f["style"]) in certified,
            became_vendor=any(active for _, active in vendors), sales=sales))
    report = domain.funnel(rows)
    report["city"] = city
    report["style_filter"] = style
    return report


# ------------------------------------------------------------- attendance reports, session history (#13)

async def attendance_reports(conn: asyncpg.Connection, city: str, session_id: str, who: Principal) -> dict[str, Any]:
    """The session's imported reports (newest first), the rows still unmatched, and the minimum-minutes rule the
    next import starts from (the last import's, else the default for the session's length)."""
    from learning.attendance_report import default_min_minutes

    s = await _trainer_session(conn, city, session_id, who)
    imports = await conn.fetch(
        "SELECT i.*, count(r.*) AS people,"
        " count(r.*) FILTER (WHERE r.outcome = 'recorded') AS recorded,"
        " count(r.*) FILTER (WHERE r.outcome = 'already_attended') AS already_attended,"
        " count(r.*) FILTER (WHERE r.outcome = 'too_short') AS too_short,"
        " count(r.*) FILTER (WHERE r.outcome = 'waitlisted') AS waitlisted,"
        " count(r.*) FILTER (WHERE r.outcome = 'unmatched') AS unmatched"
        " FROM attendance_imports i LEFT JOIN attendance_import_rows r USING (import_id)"
        " WHERE i.city = $1 AND i.session_id = $2 GROUP BY i.import_id ORDER BY i.imported_at DESC LIMIT 20",
        city, session_id)
    unmatched = await conn.fetch(
        "SELECT r.import_id, r.row_no, r.name, r.email, r.phone, r.minutes, r.qualifies FROM attendance_import_rows r"
        " JOIN attendance_imports i USING (import_id) WHERE r.city = $1 AND r.session_id = $2"
        " AND r.enrolment_id IS NULL ORDER BY i.imported_at DESC, r.row_no LIMIT 500", city, session_id)
    length = int((s["ends_at"] - s["starts_at"]).total_seconds() // 60)
    return {
        "session_id": session_id, "session_minutes": length,
        "min_minutes": imports[0]["min_minutes"] if imports else default_min_minutes(length),
        "imports": [{"import_id": r["import_id"], "filename": r["filename"], "platform": r["platform"],
                     "min_minutes": r["min_minutes"], "imported_by": r["imported_by"],
                     "imported_at": iso(r["imported_at"]), "people": r["people"], "recorded": r["recorded"],
                     "already_attended": r["already_attended"], "too_short": r["too_short"],
                     "waitlisted": r["waitlisted"], "unmatched": r["unmatched"]} for r in imports],
        "unmatched": [{"import_id": r["import_id"], "row_no": r["row_no"], "name": r["name"], "email": r["email"],
                       "phone": r["phone"], "minutes": r["minutes"], "qualifies": r["qualifies"]} for r in unmatched],
    }


async def session_history(conn: asyncpg.Connection, city: str, session_id: str, who: Principal) -> dict[str, Any]:
    """The audit list of one session: attendance changed by hand, reports imported and matched, roster messages."""
    import json

    await _trainer_session(conn, city, session_id, who)
    rows = await conn.fetch(
        "SELECT a.id, a.at, a.actor, a.entity, a.entity_id, a.action, a.before, a.after,"
        " p.name AS participant_name FROM audit_log a"
        " LEFT JOIN enrolments e ON a.entity = 'enrolment' AND e.enrolment_id = a.entity_id"
        " LEFT JOIN participants p ON p.participant_id = e.participant_id"
        " WHERE a.city = $1 AND ((a.entity = 'session' AND a.entity_id = $2)"
        "   OR (a.entity = 'enrolment' AND e.session_id = $2)"
        "   OR (a.entity = 'attendance_import' AND a.entity_id IN"
        "       (SELECT import_id FROM attendance_imports WHERE session_id = $2)))"
        " ORDER BY a.id DESC LIMIT 100", city, session_id)
    return {"entries": [{"id": r["id"], "at": iso(r["at"]), "actor": r["actor"], "entity": r["entity"],
                         "entity_id": r["entity_id"], "action": r["action"],
                         "participant_name": r["participant_name"],
                         "before": json.loads(r["before"]) if r["before"] is not None else None,
                         "after": json.loads(r["after"]) if r["after"] is not None else None} for r in rows]}


async def my_certificate(conn: asyncpg.Connection, city: str, subject: str, code: str) -> dict[str, Any]:
    """One of the caller's own certificates, with what its PDF prints (another's code is "not found")."""
    p = await _participant(conn, city, subject)
    row = await conn.fetchrow(
        "SELECT c.code, c.issued_on, pr.title, pr.style, pr.partner,"
        " (SELECT min(s.starts_at) FROM sessions s WHERE s.programme_id = c.programme_id) AS first_session,"
        " (SELECT max(s.ends_at) FROM sessions s WHERE s.programme_id = c.programme_id) AS last_session"
        " FROM certificates c JOIN programmes pr ON pr.programme_id = c.programme_id"
        " WHERE c.city = $1 AND c.participant_id = $2 AND c.code = $3",
        city, p["participant_id"], domain.normalise_certificate_code(code))
    if row is None:
        raise not_found("Sertifikat", "Certificate", "certificate-not-found")
    c = all_cities().get(city)
    return {"code": row["code"], "name": p["name"], "programme": row["title"], "style": row["style"],
            "partner": row["partner"], "city": city, "city_name": c.name if c else city,
            "issued_on": row["issued_on"].isoformat(), "first_session": iso(row["first_session"]),
            "last_session": iso(row["last_session"]), "verify_path": f"/certificates/{row['code']}"}

# ------------------------------------------------------------------------- back office (issue #13)

def material_json(row: asyncpg.Record, *, session_ended: bool = True) -> dict[str, Any]:
    out = {"material_id": row["material_id"], "programme_id": row["programme_id"], "module": row["module"],
           "session_id": row["session_id"], "kind": row["kind"], "title": row["title"],
           "content_type": row["content_type"], "size_bytes": row["size_bytes"],
           "created_at": iso(row["created_at"])}
    if row["kind"] == "file":
        out["download_path"] = f"/cities/{row['city']}/materials/{row['material_id']}/file"
    elif row["kind"] == "link" or session_ended:
        out["url"] = row["url"]
    return out


async def admin_session(conn: asyncpg.Connection, city: str, session_id: str,
                        who: Principal | None = None) -> dict[str, Any]:
    """A session with its meeting link: for the city admin, or its own trainer (403 for another trainer)."""
    if who is not None and not who.has("city_admin"):
        return session_json(await _trainer_session(conn, city, session_id, who), with_link=True)
    return session_json(await _session(conn, city, session_id), with_link=True)


async def admin_programme(conn: asyncpg.Connection, city: str, programme_id: str) -> dict[str, Any]:
    """A programme with its sessions (links included) and materials, for the city admin's page."""
    row = await conn.fetchrow("SELECT * FROM programmes WHERE city = $1 AND programme_id = $2", city, programme_id)
    if row is None:
        raise not_found("Program", "Programme", "programme-not-found")
    sessions = await _sessions(conn, city, programme_id=programme_id)
    materials = await conn.fetch("SELECT * FROM materials WHERE city = $1 AND programme_id = $2 ORDER BY created_at",
                                 city, programme_id)
    return {**programme_json(row), "sessions": [session_json(s, with_link=True) for s in sessions],
            "materials": [material_json(m) for m in materials]}


async def _may_see_materials(conn: asyncpg.Connection, city: str, programme_id: str, session_id: str | None,
                             who: Principal) -> bool:
    """City admin; a trainer of one of the programme's sessions; a participant booked (or attended) in the
    session (session material) or in any session of the programme (module material)."""
    if who.city != city:
        return False
    if who.has("city_admin"):
        return True
    return bool(await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM sessions s JOIN trainers t ON t.trainer_id = s.trainer_id"
        "  WHERE s.city = $1 AND s.programme_id = $2 AND t.subject = $4 AND ($3::text IS NULL OR s.session_id = $3))"
        " OR EXISTS (SELECT 1 FROM enrolments e JOIN participants p ON p.participant_id = e.participant_id"
        "  WHERE e.city = $1 AND e.programme_id = $2 AND p.subject = $4 AND e.status IN ('booked', 'attended')"
        "  AND ($3::text IS NULL OR e.session_id = $3))",
        city, programme_id, session_id, who.sub))


async def session_materials(conn: asyncpg.Connection, city: str, session_id: str, who: Principal,
                            now: datetime) -> dict[str, Any]:
    """The materials of a session and of its module/programme, for those who may see them (404 otherwise)."""
    s = await _session(conn, city, session_id)
    if not await _may_see_materials(conn, city, s["programme_id"], session_id, who):
        raise not_found("Sesi", "Session", "session-not-found")
    rows = await conn.fetch(
        "SELECT * FROM materials WHERE city = $1 AND programme_id = $2 AND (session_id = $3 OR"
        " (session_id IS NULL AND (module IS NULL OR module IS NOT DISTINCT FROM $4))) ORDER BY created_at",
        city, s["programme_id"], session_id, s["module"])
    ended = now >= s["ends_at"]
    return {"session_id": session_id, "materials": [material_json(m, session_ended=ended) for m in rows
                                                    if m["kind"] != "recording" or ended or who.has("city_admin")
                                                    or who.has("trainer")]}


async def material_file(conn: asyncpg.Connection, city: str, material_id: str,
                        who: Principal) -> tuple[bytes, str, str]:
    """(bytes, content type, file name) of an uploaded material, for those who may see it (404 otherwise)."""
    from learning.storage import PgBlobStore

    row = await conn.fetchrow("SELECT * FROM materials WHERE city = $1 AND material_id = $2 AND kind = 'file'",
                              city, material_id)
    if row is None or not await _may_see_materials(conn, city, row["programme_id"], row["session_id"], who):
        raise not_found("Materi", "Material", "material-not-found")
    content = await PgBlobStore(conn).get(row["storage_key"])
    if content is None:
        raise not_found("Materi", "Material", "material-not-found")
    return content, row["content_type"], f"materi-{material_id}.{domain.MATERIAL_EXTENSIONS[row['content_type']]}"

# ------------------------------------------------------------------------------- evaluation (issue #14)

async def evaluation_report(conn: asyncpg.Connection, city: str, *, date_from: date | None = None,
                            date_to: date | None = None, programme_id: str | None = None,
                            style: str | None = None) -> dict[str, object]:
    """The evaluation report (``learning.evaluation``): five queries over learning's own tables and its
    projections of catalog's vendor events and orders' completed orders, whatever the size of the city.
    ``date_from``/``date_to`` select journeys by enrolment day (Asia/Jakarta) and the comparison's sales by
    sale day."""
    evaluation.check_range(date_from, date_to)
    programmes = {r["programme_id"]: r["title"] for r in await conn.fetch(
        "SELECT programme_id, title FROM programmes WHERE city = $1", city)}
    if programme_id is not None and programme_id not in programmes:
        raise not_found("Program", "Programme", "programme-not-found")
    journeys_rows = await conn.fetch(
        "SELECT e.participant_id, e.programme_id, pr.title, pr.style, p.grp, p.kelurahan, p.rw,"
        " min((e.created_at AT TIME ZONE 'Asia/Jakarta')::date) AS enrolled_on,"
        " bool_or(e.status <> 'cancelled') AS enrolled, bool_or(e.status = 'attended') AS attended,"
        " (SELECT min(c.issued_on) FROM certificates c WHERE c.programme_id = e.programme_id"
        "   AND c.participant_id = e.participant_id) AS certified_on"
        " FROM enrolments e JOIN programmes pr ON pr.programme_id = e.programme_id"
        " JOIN participants p ON p.participant_id = e.participant_id"
        " WHERE e.city = $1 AND ($2::text IS NULL OR e.programme_id = $2)"
        "   AND ($3::text IS NULL OR pr.style = $3)"
        " GROUP BY e.participant_id, e.programme_id, pr.title, pr.style, p.grp, p.kelurahan, p.rw",
        city, programme_id, style)
    vendor_rows = await conn.fetch(PARTICIPANT_VENDORS, city)
    sales_rows = await conn.fetch(
        "SELECT vendor_id, order_id, sold_at, order_total FROM vendor_sales WHERE city = $1", city)
    vendors_of: dict[str, list[tuple[str, bool]]] = {}
    for r in vendor_rows:
        vendors_of.setdefault(r["participant_id"], []).append((r["vendor_id"], r["active"]))
    sales_of: dict[str, list[evaluation.Sale]] = {}
    for r in sales_rows:
        sales_of.setdefault(r["vendor_id"], []).append(
            evaluation.Sale(r["order_id"], r["sold_at"], int(r["order_total"])))
    journeys = []
    for f in journeys_rows:
        if not evaluation.in_range(f["enrolled_on"], date_from, date_to):
            continue
        vendors = vendors_of.get(f["participant_id"], [])
        journeys.append(evaluation.Journey(
            participant_id=f["participant_id"], programme_id=f["programme_id"], programme_title=f["title"],
            style=f["style"], group=f["grp"], kelurahan=f["kelurahan"], rw=f["rw"], enrolled_on=f["enrolled_on"],
            enrolled=f["enrolled"], attended=f["attended"], certified_on=f["certified_on"],
            onboarded=any(active for _, active in vendors),
            sales=tuple(s for vendor_id, _ in vendors for s in sales_of.get(vendor_id, []))))
    rep = evaluation.report(journeys, programmes=programmes)
    # comparison group: active vendors linked to a certified participant vs active vendors linked to nobody
    certified = {r["participant_id"] for r in await conn.fetch(
        "SELECT DISTINCT participant_id FROM certificates WHERE city = $1", city)}
    trained_vendors = {v for pid, vs in vendors_of.items() if pid in certified for v, _ in vs}
    linked_vendors = {v for vs in vendors_of.values() for v, _ in vs}
    active = [r["vendor_id"] for r in await conn.fetch(
        "SELECT vendor_id FROM vendor_links WHERE city = $1 AND activated_at IS NOT NULL", city)]

    def sales_block(vendor_id: str) -> tuple[str, int, int]:
        sold = [s for s in sales_of.get(vendor_id, [])
                if evaluation.in_range(s.sold_at.date(), date_from, date_to)]
        return vendor_id, len(sold), sum(s.total for s in sold)

    rep["comparison"] = evaluation.comparison(
        [sales_block(v) for v in active if v in trained_vendors],
        [sales_block(v) for v in active if v not in linked_vendors])
    rep.update(city=city, filters={"from": date_from.isoformat() if date_from else None,
                                   "to": date_to.isoformat() if date_to else None,
                                   "programme_id": programme_id, "style": style})
    return rep
