"""Commands of the learning service: load, ask the domain, save, emit (outbox) — one transaction each.

Every command takes ``now`` so the demo seeder can replay history through the very same code paths.
Locks, always taken in this order so they cannot deadlock:
  enrol / cancel:      session row (FOR NO KEY UPDATE) → enrolment rows
  attendance:          participant row (FOR NO KEY UPDATE) → enrolment row
NO KEY UPDATE (not UPDATE) so the locks never block the foreign-key checks of inserts referencing those rows.
The session lock makes capacity and waitlist promotion exact under concurrency; the participant lock makes
the completion check see every attendance of that participant, so a certificate is never missed or doubled.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import asyncpg

from learning import domain, store
from learning.domain import DomainError
from shared.cities import get_city
from shared.envelope import Envelope
from shared.events.catalog import (
    RwHubRegistered,
    VendorActivated,
    VendorDraftOpened,
    VendorSuspended,
    VendorTrainedBadgeGranted,
)
from shared.events.learning import (
    AttendanceRecorded,
    CertificateIssued,
    EnrolmentBooked,
    EnrolmentCancelled,
    EnrolmentPromoted,
    EnrolmentWaitlisted,
)
from shared.events.orders import OrderCompleted
from shared.ids import new_id
from shared.logging import get_logger
from shared.outbox import emit

log = get_logger(__name__)


def _not_found(what_id: str, what_en: str, code: str) -> DomainError:
    return DomainError(404, code, f"{what_id} tidak ditemukan. / {what_en} not found.")


# ---------------------------------------------------------------------------------------- admin: setup

async def create_trainer(conn: asyncpg.Connection, city: str, *, name: str, subject: str | None,
                         phone: str | None, expertise: str | None, trainer_id: str | None = None) -> str:
    trainer_id = trainer_id or new_id()
    subject = subject or f"trainer-{trainer_id}"
    inserted = await conn.fetchval(
        "INSERT INTO trainers(trainer_id, city, name, subject, phone, expertise) VALUES ($1,$2,$3,$4,$5,$6)"
        " ON CONFLICT DO NOTHING RETURNING trainer_id", trainer_id, city, name, subject, phone, expertise)
    if inserted is None:
        raise DomainError(409, "trainer-exists", "Pelatih dengan subjek ini sudah ada. / This trainer already exists.")
    return trainer_id


async def create_programme(conn: asyncpg.Connection, city: str, *, title: str, style: str, partner: str | None,
                           modules: list[str], description: str, programme_id: str | None = None) -> str:
    if style not in domain.STYLES:
        raise DomainError(422, "bad-style", "Gaya program tidak dikenal. / Unknown programme style.")
    programme_id = programme_id or new_id()
    await conn.execute(
        "INSERT INTO programmes(programme_id, city, title, style, partner, modules, description)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7)", programme_id, city, title, style, partner, modules, description)
    return programme_id


async def create_session(conn: asyncpg.Connection, city: str, *, programme_id: str, title: str, module: str | None,
                         starts_at: datetime, ends_at: datetime, capacity: int, rw_hub_id: str | None,
                         meeting_link: str | None, trainer_id: str | None, required: bool, now: datetime,
                         session_id: str | None = None, check_hub: bool = True) -> str:
    programme = await conn.fetchrow("SELECT style FROM programmes WHERE city = $1 AND programme_id = $2",
                                    city, programme_id)
    if programme is None:
        raise _not_found("Program", "Programme", "programme-not-found")
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise DomainError(422, "naive-time", "Waktu harus menyertakan zona waktu. / Times need a time zone.")
    if ends_at <= starts_at:
        raise DomainError(422, "bad-times", "Waktu selesai harus setelah waktu mulai. / The end must follow the start.")
    if starts_at <= now:
        raise DomainError(422, "session-in-past", "Sesi tidak boleh di masa lalu. / A session cannot be in the past.")
    style = programme["style"]
    if style == "in_person" and not rw_hub_id:
        raise DomainError(422, "venue-required",
                          "Sesi tatap muka perlu balai RW. / An in-person session needs an RW hub.")
    if style == "webinar" and not meeting_link:
        raise DomainError(422, "meeting-link-required", "Webinar perlu tautan rapat. / A webinar needs a meeting link.")
    if style == "hybrid" and not (rw_hub_id or meeting_link):
        raise DomainError(422, "venue-required", "Sesi hibrida perlu balai RW atau tautan. / A hybrid session needs a "
                                                 "venue or a link.")
    if meeting_link and not re.fullmatch(r"https://\S{3,500}", meeting_link):
        raise DomainError(422, "bad-meeting-link", "Tautan rapat harus https://… / The meeting link must be https://…")
    if rw_hub_id and check_hub:
        hub = await conn.fetchval("SELECT active FROM rw_hubs WHERE city = $1 AND rw_hub_id = $2", city, rw_hub_id)
        if not hub:
            raise DomainError(422, "unknown-rw-hub",
                              "Balai RW tidak dikenal di kota ini. / Unknown RW hub in this city.")
    if trainer_id is not None:
        known = await conn.fetchval("SELECT 1 FROM trainers WHERE city = $1 AND trainer_id = $2", city, trainer_id)
        if not known:
            raise DomainError(422, "unknown-trainer", "Pelatih tidak dikenal. / Unknown trainer.")
    session_id = session_id or new_id()
    await conn.execute(
        "INSERT INTO sessions(session_id, city, programme_id, title, module, starts_at, ends_at, rw_hub_id,"
        " meeting_link, capacity, trainer_id, required, checkin_secret)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
        session_id, city, programme_id, title, module, starts_at, ends_at, rw_hub_id if style != "webinar" else None,
        meeting_link if style != "in_person" else None, capacity, trainer_id, required, domain.new_session_secret())
    return session_id


# ---------------------------------------------------------------------------------------- participants

async def register_participant(conn: asyncpg.Connection, city: str, *, name: str, phone: str, group: str,
                               rw: str | None, kelurahan: str | None, vendor_id: str | None = None,
                               subject: str | None = None, participant_id: str | None = None) -> asyncpg.Record:
    normal_phone = domain.normalise_phone(phone)
    if normal_phone is None:
        raise DomainError(422, "bad-phone",
                          "Nomor HP tidak valid (contoh 0812…). / Invalid mobile number (e.g. 0812…).")
    if group not in domain.GROUPS:
        raise DomainError(422, "bad-group", "Kelompok peserta tidak dikenal. / Unknown participant group.")
    participant_id = participant_id or new_id()
    subject = subject or f"participant-{participant_id}"
    row = await conn.fetchrow(
        "INSERT INTO participants(participant_id, city, name, phone, grp, rw, kelurahan, vendor_id, subject)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT DO NOTHING RETURNING *",
        participant_id, city, name.strip(), normal_phone, group, domain.normalise_rw(rw),
        (kelurahan or "").strip() or None, vendor_id, subject)
    if row is None:
        raise DomainError(409, "already-registered",
                          "Nomor HP ini sudah terdaftar sebagai peserta. / This phone number is already registered.")
    return row


# ------------------------------------------------------------------------------------------- enrolment

async def _move(conn: asyncpg.Connection, enrolment: asyncpg.Record | dict[str, Any], target: str, *, reason: str,
                actor: str | None, now: datetime) -> None:
    domain.require_move(enrolment["status"], target)
    await conn.execute("UPDATE enrolments SET status = $2, updated_at = $3 WHERE enrolment_id = $1",
                       enrolment["enrolment_id"], target, now)
    await conn.execute(
        "INSERT INTO enrolment_history(enrolment_id, city, from_status, to_status, reason, actor, at)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7)",
        enrolment["enrolment_id"], enrolment["city"], enrolment["status"], target, reason, actor, now)


async def _lock_session(conn: asyncpg.Connection, city: str, session_id: str) -> asyncpg.Record:
    session = await conn.fetchrow("SELECT * FROM sessions WHERE city = $1 AND session_id = $2 FOR NO KEY UPDATE",
                                  city, session_id)
    if session is None:
        raise _not_found("Sesi", "Session", "session-not-found")
    return session


async def _seats_taken(conn: asyncpg.Connection, session_id: str) -> int:
    return int(await conn.fetchval(
        "SELECT count(*) FROM enrolments WHERE session_id = $1 AND status IN ('booked', 'attended', 'no_show')",
        session_id))


async def enrol(conn: asyncpg.Connection, city: str, session_id: str, participant_id: str, *, now: datetime,
                correlation_id: str | None = None, enrolment_id: str | None = None) -> dict[str, Any]:
    """Book a seat or join the waitlist. Serialised per session by the row lock: never overbooked."""
    async with conn.transaction():
        session = await _lock_session(conn, city, session_id)
        domain.ensure_enrolment_open(session["starts_at"], now)
        live = await conn.fetchval(
            "SELECT enrolment_id FROM enrolments WHERE session_id = $1 AND participant_id = $2"
            " AND status <> 'cancelled'", session_id, participant_id)
        if live is not None:
            raise DomainError(409, "already-enrolled",
                              "Anda sudah terdaftar di sesi ini. / You are already enrolled in this session.")
        status = domain.seat_or_waitlist(session["capacity"], await _seats_taken(conn, session_id))
        enrolment_id = enrolment_id or new_id()
        await conn.execute(
            "INSERT INTO enrolments(enrolment_id, city, session_id, programme_id, participant_id, status,"
            " created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$7)",
            enrolment_id, city, session_id, session["programme_id"], participant_id, status, now)
        await conn.execute(
            "INSERT INTO enrolment_history(enrolment_id, city, from_status, to_status, reason, actor, at)"
            " VALUES ($1,$2,NULL,$3,'enrolled',$4,$5)", enrolment_id, city, status, participant_id, now)
        ids = {"enrolment_id": enrolment_id, "participant_id": participant_id,
               "programme_id": session["programme_id"], "session_id": session_id}
        position = None
        if status == "booked":
            await emit(conn, EnrolmentBooked(**ids), city=city, correlation_id=correlation_id)
        else:
            position = int(await conn.fetchval(
                "SELECT count(*) FROM enrolments WHERE session_id = $1 AND status = 'waitlisted'", session_id))
            await emit(conn, EnrolmentWaitlisted(**ids, position=position), city=city, correlation_id=correlation_id)
        return {**ids, "status": status, "waitlist_position": position}


async def cancel(conn: asyncpg.Connection, city: str, enrolment_id: str, *, participant_id: str | None,
                 actor: str, now: datetime, correlation_id: str | None = None) -> dict[str, Any]:
    """Cancel an enrolment; a freed seat goes to the first on the waitlist, exactly once (under the lock)."""
    async with conn.transaction():
        head = await conn.fetchrow("SELECT session_id, participant_id FROM enrolments WHERE city = $1"
                                   " AND enrolment_id = $2", city, enrolment_id)
        if head is None or (participant_id is not None and head["participant_id"] != participant_id):
            raise _not_found("Pendaftaran", "Enrolment", "enrolment-not-found")
        session = await _lock_session(conn, city, head["session_id"])
        enrolment = await conn.fetchrow("SELECT * FROM enrolments WHERE enrolment_id = $1 FOR UPDATE", enrolment_id)
        domain.ensure_cancellable(enrolment["status"], session["starts_at"], now)
        await _move(conn, enrolment, "cancelled", reason="cancelled", actor=actor, now=now)
        ids = {"participant_id": enrolment["participant_id"], "programme_id": enrolment["programme_id"],
               "session_id": enrolment["session_id"]}
        await emit(conn, EnrolmentCancelled(enrolment_id=enrolment_id, **ids), city=city,
                   correlation_id=correlation_id)
        promoted = await _promote_waitlist(conn, session, now=now, correlation_id=correlation_id)
        return {"enrolment_id": enrolment_id, "status": "cancelled", "promoted": promoted}


async def _promote_waitlist(conn: asyncpg.Connection, session: asyncpg.Record, *, now: datetime,
                            correlation_id: str | None) -> list[str]:
    """Fill free seats from the head of the waitlist. Caller holds the session lock."""
    promoted: list[str] = []
    seats_taken = await _seats_taken(conn, session["session_id"])
    if seats_taken >= session["capacity"]:
        return promoted
    waiting = {r["enrolment_id"]: r for r in await conn.fetch(
        "SELECT * FROM enrolments WHERE session_id = $1 AND status = 'waitlisted' ORDER BY seq FOR UPDATE",
        session["session_id"])}
    for enrolment_id in domain.to_promote(session["capacity"], seats_taken, list(waiting)):
        row = waiting[enrolment_id]
        await _move(conn, row, "booked", reason="promoted from waitlist", actor=None, now=now)
        await emit(conn, EnrolmentPromoted(enrolment_id=row["enrolment_id"], participant_id=row["participant_id"],
                                           programme_id=row["programme_id"], session_id=row["session_id"]),
                   city=session["city"], correlation_id=correlation_id)
        promoted.append(row["enrolment_id"])
    return promoted


# ------------------------------------------------------------------------------------------ attendance

async def check_in(conn: asyncpg.Connection, city: str, session_id: str, participant_id: str, code: str, *,
                   now: datetime, correlation_id: str | None = None) -> dict[str, Any]:
    session = await conn.fetchrow("SELECT * FROM sessions WHERE city = $1 AND session_id = $2", city, session_id)
    if session is None:
        raise _not_found("Sesi", "Session", "session-not-found")
    if not domain.is_check_in_open(session["starts_at"], session["ends_at"], now):
        raise DomainError(409, "check-in-closed", "Presensi hanya dibuka 15 menit sebelum sampai akhir sesi. / "
                                                  "Check-in is open from 15 minutes before the start to the end.")
    if not domain.verify_check_in_code(session["checkin_secret"], code, now):
        raise DomainError(422, "wrong-check-in-code", "Kode presensi salah atau kedaluwarsa. / Wrong or expired "
                                                      "check-in code.")
    enrolment_id = await conn.fetchval(
        "SELECT enrolment_id FROM enrolments WHERE session_id = $1 AND participant_id = $2 AND status <> 'cancelled'",
        session_id, participant_id)
    if enrolment_id is None:
        raise DomainError(409, "not-enrolled",
                          "Anda tidak terdaftar di sesi ini. / You are not enrolled in this session.")
    return await record_attendance(conn, city, enrolment_id, attended=True, method="check_in_code",
                                   actor=participant_id, now=now, correlation_id=correlation_id)


async def record_attendance(conn: asyncpg.Connection, city: str, enrolment_id: str, *, attended: bool, method: str,
                            actor: str | None, now: datetime, correlation_id: str | None = None,
                            session_id: str | None = None) -> dict[str, Any]:
    """Mark attended (or no-show); attending the last required session issues the certificate, once."""
    async with conn.transaction():
        head = await conn.fetchrow("SELECT participant_id FROM enrolments WHERE city = $1 AND enrolment_id = $2"
                                   " AND ($3::text IS NULL OR session_id = $3)", city, enrolment_id, session_id)
        if head is None:
            raise _not_found("Pendaftaran", "Enrolment", "enrolment-not-found")
        participant = await conn.fetchrow("SELECT * FROM participants WHERE participant_id = $1 FOR NO KEY UPDATE",
                                          head["participant_id"])
        enrolment = await conn.fetchrow("SELECT * FROM enrolments WHERE enrolment_id = $1 FOR UPDATE", enrolment_id)
        target = "attended" if attended else "no_show"
        if enrolment["status"] == target:
            return {"enrolment_id": enrolment_id, "status": target, "changed": False, "certificate_code": None}
        if enrolment["status"] == "waitlisted":
            raise DomainError(409, "not-booked", "Anda masih di daftar tunggu sesi ini. / You are on the waitlist, "
                                                 "not booked.")
        await _move(conn, enrolment, target, reason=f"attendance by {method}", actor=actor, now=now)
        certificate_code = None
        if attended:
            await conn.execute(
                "INSERT INTO attendance(enrolment_id, city, session_id, participant_id, method, recorded_by,"
                " recorded_at) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING",
                enrolment_id, city, enrolment["session_id"], enrolment["participant_id"], method, actor, now)
            await emit(conn, AttendanceRecorded(
                enrolment_id=enrolment_id, participant_id=enrolment["participant_id"],
                programme_id=enrolment["programme_id"], session_id=enrolment["session_id"]),
                city=city, correlation_id=correlation_id)
            certificate_code = await _issue_certificate_if_complete(
                conn, city, participant, enrolment, now=now, correlation_id=correlation_id)
        return {"enrolment_id": enrolment_id, "status": target, "changed": True,
                "certificate_code": certificate_code}


async def _issue_certificate_if_complete(conn: asyncpg.Connection, city: str, participant: asyncpg.Record,
                                         enrolment: asyncpg.Record, *, now: datetime,
                                         correlation_id: str | None) -> str | None:
    programme_id = enrolment["programme_id"]
    sessions = await conn.fetch("SELECT session_id, required FROM sessions WHERE programme_id = $1", programme_id)
    attended = await conn.fetch("SELECT session_id FROM enrolments WHERE programme_id = $1 AND participant_id = $2"
                                " AND status = 'attended'", programme_id, participant["participant_id"])
    if not domain.has_completed([(s["session_id"], s["required"]) for s in sessions],
                                [a["session_id"] for a in attended]):
        return None
    exists = await conn.fetchval("SELECT code FROM certificates WHERE programme_id = $1 AND participant_id = $2",
                                 programme_id, participant["participant_id"])
    if exists:
        return None
    issued_on = now.astimezone(get_city(city).tz).date()
    for _ in range(5):  # a code collision (≈ never) just draws again
        code = domain.certificate_code()
        inserted = await conn.fetchval(
            "INSERT INTO certificates(code, city, programme_id, participant_id, enrolment_id, issued_on, issued_at)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING RETURNING code",
            code, city, programme_id, participant["participant_id"], enrolment["enrolment_id"], issued_on, now)
        if inserted:
            break
    else:
        raise RuntimeError("could not draw a unique certificate code")
    programme = await conn.fetchrow("SELECT title, style FROM programmes WHERE programme_id = $1", programme_id)
    await emit(conn, CertificateIssued(
        enrolment_id=enrolment["enrolment_id"], participant_id=participant["participant_id"],
        programme_id=programme_id, session_id=enrolment["session_id"], certificate_code=code,
        participant_name=participant["name"], participant_group=participant["grp"],
        programme_style=programme["style"], programme_title=programme["title"], rw=participant["rw"],
        kelurahan=participant["kelurahan"], participant_phone=participant["phone"],
        vendor_id=participant["vendor_id"], issued_on=issued_on), city=city, correlation_id=correlation_id)
    log.info("certificate issued", programme_id=programme_id, participant_id=participant["participant_id"])
    return code


# ----------------------------------------------------------------------------- projections (events in)

async def on_rw_hub(conn: asyncpg.Connection, city: str, hub: RwHubRegistered) -> None:
    await conn.execute(
        "INSERT INTO rw_hubs(rw_hub_id, city, name, kelurahan, rw, address, active, updated_at)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7, now()) ON CONFLICT (rw_hub_id) DO UPDATE SET name = EXCLUDED.name,"
        " kelurahan = EXCLUDED.kelurahan, rw = EXCLUDED.rw, address = EXCLUDED.address, active = EXCLUDED.active,"
        " updated_at = now() WHERE rw_hubs.city = EXCLUDED.city",
        hub.rw_hub_id, city, hub.name, hub.kelurahan, domain.normalise_rw(hub.rw) or hub.rw, hub.address, hub.active)


async def _link_vendor(conn: asyncpg.Connection, city: str, vendor_id: str, participant_id: str | None,
                       column: str, at: datetime) -> None:
    assert column in ("drafted_at", "badge_at", "activated_at", "suspended_at")
    await conn.execute(
        f"INSERT INTO vendor_links(vendor_id, city, participant_id, {column}) VALUES ($1,$2,$3,$4)"
        f" ON CONFLICT (vendor_id) DO UPDATE SET participant_id = coalesce(vendor_links.participant_id,"
        f" EXCLUDED.participant_id), {column} = coalesce(vendor_links.{column}, EXCLUDED.{column})"
        f" WHERE vendor_links.city = EXCLUDED.city", vendor_id, city, participant_id, at)
    if participant_id:
        # Learning's own participant record learns its vendor (used on later certificates and in the funnel).
        await conn.execute("UPDATE participants SET vendor_id = $1 WHERE city = $2 AND participant_id = $3"
                           " AND vendor_id IS NULL", vendor_id, city, participant_id)


async def on_vendor_event(conn: asyncpg.Connection, envelope: Envelope,
                          event: VendorDraftOpened | VendorTrainedBadgeGranted | VendorActivated | VendorSuspended
                          ) -> None:
    column = {VendorDraftOpened: "drafted_at", VendorTrainedBadgeGranted: "badge_at",
              VendorActivated: "activated_at", VendorSuspended: "suspended_at"}[type(event)]
    await _link_vendor(conn, envelope.city, event.vendor_id, getattr(event, "participant_id", None), column,
                       envelope.occurred_at)


async def on_order_completed(conn: asyncpg.Connection, envelope: Envelope, event: OrderCompleted) -> None:
    await conn.executemany(
        "INSERT INTO vendor_sales(vendor_id, order_id, city, sold_at) VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING",
        [(vendor_id, event.order_id, envelope.city, envelope.occurred_at) for vendor_id in set(event.vendor_ids)])


# ----------------------------------------------------------------------------------------------- reports

async def funnel_report(conn: asyncpg.Connection, city: str, *, style: str | None = None) -> dict[str, object]:
    data = await store.funnel_inputs(conn, city)
    certified = {(r["participant_id"], r["style"]) for r in data["certified"]}
    vendors_of: dict[str, list[tuple[str, bool]]] = {}
    for r in data["vendors"]:
        vendors_of.setdefault(r["participant_id"], []).append((r["vendor_id"], r["active"]))
    sales_of: dict[str, list[datetime]] = {}
    for r in data["sales"]:
        sales_of.setdefault(r["vendor_id"], []).append(r["sold_at"])
    rows = []
    for f in data["facts"]:
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



async def mark_no_shows(conn: asyncpg.Connection, *, now: datetime, grace_minutes: int = 60) -> int:
    """Booked enrolments of sessions over for ``grace_minutes`` without attendance become no-shows.

    The trainer can still correct one (no_show → attended). Guarded by the current status, so it is safe to
    run on every replica and to repeat.
    """
    async with conn.transaction():
        moved = await conn.fetch(
            "WITH moved AS (UPDATE enrolments e SET status = 'no_show', updated_at = $1 FROM sessions s"
            " WHERE e.session_id = s.session_id AND e.status = 'booked'"
            " AND s.ends_at < $1::timestamptz - make_interval(mins => $2::int) RETURNING e.enrolment_id, e.city)"
            " INSERT INTO enrolment_history(enrolment_id, city, from_status, to_status, reason, actor, at)"
            " SELECT enrolment_id, city, 'booked', 'no_show', 'no attendance by the end of the session', NULL, $1"
            " FROM moved RETURNING enrolment_id", now, grace_minutes)
    return len(moved)
