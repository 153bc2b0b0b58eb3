"""Use cases of the learning service: ``async def verb(uow, command_or_event)`` — load, decide, save, emit.

Each runs in the one unit of work its caller opened (an HTTP request, a polled batch of events, a periodic
job, the demo seeder): ``uow.store`` is the ``LearningStore`` of that transaction, ``uow.emit`` adds to its
outbox. No SQL, no connection, no transaction here; refusals are ``shared.errors`` raised by the domain or
by ``policy``. Every command carries ``now`` so the demo seeder can replay history through the same code.

The session row lock (enrol / cancel) makes capacity and waitlist promotion exact under concurrency; the
participant row lock (attendance, check-in) makes the completion check see every attendance of that
participant — a certificate is never missed or doubled — and makes the wrong-code counters exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from learning import domain, policy
from learning.store import LearningStore, Row
from shared.auth import Principal
from shared.cities import all_cities
from shared.errors import Conflict, DomainError, Forbidden, Invalid, not_found
from shared.events.catalog import (
    RwHubRegistered,
    VendorActivated,
    VendorDraftOpened,
    VendorSuspended,
    VendorTrainedBadgeGranted,
)
from shared.events.identity import AccountDeletionRequested
from shared.events.learning import (
    AttendanceRecorded,
    CertificateIssued,
    EnrolmentBooked,
    EnrolmentCancelled,
    EnrolmentPromoted,
    EnrolmentWaitlisted,
    ParticipantRegistered,
    RosterMessaged,
    TrainerAdded,
)
from shared.events.orders import OrderCompleted
from shared.ids import new_id
from shared.logging import get_logger
from shared.phone import normalise_phone, valid_phone
from shared.uow import UnitOfWork

log = get_logger(__name__)

Uow = UnitOfWork[LearningStore]


def _now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------------------------------- commands

@dataclass(frozen=True)
class CreateTrainer:
    name: str
    subject: str | None = None
    phone: str | None = None
    expertise: str | None = None
    trainer_id: str | None = None
    by: Principal | None = None           # the city admin (audited); None: the demo seeder


@dataclass(frozen=True)
class CreateProgramme:
    title: str
    style: str
    partner: str | None = None
    modules: list[str] = field(default_factory=list)
    description: str = ""
    programme_id: str | None = None
    by: Principal | None = None


@dataclass(frozen=True)
class CreateSession:
    programme_id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    module: str | None = None
    rw_hub_id: str | None = None
    meeting_link: str | None = None
    trainer_id: str | None = None
    required: bool = True
    now: datetime = field(default_factory=_now)
    session_id: str | None = None
    check_hub: bool = True      # the demo seeder plans sessions at hubs catalog announces later
    by: Principal | None = None  # admin or trainer (audited; overlaps refused); None: the demo seeder


@dataclass(frozen=True)
class RegisterParticipant:
    name: str
    phone: str
    group: str
    rw: str | None = None
    kelurahan: str | None = None
    vendor_id: str | None = None
    linked_by: Principal | None = None   # who vouches for ``vendor_id`` (policy.may_link_vendor)
    subject: str | None = None
    participant_id: str | None = None


@dataclass(frozen=True)
class Enrol:
    session_id: str
    participant: str                      # the participant's token subject
    now: datetime = field(default_factory=_now)
    enrolment_id: str | None = None


@dataclass(frozen=True)
class Cancel:
    enrolment_id: str
    actor: str
    participant: str | None = None        # a participant's subject: only their own; None: staff on behalf
    now: datetime = field(default_factory=_now)


@dataclass(frozen=True)
class CheckIn:
    session_id: str
    participant: str                      # subject
    code: str
    now: datetime = field(default_factory=_now)


@dataclass(frozen=True)
class RecordAttendance:
    enrolment_id: str
    attended: bool
    actor: str | None
    method: str = "trainer"
    session_id: str | None = None
    by: Principal | None = None           # the trainer / admin at the door; None: the check-in or the seeder
    now: datetime = field(default_factory=_now)


@dataclass(frozen=True)
class CheckInResult:
    """A check-in's answer. A wrong code is *committed* (its counter must survive), then raised by ``answer``."""

    attendance: dict[str, Any] | None = None
    refusal: DomainError | None = None

    def answer(self) -> dict[str, Any]:
        if self.refusal is not None:
            raise self.refusal
        assert self.attendance is not None
        return self.attendance


# ----------------------------------------------------------------------------------- admin: setup

async def create_trainer(uow: Uow, cmd: CreateTrainer) -> str:
    trainer_id = cmd.trainer_id or new_id()
    if not await uow.store.insert_trainer(uow.this_city, trainer_id, name=cmd.name,
                                          subject=cmd.subject or f"trainer-{trainer_id}", phone=cmd.phone,
                                          expertise=cmd.expertise):
        raise Conflict("trainer-exists", "Pelatih dengan subjek ini sudah ada. / This trainer already exists.")
    uow.emit(TrainerAdded(trainer_id=trainer_id, subject=cmd.subject or f"trainer-{trainer_id}", name=cmd.name,
                          phone=normalise_phone(cmd.phone)))
    if cmd.by is not None:
        uow.audit(cmd.by, "trainer", trainer_id, "created", after={
            "name": cmd.name, "phone": normalise_phone(cmd.phone), "expertise": cmd.expertise})
    return trainer_id


