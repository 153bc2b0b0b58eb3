"""``LearningStore``: every write and every aggregate load of the ``learning`` schema, on one connection.

Built by the kernel for each unit of work (``ServiceKernel(..., store=LearningStore)``), so it always runs
inside that unit's transaction. Reads for pages are in ``queries.py``.

Locks, always taken in this order so they cannot deadlock:
  enrol / cancel:      session row (FOR NO KEY UPDATE) → enrolment rows
  attendance:          participant row (FOR NO KEY UPDATE) → enrolment row
  check-in:            participant row → enrolment row (the wrong-code counters are counted under it)
NO KEY UPDATE (not UPDATE) so the locks never block the foreign-key checks of inserts referencing those rows.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeAlias

import asyncpg

from learning.storage import BlobStore, PgBlobStore
from shared.phone import sql_normalised

# A row of this schema: an asyncpg.Record here, a plain dict in the in-memory fakes of unit tests.
Row: TypeAlias = Any
SEAT_STATUSES = ("booked", "attended", "no_show")


class LearningStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    # ------------------------------------------------------------------------------------------- setup

    async def insert_trainer(self, city: str, trainer_id: str, *, name: str, subject: str, phone: str | None,
                             expertise: str | None) -> bool:
        inserted = await self.conn.fetchval(
            "INSERT INTO trainers(trainer_id, city, name, subject, phone, expertise) VALUES ($1,$2,$3,$4,$5,$6)"
            " ON CONFLICT DO NOTHING RETURNING trainer_id", trainer_id, city, name, subject, phone, expertise)
        return inserted is not None

    async def insert_programme(self, city: str, programme_id: str, *, title: str, style: str, partner: str | None,
                               modules: list[str], description: str) -> None:
        await self.conn.execute(
            "INSERT INTO programmes(programme_id, city, title, style, partner, modules, description)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7)", programme_id, city, title, style, partner, modules, description)

    async def programme_style(self, city: str, programme_id: str) -> str | None:
        style: str | None = await self.conn.fetchval(
            "SELECT style FROM programmes WHERE city = $1 AND programme_id = $2", city, programme_id)
        return style

    async def hub_active(self, city: str, rw_hub_id: str) -> bool:
        return bool(await self.conn.fetchval("SELECT active FROM rw_hubs WHERE city = $1 AND rw_hub_id = $2",
                                             city, rw_hub_id))

    async def trainer_known(self, city: str, trainer_id: str) -> bool:
        return bool(await self.conn.fetchval("SELECT 1 FROM trainers WHERE city = $1 AND trainer_id = $2",
                                             city, trainer_id))

    async def trainer_id_of(self, city: str, subject: str) -> str | None:
        trainer_id: str | None = await self.conn.fetchval(
            "SELECT trainer_id FROM trainers WHERE city = $1 AND subject = $2", city, subject)
        return trainer_id

    async def insert_session(self, city: str, session_id: str, *, programme_id: str, title: str, module: str | None,
                             starts_at: datetime, ends_at: datetime, rw_hub_id: str | None, meeting_link: str | None,
                             capacity: int, trainer_id: str | None, required: bool, secret: str) -> None:
        await self.conn.execute(
            "INSERT INTO sessions(session_id, city, programme_id, title, module, starts_at, ends_at, rw_hub_id,"
            " meeting_link, capacity, trainer_id, required, checkin_secret)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
            session_id, city, programme_id, title, module, starts_at, ends_at, rw_hub_id, meeting_link, capacity,
            trainer_id, required, secret)

    # ------------------------------------------------------------------------------------ participants

    async def insert_participant(self, city: str, participant_id: str, *, name: str, phone: str, group: str,
                                 rw: str | None, kelurahan: str | None, vendor_id: str | None,
                                 subject: str) -> Row | None:
        row: Row | None = await self.conn.fetchrow(
            "INSERT INTO participants(participant_id, city, name, phone, grp, rw, kelurahan, vendor_id, subject)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT DO NOTHING RETURNING *",
            participant_id, city, name, phone, group, rw, kelurahan, vendor_id, subject)
        return row

    async def vendor_city(self, vendor_id: str) -> str | None:
        """The city of a vendor learning has heard of (from catalog's events), else None."""
        city: str | None = await self.conn.fetchval("SELECT city FROM vendor_links WHERE vendor_id = $1", vendor_id)
        return city

    async def participant_by_subject(self, city: str, subject: str) -> Row | None:
        row: Row | None = await self.conn.fetchrow("SELECT * FROM participants WHERE city = $1 AND subject = $2",
                                                   city, subject)
        return row

    async def trainer_phone(self, trainer_id: str) -> str | None:
        phone: str | None = await self.conn.fetchval("SELECT phone FROM trainers WHERE trainer_id = $1", trainer_id)
        return phone

    async def participant_phone(self, participant_id: str) -> str | None:
        phone: str | None = await self.conn.fetchval("SELECT phone FROM participants WHERE participant_id = $1",
                                                     participant_id)
        return phone

    async def lock_participant(self, participant_id: str) -> Row:
        row: Row = await self.conn.fetchrow("SELECT * FROM participants WHERE participant_id = $1"
                                            " FOR NO KEY UPDATE", participant_id)
        return row

    # --------------------------------------------------------------------------------------- enrolment

    async def session(self, city: str, session_id: str, *, lock: bool = False) -> Row | None:
        """A session of the city; ``lock`` takes its row lock (enrol / cancel: capacity and waitlist exact)."""
        row: Row | None = await self.conn.fetchrow(
            "SELECT * FROM sessions WHERE city = $1 AND session_id = $2" + (" FOR NO KEY UPDATE" if lock else ""),
            city, session_id)
        return row

    async def live_enrolment(self, session_id: str, participant_id: str) -> Row | None:
        row: Row | None = await self.conn.fetchrow(
            "SELECT * FROM enrolments WHERE session_id = $1 AND participant_id = $2 AND status <> 'cancelled'",
            session_id, participant_id)
        return row

    async def seats_taken(self, session_id: str) -> int:
        return int(await self.conn.fetchval(
            "SELECT count(*) FROM enrolments WHERE session_id = $1 AND status IN ('booked', 'attended', 'no_show')",
            session_id))

    async def waitlist_length(self, session_id: str) -> int:
        return int(await self.conn.fetchval(
            "SELECT count(*) FROM enrolments WHERE session_id = $1 AND status = 'waitlisted'", session_id))

    async def insert_enrolment(self, city: str, enrolment_id: str, *, session_id: str, programme_id: str,
                               participant_id: str, status: str, now: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO enrolments(enrolment_id, city, session_id, programme_id, participant_id, status,"
            " created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$7)",
            enrolment_id, city, session_id, programme_id, participant_id, status, now)
        await self.conn.execute(
            "INSERT INTO enrolment_history(enrolment_id, city, from_status, to_status, reason, actor, at)"
            " VALUES ($1,$2,NULL,$3,'enrolled',$4,$5)", enrolment_id, city, status, participant_id, now)

    async def enrolment(self, city: str, enrolment_id: str, *, session_id: str | None = None) -> Row | None:
        """An enrolment of the city (and of ``session_id`` when given), without a lock."""
        row: Row | None = await self.conn.fetchrow(
            "SELECT * FROM enrolments WHERE city = $1 AND enrolment_id = $2 AND ($3::text IS NULL OR session_id = $3)",
            city, enrolment_id, session_id)
        return row

    async def lock_enrolment(self, enrolment_id: str) -> Row:
        row: Row = await self.conn.fetchrow("SELECT * FROM enrolments WHERE enrolment_id = $1 FOR UPDATE",
                                            enrolment_id)
        return row

    async def lock_waitlist(self, session_id: str) -> list[Row]:
        """The waitlisted enrolments of a session in arrival order, locked (caller holds the session lock)."""
        return list(await self.conn.fetch(
            "SELECT * FROM enrolments WHERE session_id = $1 AND status = 'waitlisted' ORDER BY seq FOR UPDATE",
            session_id))

    async def move(self, enrolment: Row, target: str, *, reason: str, actor: str | None,
                   now: datetime) -> None:
        """Change an enrolment's status and write the history line (the domain allowed the move)."""
        await self.conn.execute("UPDATE enrolments SET status = $2, updated_at = $3 WHERE enrolment_id = $1",
                                enrolment["enrolment_id"], target, now)
        await self.conn.execute(
            "INSERT INTO enrolment_history(enrolment_id, city, from_status, to_status, reason, actor, at)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7)",
            enrolment["enrolment_id"], enrolment["city"], enrolment["status"], target, reason, actor, now)

    # -------------------------------------------------------------------------------------- attendance

    async def insert_attendance(self, city: str, enrolment: Row, *, method: str, actor: str | None,
                                now: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO attendance(enrolment_id, city, session_id, participant_id, method, recorded_by,"
            " recorded_at) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING",
            enrolment["enrolment_id"], city, enrolment["session_id"], enrolment["participant_id"], method, actor, now)

    async def wrong_codes(self, session_id: str, participant_id: str, *, since: datetime) -> tuple[int, int]:
        """(this participant's wrong codes for the session, the session's wrong codes since ``since``)."""
        row = await self.conn.fetchrow(
            "SELECT count(*) FILTER (WHERE participant_id = $2) AS own, count(*) FILTER (WHERE at >= $3) AS recent"
            " FROM check_in_failures WHERE session_id = $1", session_id, participant_id, since)
        return int(row["own"]), int(row["recent"])

    async def record_wrong_code(self, city: str, session_id: str, participant_id: str, now: datetime) -> None:
        await self.conn.execute("INSERT INTO check_in_failures(session_id, participant_id, city, at)"
                                " VALUES ($1,$2,$3,$4)", session_id, participant_id, city, now)

    # -------------------------------------------------------------------------------------- completion

    async def completion_facts(self, programme_id: str, participant_id: str
                               ) -> tuple[list[tuple[str, bool]], list[str], bool]:
        """(sessions of the programme with their ``required`` flag, sessions this participant attended,
        whether they already hold the programme's certificate)."""
        sessions = await self.conn.fetch("SELECT session_id, required FROM sessions WHERE programme_id = $1",
                                         programme_id)
        attended = await self.conn.fetch("SELECT session_id FROM enrolments WHERE programme_id = $1"
                                         " AND participant_id = $2 AND status = 'attended'", programme_id,
                                         participant_id)
        held = await self.conn.fetchval("SELECT 1 FROM certificates WHERE programme_id = $1 AND participant_id = $2",
                                        programme_id, participant_id)
        return ([(s["session_id"], s["required"]) for s in sessions], [a["session_id"] for a in attended],
                held is not None)

    async def insert_certificate(self, city: str, code: str, *, programme_id: str, participant_id: str,
                                 enrolment_id: str, issued_on: date, now: datetime) -> bool:
        """False on a code collision (the caller draws again)."""
        inserted = await self.conn.fetchval(
            "INSERT INTO certificates(code, city, programme_id, participant_id, enrolment_id, issued_on, issued_at)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING RETURNING code",
            code, city, programme_id, participant_id, enrolment_id, issued_on, now)
        return inserted is not None

    async def programme(self, programme_id: str) -> Row:
        row: Row = await self.conn.fetchrow("SELECT * FROM programmes WHERE programme_id = $1", programme_id)
        return row

    async def mark_no_shows(self, now: datetime, grace_minutes: int) -> int:
        """Booked enrolments of sessions over for ``grace_minutes`` become no-shows (guarded by the status)."""
        moved = await self.conn.fetch(
            "WITH moved AS (UPDATE enrolments e SET status = 'no_show', updated_at = $1 FROM sessions s"
            " WHERE e.session_id = s.session_id AND e.status = 'booked'"
            " AND s.ends_at < $1::timestamptz - make_interval(mins => $2::int) RETURNING e.enrolment_id, e.city)"
            " INSERT INTO enrolment_history(enrolment_id, city, from_status, to_status, reason, actor, at)"
            " SELECT enrolment_id, city, 'booked', 'no_show', 'no attendance by the end of the session', NULL, $1"
            " FROM moved RETURNING enrolment_id", now, grace_minutes)
        return len(moved)

    # ------------------------------------------------------------------------- projections (events in)

    async def upsert_hub(self, city: str, *, rw_hub_id: str, name: str, kelurahan: str, rw: str, address: str,
                         active: bool) -> None:
        await self.conn.execute(
            "INSERT INTO rw_hubs(rw_hub_id, city, name, kelurahan, rw, address, active, updated_at)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7, now()) ON CONFLICT (rw_hub_id) DO UPDATE SET name = EXCLUDED.name,"
            " kelurahan = EXCLUDED.kelurahan, rw = EXCLUDED.rw, address = EXCLUDED.address, active = EXCLUDED.active,"
            " updated_at = now() WHERE rw_hubs.city = EXCLUDED.city",
            rw_hub_id, city, name, kelurahan, rw, address, active)

    async def link_vendor(self, city: str, vendor_id: str, participant_id: str | None, column: str,
                          at: datetime) -> None:
        """Record a vendor's step (first time wins) and, when catalog names one, its participant."""
        assert column in ("drafted_at", "badge_at", "activated_at", "suspended_at")
        await self.conn.execute(
            f"INSERT INTO vendor_links(vendor_id, city, participant_id, {column}) VALUES ($1,$2,$3,$4)"
            f" ON CONFLICT (vendor_id) DO UPDATE SET participant_id = coalesce(vendor_links.participant_id,"
            f" EXCLUDED.participant_id), {column} = coalesce(vendor_links.{column}, EXCLUDED.{column})"
            f" WHERE vendor_links.city = EXCLUDED.city", vendor_id, city, participant_id, at)
        if participant_id:
            # Learning's own participant record learns its vendor (used on later certificates and in the funnel).
            await self.conn.execute("UPDATE participants SET vendor_id = $1 WHERE city = $2 AND participant_id = $3"
                                    " AND vendor_id IS NULL", vendor_id, city, participant_id)

    async def record_sales(self, city: str, order_id: str, vendor_ids: list[str], at: datetime,
                           total: int = 0) -> None:
        await self.conn.executemany(
            "INSERT INTO vendor_sales(vendor_id, order_id, city, sold_at, order_total) VALUES ($1,$2,$3,$4,$5)"
            " ON CONFLICT DO NOTHING",
            [(vendor_id, order_id, city, at, total) for vendor_id in sorted(set(vendor_ids))])

    # ------------------------------------------------------------------------------------------ demo seed

    async def lock_seeding(self, city: str) -> None:
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"learning-demo-seed:{city}")

    async def programme_exists(self, programme_id: str) -> bool:
        return bool(await self.conn.fetchval("SELECT 1 FROM programmes WHERE programme_id = $1", programme_id))

    async def session_secret(self, session_id: str) -> str:
        secret: str = await self.conn.fetchval("SELECT checkin_secret FROM sessions WHERE session_id = $1",
                                               session_id)
        return secret

    async def booked_enrolments(self, session_id: str) -> list[Row]:
        return list(await self.conn.fetch("SELECT enrolment_id, participant_id FROM enrolments WHERE session_id = $1"
                                          " AND status = 'booked' ORDER BY seq", session_id))

    async def forget_person(self, phone: str, subject: str) -> int:
        """Anonymise the participants and trainers of ``phone`` (or known by ``subject``) in every city. A
        participant's phone is required and unique per city, so it becomes ``deleted:<participant id>``."""
        participants: str = await self.conn.execute(
            "UPDATE participants SET name = '(dihapus)', phone = 'deleted:' || participant_id, rw = NULL,"
            " kelurahan = NULL WHERE (phone = $1 OR subject = $2) AND phone NOT LIKE 'deleted:%'", phone, subject)
        trainers: str = await self.conn.execute(
            "UPDATE trainers SET name = '(dihapus)', phone = NULL, expertise = NULL"
            f" WHERE ({sql_normalised('phone')} = $1 OR subject = $2) AND name <> '(dihapus)'", phone, subject)
        return int(participants.rsplit(" ", 1)[-1]) + int(trainers.rsplit(" ", 1)[-1])

    # ------------------------------------------------------------- attendance reports, roster messages (#13)

    async def roster_for_matching(self, session_id: str) -> list[Row]:
        """The live enrolments of a session with what a report row can be matched on (name, phone, email)."""
        return list(await self.conn.fetch(
            "SELECT e.enrolment_id, e.status, p.participant_id, p.name, p.phone, p.email FROM enrolments e"
            " JOIN participants p ON p.participant_id = e.participant_id"
            " WHERE e.session_id = $1 AND e.status <> 'cancelled' ORDER BY e.seq", session_id))

    async def insert_attendance_import(self, city: str, import_id: str, *, session_id: str, filename: str,
                                       platform: str, min_minutes: int, rows_read: int, imported_by: str,
                                       now: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO attendance_imports(import_id, city, session_id, filename, platform, min_minutes, rows_read,"
            " imported_by, imported_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
            import_id, city, session_id, filename, platform, min_minutes, rows_read, imported_by, now)

    async def insert_attendance_import_rows(self, city: str, import_id: str, session_id: str,
                                            rows: list[dict[str, Any]]) -> None:
        await self.conn.executemany(
            "INSERT INTO attendance_import_rows(import_id, row_no, city, session_id, name, email, phone, minutes,"
            " qualifies, enrolment_id, matched_by, outcome) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
            [(import_id, r["row_no"], city, session_id, r["name"], r["email"], r["phone"], r["minutes"],
              r["qualifies"], r["enrolment_id"], r["matched_by"], r["outcome"]) for r in rows])

    async def lock_import_row(self, city: str, import_id: str, row_no: int) -> Row | None:
        row: Row | None = await self.conn.fetchrow(
            "SELECT r.*, i.min_minutes FROM attendance_import_rows r JOIN attendance_imports i USING (import_id)"
            " WHERE r.city = $1 AND r.import_id = $2 AND r.row_no = $3 FOR UPDATE OF r", city, import_id, row_no)
        return row

    async def resolve_import_row(self, import_id: str, row_no: int, *, enrolment_id: str, matched_by: str,
                                 outcome: str) -> None:
        await self.conn.execute(
            "UPDATE attendance_import_rows SET enrolment_id = $3, matched_by = $4, outcome = $5"
            " WHERE import_id = $1 AND row_no = $2", import_id, row_no, enrolment_id, matched_by, outcome)

    async def learn_participant_email(self, participant_id: str, email: str) -> None:
        """A report row matched by hand tells the participant's email: the next report matches it by itself."""
        await self.conn.execute("UPDATE participants SET email = $2 WHERE participant_id = $1 AND email IS NULL",
                                participant_id, email)

    async def seat_holders(self, session_id: str) -> list[Row]:
        """Who holds a seat of the session (booked, attended, no-show) and their phone: the roster to write to."""
        return list(await self.conn.fetch(
            "SELECT e.enrolment_id, e.participant_id, e.programme_id, p.phone FROM enrolments e"
            " JOIN participants p ON p.participant_id = e.participant_id"
            " WHERE e.session_id = $1 AND e.status IN ('booked', 'attended', 'no_show') ORDER BY e.seq", session_id))

    async def trainer_name(self, trainer_id: str | None) -> str | None:
        if trainer_id is None:
            return None
        name: str | None = await self.conn.fetchval("SELECT name FROM trainers WHERE trainer_id = $1", trainer_id)
        return name

    async def forget_report_rows(self, phone: str, subject: str) -> int:
        """Personal-data deletion: report rows matched to the person lose name, email and phone; their emails too."""
        status: str = await self.conn.execute(
            "UPDATE attendance_import_rows r SET name = '(dihapus)', email = NULL, phone = NULL"
            " FROM enrolments e JOIN participants p ON p.participant_id = e.participant_id"
            " WHERE r.enrolment_id = e.enrolment_id AND (p.phone = $1 OR p.subject = $2 OR p.phone LIKE 'deleted:%')"
            " AND r.name <> '(dihapus)'", phone, subject)
        await self.conn.execute("UPDATE participants SET email = NULL WHERE (phone = $1 OR subject = $2"
                                " OR phone LIKE 'deleted:%') AND email IS NOT NULL", phone, subject)
        return int(status.rsplit(" ", 1)[-1])

    # ------------------------------------------------------------------------- back office (issue #13)

    async def programme_of_city(self, city: str, programme_id: str, *, lock: bool = False) -> Row | None:
        row: Row | None = await self.conn.fetchrow(
            "SELECT * FROM programmes WHERE city = $1 AND programme_id = $2" + (" FOR UPDATE" if lock else ""),
            city, programme_id)
        return row

    async def update_programme(self, programme_id: str, *, title: str, style: str, partner: str | None,
                               modules: list[str], description: str) -> None:
        await self.conn.execute(
            "UPDATE programmes SET title = $2, style = $3, partner = $4, modules = $5, description = $6"
            " WHERE programme_id = $1", programme_id, title, style, partner, modules, description)

    async def update_session(self, session_id: str, *, title: str, module: str | None, starts_at: datetime,
                             ends_at: datetime, rw_hub_id: str | None, meeting_link: str | None, capacity: int,
                             trainer_id: str | None, required: bool) -> None:
        await self.conn.execute(
            "UPDATE sessions SET title = $2, module = $3, starts_at = $4, ends_at = $5, rw_hub_id = $6,"
            " meeting_link = $7, capacity = $8, trainer_id = $9, required = $10 WHERE session_id = $1",
            session_id, title, module, starts_at, ends_at, rw_hub_id, meeting_link, capacity, trainer_id, required)

    async def overlapping_session(self, city: str, *, starts_at: datetime, ends_at: datetime,
                                  trainer_id: str | None, rw_hub_id: str | None,
                                  exclude: str | None) -> Row | None:
        """Another session of the same trainer or at the same RW hub whose time overlaps [starts_at, ends_at)."""
        row: Row | None = await self.conn.fetchrow(
            "SELECT session_id, title, starts_at,"
            " CASE WHEN $4::text IS NOT NULL AND trainer_id = $4 THEN 'trainer' ELSE 'rw_hub' END AS reason"
            " FROM sessions WHERE city = $1 AND starts_at < $3 AND ends_at > $2"
            " AND (($4::text IS NOT NULL AND trainer_id = $4) OR ($5::text IS NOT NULL AND rw_hub_id = $5))"
            " AND ($6::text IS NULL OR session_id <> $6) ORDER BY starts_at LIMIT 1",
            city, starts_at, ends_at, trainer_id, rw_hub_id, exclude)
        return row

    async def insert_material(self, city: str, material_id: str, *, programme_id: str, module: str | None,
                              session_id: str | None, kind: str, title: str, url: str | None,
                              content_type: str | None, size_bytes: int | None, storage_key: str | None,
                              created_by: str) -> None:
        await self.conn.execute(
            "INSERT INTO materials (material_id, city, programme_id, module, session_id, kind, title, url,"
            " content_type, size_bytes, storage_key, created_by) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
            material_id, city, programme_id, module, session_id, kind, title, url, content_type, size_bytes,
            storage_key, created_by)

    @property
    def blobs(self) -> BlobStore:
        return PgBlobStore(self.conn)
