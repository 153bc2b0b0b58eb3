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


@dataclass(frozen=True)
class CreateProgramme:
    title: str
    style: str
    partner: str | None = None
    modules: list[str] = field(default_factory=list)
    description: str = ""
    programme_id: str | None = None


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
    return trainer_id


async def create_programme(uow: Uow, cmd: CreateProgramme) -> str:
    domain.ensure_style(cmd.style)
    programme_id = cmd.programme_id or new_id()
    await uow.store.insert_programme(uow.this_city, programme_id, title=cmd.title, style=cmd.style,
                                     partner=cmd.partner, modules=cmd.modules, description=cmd.description)
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
    session_id = cmd.session_id or new_id()
    await uow.store.insert_session(
        city, session_id, programme_id=cmd.programme_id, title=cmd.title, module=cmd.module,
        starts_at=cmd.starts_at, ends_at=cmd.ends_at, rw_hub_id=cmd.rw_hub_id if style != "webinar" else None,
        meeting_link=cmd.meeting_link if style != "in_person" else None, capacity=cmd.capacity,
        trainer_id=cmd.trainer_id, required=cmd.required, secret=domain.new_session_secret())
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
    log.info("personal data removed", account_id=event.account_id, rows=forgotten)