async def create_programme(uow: Uow, cmd: CreateProgramme) -> str:
    domain.ensure_style(cmd.style)
    programme_id = cmd.programme_id or new_id()
    await uow.store.insert_programme(uow.this_city, programme_id, title=cmd.title, style=cmd.style,
                                     partner=cmd.partner, modules=cmd.modules, description=cmd.description)
    if cmd.by is not None:
        uow.audit(cmd.by, "programme", programme_id, "created", after=_programme_fields(cmd))
    return programme_id


async def create_session(uow: Uow, cmd: CreateSession) -> str:
    city = uow.this_city
    style = await uow.store.programme_style(city, cmd.programme_id)
    if style is None:
        raise not_found("Program", "Programme", "programme-not-found")
    domain.ensure_session_plan(style, starts_at=cmd.starts_at, ends_at=cmd.ends_at, now=cmd.now,
                               rw_hub_id=cmd.rw_hub_id, meeting_link=cmd.meeting_link)
    if cmd.rw_hub_id and cmd.check_hub and not await uow.store.hub_active(city, cmd.rw_hub_id):
        raise Invalid("unknown-rw-hub", "Balai RW tidak dikenal di kota ini. / Unknown RW hub in this city.")
    if cmd.trainer_id is not None and not await uow.store.trainer_known(city, cmd.trainer_id):
        raise Invalid("unknown-trainer", "Pelatih tidak dikenal. / Unknown trainer.")
    if cmd.by is not None:
        await _ensure_no_overlap(uow, cmd.starts_at, cmd.ends_at, cmd.trainer_id, cmd.rw_hub_id, exclude=None)
    session_id = cmd.session_id or new_id()
    await uow.store.insert_session(
        city, session_id, programme_id=cmd.programme_id, title=cmd.title, module=cmd.module,
        starts_at=cmd.starts_at, ends_at=cmd.ends_at, rw_hub_id=cmd.rw_hub_id if style != "webinar" else None,
        meeting_link=cmd.meeting_link if style != "in_person" else None, capacity=cmd.capacity,
        trainer_id=cmd.trainer_id, required=cmd.required, secret=domain.new_session_secret())
    if cmd.by is not None:
        uow.audit(cmd.by, "session", session_id, "created", after=_session_fields(
            await uow.store.session(city, session_id)))
    return session_id


# ------------------------------------------------------------------------------------- participants

async def register_participant(uow: Uow, cmd: RegisterParticipant) -> Row:
    city = uow.this_city
    phone = valid_phone(cmd.phone)
    domain.ensure_group(cmd.group)
    if cmd.vendor_id is not None:   # a link to a vendor must be proven, never just claimed
        policy.ensure_may_link_vendor(cmd.linked_by, city, cmd.vendor_id, await uow.store.vendor_city(cmd.vendor_id))
    participant_id = cmd.participant_id or new_id()
    row = await uow.store.insert_participant(
        city, participant_id, name=cmd.name.strip(), phone=phone, group=cmd.group, rw=domain.normalise_rw(cmd.rw),
        kelurahan=(cmd.kelurahan or "").strip() or None, vendor_id=cmd.vendor_id,
        subject=cmd.subject or f"participant-{participant_id}")
    if row is None:
        raise Conflict("already-registered",
                       "Nomor HP ini sudah terdaftar sebagai peserta. / This phone number is already registered.")
    uow.emit(ParticipantRegistered(participant_id=participant_id, subject=row["subject"], phone=phone,
                                   name=row["name"], group=cmd.group))
    return row


async def _participant(uow: Uow, subject: str) -> Row:
    row = await uow.store.participant_by_subject(uow.this_city, subject)
    if row is None:
        raise Forbidden("not-a-participant",
                        "Anda belum terdaftar sebagai peserta. / You are not registered as a participant.")
    return row


# ---------------------------------------------------------------------------------------- enrolment

async def enrol(uow: Uow, cmd: Enrol) -> dict[str, Any]:
    """Book a seat or join the waitlist. Serialised per session by the row lock: never overbooked."""
    city = uow.this_city
    participant = await _participant(uow, cmd.participant)
    participant_id = participant["participant_id"]
    session = await uow.store.session(city, cmd.session_id, lock=True)
    if session is None:
        raise not_found("Sesi", "Session", "session-not-found")
    domain.ensure_enrolment_open(session["starts_at"], cmd.now)
    live = await uow.store.live_enrolment(cmd.session_id, participant_id)
    domain.ensure_not_enrolled(live["enrolment_id"] if live else None)
    status = domain.seat_or_waitlist(session["capacity"], await uow.store.seats_taken(cmd.session_id))
    enrolment_id = cmd.enrolment_id or new_id()
    await uow.store.insert_enrolment(city, enrolment_id, session_id=cmd.session_id,
                                     programme_id=session["programme_id"], participant_id=participant_id,
                                     status=status, now=cmd.now)
    ids = {"enrolment_id": enrolment_id, "participant_id": participant_id,
           "programme_id": session["programme_id"], "session_id": cmd.session_id}
    position = None
    facts = await _session_facts(uow, session, participant["phone"])
    if status == "booked":
        uow.emit(EnrolmentBooked(**ids, **facts))
    else:
        position = await uow.store.waitlist_length(cmd.session_id)
        uow.emit(EnrolmentWaitlisted(**ids, **facts, position=position))
    return {**ids, "status": status, "waitlist_position": position}


async def _session_facts(uow: Uow, session: Row, phone: str | None) -> dict[str, Any]:
    """What the enrolment events tell about the session, so notifications can remind the participant."""
    programme = await uow.store.programme(session["programme_id"])
    trainer_phone = await uow.store.trainer_phone(session["trainer_id"]) if session["trainer_id"] else None
    return {"participant_phone": phone, "programme_title": programme["title"], "session_title": session["title"],
            "session_starts_at": session["starts_at"], "rw_hub_id": session["rw_hub_id"],
            "meeting_link": session["meeting_link"], "trainer_phone": trainer_phone}


async def cancel(uow: Uow, cmd: Cancel) -> dict[str, Any]:
    """Cancel an enrolment; a freed seat goes to the first on the waitlist, exactly once (under the lock)."""
    city = uow.this_city
    owner = (await _participant(uow, cmd.participant))["participant_id"] if cmd.participant is not None else None
    head = await uow.store.enrolment(city, cmd.enrolment_id)
    if head is None or (owner is not None and head["participant_id"] != owner):
        raise not_found("Pendaftaran", "Enrolment", "enrolment-not-found")
    session = await uow.store.session(city, head["session_id"], lock=True)
    assert session is not None
    enrolment = await uow.store.lock_enrolment(cmd.enrolment_id)
    domain.ensure_cancellable(enrolment["status"], session["starts_at"], cmd.now)
    domain.require_move(enrolment["status"], "cancelled")
    await uow.store.move(enrolment, "cancelled", reason="cancelled", actor=cmd.actor, now=cmd.now)
    uow.emit(EnrolmentCancelled(enrolment_id=cmd.enrolment_id, participant_id=enrolment["participant_id"],
                                programme_id=enrolment["programme_id"], session_id=enrolment["session_id"]))
    promoted = await _promote_waitlist(uow, session, now=cmd.now)
    return {"enrolment_id": cmd.enrolment_id, "status": "cancelled", "promoted": promoted}


async def _promote_waitlist(uow: Uow, session: Row, *, now: datetime) -> list[str]:
    """Fill free seats from the head of the waitlist. The caller holds the session lock."""
    seats_taken = await uow.store.seats_taken(session["session_id"])
    if seats_taken >= session["capacity"]:
        return []
    waiting = {r["enrolment_id"]: r for r in await uow.store.lock_waitlist(session["session_id"])}
    promoted: list[str] = []
    for enrolment_id in domain.to_promote(session["capacity"], seats_taken, list(waiting)):
        row = waiting[enrolment_id]
        domain.require_move(row["status"], "booked")
        await uow.store.move(row, "booked", reason="promoted from waitlist", actor=None, now=now)
        phone = await uow.store.participant_phone(row["participant_id"])
        uow.emit(EnrolmentPromoted(enrolment_id=enrolment_id, participant_id=row["participant_id"],
                                   programme_id=row["programme_id"], session_id=row["session_id"],
                                   **await _session_facts(uow, session, phone)))
        promoted.append(enrolment_id)
    return promoted


# --------------------------------------------------------------------------------------- attendance

async def check_in(uow: Uow, cmd: CheckIn) -> CheckInResult:
    """A participant types the trainer's code. Wrong codes are counted (and kept: the result is committed
    before its refusal is raised): 5 per participant and session lock them out, 50 per session within 10
    minutes stop every code check of the session for a while. The trainer can always record attendance."""
    city = uow.this_city
    participant = await _participant(uow, cmd.participant)
    session = await uow.store.session(city, cmd.session_id)
    if session is None:
        raise not_found("Sesi", "Session", "session-not-found")
    domain.ensure_check_in_open(session["starts_at"], session["ends_at"], cmd.now)
    await uow.store.lock_participant(participant["participant_id"])    # counters exact per participant
    enrolment = await uow.store.live_enrolment(cmd.session_id, participant["participant_id"])
    if enrolment is None:   # only enrolled people get to try a code at all
        raise Conflict("not-enrolled", "Anda tidak terdaftar di sesi ini. / You are not enrolled in this session.")
    own, recent = await uow.store.wrong_codes(cmd.session_id, participant["participant_id"],
                                              since=cmd.now - domain.WRONG_CODE_WINDOW)
    refused = domain.check_in_guard(own, recent)
    if refused is not None:
        raise refused
    if not domain.verify_check_in_code(session["checkin_secret"], cmd.code, cmd.now):
        await uow.store.record_wrong_code(city, cmd.session_id, participant["participant_id"], cmd.now)
        return CheckInResult(refusal=domain.wrong_code(own + 1))
    attendance = await record_attendance(uow, RecordAttendance(
        enrolment["enrolment_id"], attended=True, method="check_in_code", actor=participant["participant_id"],
        now=cmd.now))
    return CheckInResult(attendance=attendance)


async def record_attendance(uow: Uow, cmd: RecordAttendance) -> dict[str, Any]:
    """Mark attended (or no-show); attending the last required session issues the certificate, once."""
    city = uow.this_city
    if cmd.by is not None:   # a trainer runs only their own sessions, from the check-in opening on
        session = await uow.store.session(city, cmd.session_id or "")
        if session is None:
            raise not_found("Sesi", "Session", "session-not-found")
        policy.ensure_runs_session(cmd.by, session["trainer_id"], await uow.store.trainer_id_of(city, cmd.by.sub))
        domain.ensure_attendance_open(session["starts_at"], session["ends_at"], cmd.now)
    head = await uow.store.enrolment(city, cmd.enrolment_id, session_id=cmd.session_id)
    if head is None:
        raise not_found("Pendaftaran", "Enrolment", "enrolment-not-found")
    participant = await uow.store.lock_participant(head["participant_id"])
    enrolment = await uow.store.lock_enrolment(cmd.enrolment_id)
    target = "attended" if cmd.attended else "no_show"
    if enrolment["status"] == target:
        return {"enrolment_id": cmd.enrolment_id, "status": target, "changed": False, "certificate_code": None}
    domain.ensure_attendable(enrolment["status"])
    domain.require_move(enrolment["status"], target)
    await uow.store.move(enrolment, target, reason=f"attendance by {cmd.method}", actor=cmd.actor, now=cmd.now)
    if cmd.by is not None:   # staff changed it by hand (a no-show corrected, too): on the audit list
        uow.audit(cmd.by, "enrolment", cmd.enrolment_id, _attendance_action(enrolment["status"], target),
                  before={"status": enrolment["status"]}, after={"status": target, "method": cmd.method})
    certificate_code = None
    if cmd.attended:
        await uow.store.insert_attendance(city, enrolment, method=cmd.method, actor=cmd.actor, now=cmd.now)
        uow.emit(AttendanceRecorded(enrolment_id=cmd.enrolment_id, participant_id=enrolment["participant_id"],
                                    programme_id=enrolment["programme_id"], session_id=enrolment["session_id"]))
        certificate_code = await _issue_certificate_if_complete(uow, participant, enrolment, now=cmd.now)
    return {"enrolment_id": cmd.enrolment_id, "status": target, "changed": True, "certificate_code": certificate_code}


async def _issue_certificate_if_complete(uow: Uow, participant: Row, enrolment: Row, *, now: datetime) -> str | None:
    city = uow.this_city
    programme_id, participant_id = enrolment["programme_id"], participant["participant_id"]
    sessions, attended, held = await uow.store.completion_facts(programme_id, participant_id)
    if held or not domain.has_completed(sessions, attended):
        return None
    issued_on = now.astimezone(all_cities()[city].tz).date()
    for _ in range(5):  # a code collision (≈ never) just draws again
        code = domain.certificate_code()
        if await uow.store.insert_certificate(city, code, programme_id=programme_id, participant_id=participant_id,
                                              enrolment_id=enrolment["enrolment_id"], issued_on=issued_on, now=now):
            break
    else:
        raise RuntimeError("could not draw a unique certificate code")
    programme = await uow.store.programme(programme_id)
    uow.emit(CertificateIssued(
        enrolment_id=enrolment["enrolment_id"], participant_id=participant_id, programme_id=programme_id,
        session_id=enrolment["session_id"], certificate_code=code, participant_name=participant["name"],
        participant_group=participant["grp"], programme_style=programme["style"],
        programme_title=programme["title"], rw=participant["rw"], kelurahan=participant["kelurahan"],
        participant_phone=participant["phone"], vendor_id=participant["vendor_id"], issued_on=issued_on))
    log.info("certificate issued", programme_id=programme_id, participant_id=participant_id)
    return code


async def mark_no_shows(uow: Uow, now: datetime | None = None, grace_minutes: int = 60) -> int:
    """Periodic job (all cities): booked seats of sessions over for ``grace_minutes`` become no-shows.

    The trainer can still correct one (no_show → attended). Guarded by the current status, so it is safe to
    run on every replica and to repeat.
    """
    return await uow.store.mark_no_shows(now or _now(), grace_minutes)


# -------------------------------------------------------------------------------- projections (events in)

def _occurred_at(uow: Uow) -> datetime:
    assert uow.causation is not None, "an event handler runs in a unit of work caused by its event"
    return uow.causation.occurred_at


async def on_rw_hub(uow: Uow, hub: RwHubRegistered) -> None:
    await uow.store.upsert_hub(uow.this_city, rw_hub_id=hub.rw_hub_id, name=hub.name, kelurahan=hub.kelurahan,
                               rw=domain.normalise_rw(hub.rw) or hub.rw, address=hub.address, active=hub.active)


VENDOR_STEP = {VendorDraftOpened: "drafted_at", VendorTrainedBadgeGranted: "badge_at",
               VendorActivated: "activated_at", VendorSuspended: "suspended_at"}


async def on_vendor_event(uow: Uow, event: VendorDraftOpened | VendorTrainedBadgeGranted | VendorActivated
                          | VendorSuspended) -> None:
    """Catalog's word is the proof of a participant ↔ vendor link (it names the participant it drafted)."""
    await uow.store.link_vendor(uow.this_city, event.vendor_id, getattr(event, "participant_id", None),
                                VENDOR_STEP[type(event)], _occurred_at(uow))


async def on_order_completed(uow: Uow, event: OrderCompleted) -> None:
    await uow.store.record_sales(uow.this_city, event.order_id, list(event.vendor_ids), _occurred_at(uow),
                                 event.total)


async def on_account_deletion_requested(uow: Uow, event: AccountDeletionRequested) -> None:
    """A person asked for deletion: their name and phone leave every participant and trainer row (all cities).
    Enrolments, attendance and certificates stay as counts for the programme's reports, with no name attached."""
    forgotten = await uow.store.forget_person(event.phone, event.account_id)
    forgotten += await uow.store.forget_report_rows(event.phone, event.account_id)
    log.info("personal data removed", account_id=event.account_id, rows=forgotten)


# --------------------------------------------------- attendance reports, no-show corrections, roster (#13)

def _attendance_action(before: str, after: str) -> str:
    if before == "no_show" and after == "attended":
        return "no_show_corrected"
    return "attendance_recorded" if after == "attended" else "marked_no_show"


@dataclass(frozen=True)
class ImportAttendanceReport:
    session_id: str
    filename: str
    content: bytes
    by: Principal                         # the trainer (or city admin) uploading it
    min_minutes: int | None = None        # None: attendance_report.default_min_minutes(session length)
    now: datetime = field(default_factory=_now)
    import_id: str | None = None


@dataclass(frozen=True)
class MatchReportRow:
    import_id: str
    row_no: int
    enrolment_id: str
    by: Principal
    session_id: str | None = None         # the path's session: a row of another session is "not found"
    now: datetime = field(default_factory=_now)


@dataclass(frozen=True)
class MessageRoster:
    session_id: str
    text: str
    by: Principal
    now: datetime = field(default_factory=_now)


async def _session_run_by(uow: Uow, session_id: str, by: Principal) -> Row:
    session = await uow.store.session(uow.this_city, session_id)
    if session is None:
        raise not_found("Sesi", "Session", "session-not-found")
    policy.ensure_runs_session(by, session["trainer_id"], await uow.store.trainer_id_of(uow.this_city, by.sub))
    return session


async def import_attendance_report(uow: Uow, cmd: ImportAttendanceReport) -> dict[str, Any]:
    """The meeting platform's attendance CSV → attendance, through the same path as the check-in code (so a
    participant who checked in *and* is in the report counts once). Rows matched by email, phone, then name;
    a row under the minimum minutes is kept but records nothing; unmatched rows wait for a match by hand."""
    from learning import attendance_report as report_

    city = uow.this_city
    session = await _session_run_by(uow, cmd.session_id, cmd.by)
    domain.ensure_attendance_open(session["starts_at"], session["ends_at"], cmd.now)
    if cmd.now < session["starts_at"]:
        raise Conflict("session-not-started", "Laporan kehadiran baru bisa diimpor setelah sesi dimulai. / "
                                              "An attendance report can be imported once the session has started.")
    session_minutes = int((session["ends_at"] - session["starts_at"]).total_seconds() // 60)
    min_minutes = cmd.min_minutes or report_.default_min_minutes(session_minutes)
    if not 1 <= min_minutes <= 24 * 60:
        raise Invalid("bad-min-minutes", "Minimal menit hadir harus 1–1440. / Minimum minutes must be 1–1440.",
                      field="min_minutes")
    try:
        parsed = report_.parse(cmd.content)
    except report_.ReportRefused as exc:
        raise Invalid("bad-attendance-report", exc.reason, field="file") from None
    roster = await uow.store.roster_for_matching(cmd.session_id)
    status_of = {r["enrolment_id"]: r["status"] for r in roster}
    matches = report_.match(parsed.attendees, [
        report_.Enrolled(r["enrolment_id"], r["name"], normalise_phone(r["phone"]), r["email"]) for r in roster])
    import_id = cmd.import_id or new_id()
    await uow.store.insert_attendance_import(
        city, import_id, session_id=cmd.session_id, filename=cmd.filename[:200] or "laporan.csv",
        platform=parsed.platform, min_minutes=min_minutes, rows_read=parsed.rows_read, imported_by=cmd.by.sub,
        now=cmd.now)
    rows: list[dict[str, Any]] = []
    counts = {"recorded": 0, "already_attended": 0, "too_short": 0, "waitlisted": 0, "unmatched": 0}
    for row_no, m in enumerate(matches, start=1):
        qualifies = report_.qualifies(m.attendee.minutes, min_minutes)
        outcome = await _apply_report_row(uow, m.enrolment_id, status_of, qualifies=qualifies, actor=cmd.by.sub,
                                          now=cmd.now)
        if m.enrolment_id and outcome == "recorded":
            status_of[m.enrolment_id] = "attended"   # the same person twice in a report (email and name): once
        counts[outcome] += 1
        rows.append({"row_no": row_no, "name": m.attendee.name, "email": m.attendee.email,
                     "phone": m.attendee.phone, "minutes": m.attendee.minutes, "qualifies": qualifies,
                     "enrolment_id": m.enrolment_id, "matched_by": m.matched_by, "outcome": outcome})
    await uow.store.insert_attendance_import_rows(city, import_id, cmd.session_id, rows)
    summary = {"import_id": import_id, "session_id": cmd.session_id, "platform": parsed.platform,
               "min_minutes": min_minutes, "people": len(rows), **counts}
    uow.audit(cmd.by, "attendance_import", import_id, "imported", after={**summary, "filename": cmd.filename[:200]})
    log.info("attendance report imported", session_id=cmd.session_id, **{k: v for k, v in summary.items()
                                                                         if isinstance(v, int)})
    return summary


async def _apply_report_row(uow: Uow, enrolment_id: str | None, status_of: dict[str, str], *, qualifies: bool,
                            actor: str, now: datetime) -> str:
    if enrolment_id is None:
        return "unmatched"
    if not qualifies:
        return "too_short"
    status = status_of.get(enrolment_id)
    if status == "waitlisted":
        return "waitlisted"
    if status == "attended":
        return "already_attended"
    result = await record_attendance(uow, RecordAttendance(enrolment_id, attended=True, method="report",
                                                           actor=actor, now=now))
    return "recorded" if result["changed"] else "already_attended"


async def match_report_row(uow: Uow, cmd: MatchReportRow) -> dict[str, Any]:
    """The trainer says who an unmatched report row is: attendance follows when the row has the minutes, and the
    row's email is remembered for the participant (the next report matches them by itself)."""
    row = await uow.store.lock_import_row(uow.this_city, cmd.import_id, cmd.row_no)
    if row is None or (cmd.session_id is not None and row["session_id"] != cmd.session_id):
        raise not_found("Baris laporan", "Report row", "report-row-not-found")
    await _session_run_by(uow, row["session_id"], cmd.by)
    if row["enrolment_id"] is not None:
        raise Conflict("report-row-matched", "Baris ini sudah dicocokkan. / This row is already matched.")
    enrolment = await uow.store.enrolment(uow.this_city, cmd.enrolment_id, session_id=row["session_id"])
    if enrolment is None or enrolment["status"] == "cancelled":
        raise Invalid("not-on-roster", "Peserta itu tidak terdaftar di sesi ini. / That participant is not on this "
                                       "session's roster.", field="enrolment_id")
    outcome = await _apply_report_row(uow, cmd.enrolment_id, {cmd.enrolment_id: enrolment["status"]},
                                      qualifies=row["qualifies"], actor=cmd.by.sub, now=cmd.now)
    await uow.store.resolve_import_row(cmd.import_id, cmd.row_no, enrolment_id=cmd.enrolment_id,
                                       matched_by="manual", outcome=outcome)
    if row["email"]:
        await uow.store.learn_participant_email(enrolment["participant_id"], row["email"])
    uow.audit(cmd.by, "attendance_import", cmd.import_id, "row_matched",
              before={"row": cmd.row_no, "name": row["name"], "enrolment_id": None},
              after={"row": cmd.row_no, "name": row["name"], "enrolment_id": cmd.enrolment_id, "outcome": outcome})
    return {"import_id": cmd.import_id, "row_no": cmd.row_no, "enrolment_id": cmd.enrolment_id, "outcome": outcome}


MAX_ROSTER_MESSAGE = 500


async def message_roster(uow: Uow, cmd: MessageRoster) -> dict[str, Any]:
    """A short text from the trainer to everyone holding a seat: one ``RosterMessaged`` per participant, which
    notifications turns into one WhatsApp message each."""
    session = await _session_run_by(uow, cmd.session_id, cmd.by)
    text = " ".join(cmd.text.split()) if "\n" not in cmd.text else cmd.text.strip()
    if not text:
        raise Invalid("empty-message", "Tulis pesannya. / Write the message.", field="text")
    if len(text) > MAX_ROSTER_MESSAGE:
        raise Invalid("message-too-long", f"Pesan maks. {MAX_ROSTER_MESSAGE} karakter. / At most "
                                          f"{MAX_ROSTER_MESSAGE} characters.", field="text")
    recipients = await uow.store.seat_holders(cmd.session_id)
    if not recipients:
        raise Conflict("roster-empty", "Belum ada peserta yang memegang kursi di sesi ini. / Nobody holds a seat "
                                       "in this session yet.")
    programme = await uow.store.programme(session["programme_id"])
    trainer_name = await uow.store.trainer_name(session["trainer_id"])
    message_id = new_id()
    for r in recipients:
        uow.emit(RosterMessaged(enrolment_id=r["enrolment_id"], participant_id=r["participant_id"],
                                programme_id=r["programme_id"], session_id=cmd.session_id, message_id=message_id,
                                text=text, participant_phone=r["phone"], session_title=session["title"],
                                programme_title=programme["title"], trainer_name=trainer_name))
    uow.audit(cmd.by, "session", cmd.session_id, "roster_messaged",
              after={"message_id": message_id, "text": text, "recipients": len(recipients)})
    return {"message_id": message_id, "session_id": cmd.session_id, "recipients": len(recipients)}

# ------------------------------------------------------------------------- back office (issue #13)

PROGRAMME_FIELDS = ("title", "style", "partner", "modules", "description")
SESSION_FIELDS = ("programme_id", "title", "module", "starts_at", "ends_at", "rw_hub_id", "meeting_link",
                  "capacity", "trainer_id", "required")


def _programme_fields(source: Any) -> dict[str, Any]:
    values: dict[str, Any] = source if isinstance(source, dict) else {k: getattr(source, k) for k in PROGRAMME_FIELDS}
    return {k: list(values[k] or []) if k == "modules" else values[k] for k in PROGRAMME_FIELDS}


def _session_fields(row: Row) -> dict[str, Any]:
    return {k: row[k] for k in SESSION_FIELDS}


async def _ensure_no_overlap(uow: Uow, starts_at: datetime, ends_at: datetime, trainer_id: str | None,
                             rw_hub_id: str | None, *, exclude: str | None) -> None:
    """Refuse (409 ``session-overlap``, naming the other session) a time the trainer or the hub is already taken."""
    other = await uow.store.overlapping_session(uow.this_city, starts_at=starts_at, ends_at=ends_at,
                                                trainer_id=trainer_id, rw_hub_id=rw_hub_id, exclude=exclude)
    if other is not None:
        raise domain.overlap_refusal(other["title"], other["session_id"], other["starts_at"], other["reason"])


@dataclass(frozen=True)
class UpdateProgramme:
    programme_id: str
    by: Principal
    title: str | None = None
    style: str | None = None
    partner: str | None = None
    modules: list[str] | None = None
    description: str | None = None


async def update_programme(uow: Uow, cmd: UpdateProgramme) -> str:
    row = await uow.store.programme_of_city(uow.this_city, cmd.programme_id, lock=True)
    if row is None:
        raise not_found("Program", "Programme", "programme-not-found")
    before = _programme_fields(dict(row))
    after = {k: (getattr(cmd, k) if getattr(cmd, k) is not None else before[k]) for k in PROGRAMME_FIELDS}
    domain.ensure_style(after["style"])
    await uow.store.update_programme(cmd.programme_id, **after)
    uow.audit(cmd.by, "programme", cmd.programme_id, "updated", before=before, after=after)
    return cmd.programme_id


@dataclass(frozen=True)
class UpdateSession:
    session_id: str
    by: Principal
    changes: dict[str, Any]                # only the fields sent (SESSION_FIELDS minus programme_id)
    now: datetime = field(default_factory=_now)


async def update_session(uow: Uow, cmd: UpdateSession) -> str:
    """Edit a session: a trainer only their own (and cannot hand it to another trainer); a city admin any."""
    city = uow.this_city
    row = await uow.store.session(city, cmd.session_id, lock=True)
    if row is None:
        raise not_found("Sesi", "Session", "session-not-found")
    own = await uow.store.trainer_id_of(city, cmd.by.sub)
    policy.ensure_runs_session(cmd.by, row["trainer_id"], own)
    before = _session_fields(row)
    after = {**before, **{k: v for k, v in cmd.changes.items() if k in SESSION_FIELDS and k != "programme_id"}}
    if not cmd.by.has("city_admin") and after["trainer_id"] != row["trainer_id"]:
        raise Forbidden("not-your-session", "Pelatih hanya mengubah sesinya sendiri. / A trainer edits only their "
                                            "own sessions.")
    style = await uow.store.programme_style(city, row["programme_id"])
    assert style is not None
    domain.ensure_session_plan(style, starts_at=after["starts_at"], ends_at=after["ends_at"], now=cmd.now,
                               rw_hub_id=after["rw_hub_id"], meeting_link=after["meeting_link"])
    if after["rw_hub_id"] and after["rw_hub_id"] != row["rw_hub_id"] and not await uow.store.hub_active(
            city, after["rw_hub_id"]):
        raise Invalid("unknown-rw-hub", "Balai RW tidak dikenal di kota ini. / Unknown RW hub in this city.")
    if after["trainer_id"] and not await uow.store.trainer_known(city, after["trainer_id"]):
        raise Invalid("unknown-trainer", "Pelatih tidak dikenal. / Unknown trainer.")
    if after["capacity"] < await uow.store.seats_taken(cmd.session_id):
        raise Conflict("capacity-below-booked", "Kapasitas lebih kecil dari kursi terisi. / The capacity is below "
                                                "the seats already taken.")
    await _ensure_no_overlap(uow, after["starts_at"], after["ends_at"], after["trainer_id"], after["rw_hub_id"],
                             exclude=cmd.session_id)
    await uow.store.update_session(cmd.session_id, **{k: after[k] for k in SESSION_FIELDS if k != "programme_id"})
    uow.audit(cmd.by, "session", cmd.session_id, "updated", before=before, after=after)
    return cmd.session_id


async def trainer_of(uow: Uow, subject: str) -> str:
    """The caller's trainer id (403 ``not-a-trainer`` otherwise)."""
    trainer_id = await uow.store.trainer_id_of(uow.this_city, subject)
    if trainer_id is None:
        raise Forbidden("not-a-trainer", "Anda belum terdaftar sebagai pelatih. / You are not registered as a trainer.")
    return str(trainer_id)


async def create_own_session(uow: Uow, cmd: CreateSession) -> str:
    """A trainer plans a session of a programme with themself as its trainer."""
    assert cmd.by is not None
    trainer_id = await trainer_of(uow, cmd.by.sub)
    return await create_session(uow, CreateSession(**{**cmd.__dict__, "trainer_id": trainer_id}))


@dataclass(frozen=True)
class AddMaterial:
    programme_id: str
    title: str
    by: Principal
    kind: str = "link"                     # link | recording | file
    url: str | None = None
    content: bytes | None = None
    module: str | None = None
    session_id: str | None = None
    material_id: str | None = None


async def add_material(uow: Uow, cmd: AddMaterial) -> str:
    """A link, a recording link (of a session) or a file (PDF/PNG/JPEG, sniffed from its bytes) — audited."""
    city = uow.this_city
    programme = await uow.store.programme_of_city(city, cmd.programme_id)
    if programme is None:
        raise not_found("Program", "Programme", "programme-not-found")
    if cmd.session_id is not None:
        session = await uow.store.session(city, cmd.session_id)
        if session is None or session["programme_id"] != cmd.programme_id:
            raise not_found("Sesi", "Session", "session-not-found")
        if not cmd.by.has("city_admin"):
            policy.ensure_runs_session(cmd.by, session["trainer_id"], await uow.store.trainer_id_of(city, cmd.by.sub))
    elif not cmd.by.has("city_admin"):
        raise Forbidden("admin-only", "Materi program hanya oleh admin kota. / Programme materials: city admin only.")
    if cmd.module is not None and cmd.module not in list(programme["modules"]):
        raise Invalid("unknown-module", "Modul tidak ada di program ini. / No such module in this programme.",
                      field="module")
    if cmd.kind == "recording" and cmd.session_id is None:
        raise Invalid("recording-needs-session", "Rekaman milik satu sesi. / A recording belongs to a session.",
                      field="session_id")
    material_id = cmd.material_id or new_id()
    content_type = size = key = None
    if cmd.kind == "file":
        assert cmd.content is not None
        if len(cmd.content) > domain.MATERIAL_MAX_BYTES:
            raise Invalid("file-too-large", "Berkas terlalu besar (maks. 5 MB). / The file is too large (max 5 MB).",
                          field="file")
        content_type, size, key = domain.sniff_material(cmd.content), len(cmd.content), f"{city}/{material_id}"
        await uow.store.blobs.put(city, key, cmd.content)
    else:
        domain.ensure_https_link(cmd.url or "")
    await uow.store.insert_material(city, material_id, programme_id=cmd.programme_id, module=cmd.module,
                                    session_id=cmd.session_id, kind=cmd.kind, title=cmd.title, url=cmd.url,
                                    content_type=content_type, size_bytes=size, storage_key=key, created_by=cmd.by.sub)
    uow.audit(cmd.by, "material", material_id, "added", after={
        "programme_id": cmd.programme_id, "session_id": cmd.session_id, "module": cmd.module, "kind": cmd.kind,
        "title": cmd.title, "url": cmd.url, "content_type": content_type, "size_bytes": size})
    return material_id
