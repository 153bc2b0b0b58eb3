"""Learning's use cases on the kernel's unit of work with an in-memory store: no Postgres, no Kafka."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from learning import domain, handlers
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, Invalid, TooMany
from shared.uow import in_memory
from tests.learning.fakes import FakeLearningStore

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
CITY = "cimahi"


def _store_with_session(capacity: int, *, starts_at: datetime | None = None) -> FakeLearningStore:
    store = FakeLearningStore()
    start = starts_at or NOW + timedelta(days=1)
    store.add_session("s1", capacity=capacity, starts_at=start, ends_at=start + timedelta(hours=2))
    return store


async def test_enrol_books_seats_then_waitlists_and_emits_with_the_request_correlation() -> None:
    store = _store_with_session(capacity=2)
    subjects = [store.add_participant(f"p{n}") for n in range(3)]
    async with in_memory(store, city=CITY, correlation_id="corr-1") as uow:
        answers = [await handlers.enrol(uow, handlers.Enrol("s1", participant=s, now=NOW)) for s in subjects]
    assert [a["status"] for a in answers] == ["booked", "booked", "waitlisted"]
    assert answers[2]["waitlist_position"] == 1
    assert store.statuses("s1") == {"p0": "booked", "p1": "booked", "p2": "waitlisted"}
    assert uow.event_types() == ["EnrolmentBooked", "EnrolmentBooked", "EnrolmentWaitlisted"]
    assert {e.envelope.correlation_id for e in uow.committed} == {"corr-1"}
    assert {e.envelope.city for e in uow.committed} == {CITY}
    assert [e["participant_id"] for e in uow.events] == ["p0", "p1", "p2"]


async def test_cancel_promotes_the_head_of_the_waitlist_exactly_once() -> None:
    store = _store_with_session(capacity=1)
    subjects = [store.add_participant(f"p{n}") for n in range(3)]
    async with in_memory(store, city=CITY) as uow:
        first = await handlers.enrol(uow, handlers.Enrol("s1", participant=subjects[0], now=NOW))
        for s in subjects[1:]:
            await handlers.enrol(uow, handlers.Enrol("s1", participant=s, now=NOW))
    async with in_memory(store, city=CITY) as uow:
        result = await handlers.cancel(uow, handlers.Cancel(first["enrolment_id"], actor="p0",
                                                            participant=subjects[0], now=NOW))
    assert store.statuses("s1") == {"p0": "cancelled", "p1": "booked", "p2": "waitlisted"}
    assert len(result["promoted"]) == 1
    assert uow.event_types() == ["EnrolmentCancelled", "EnrolmentPromoted"]
    with pytest.raises(Conflict):   # cancelling again changes nothing
        async with in_memory(store, city=CITY) as again:
            await handlers.cancel(again, handlers.Cancel(first["enrolment_id"], actor="p0", participant=subjects[0],
                                                         now=NOW))
    assert again.committed == []


async def test_enrolling_twice_or_after_the_start_is_refused_and_emits_nothing() -> None:
    store = _store_with_session(capacity=5, starts_at=NOW - timedelta(minutes=1))
    subject = store.add_participant("p0")
    with pytest.raises(Conflict) as err:
        async with in_memory(store, city=CITY) as uow:
            await handlers.enrol(uow, handlers.Enrol("s1", participant=subject, now=NOW))
    assert err.value.code == "session-started" and uow.committed == [] and store.enrolments == {}


async def test_wrong_check_in_codes_lock_the_participant_out_after_five_and_are_kept() -> None:
    store = _store_with_session(capacity=5, starts_at=NOW + timedelta(minutes=5))
    subject = store.add_participant("p0")
    async with in_memory(store, city=CITY) as uow:
        await handlers.enrol(uow, handlers.Enrol("s1", participant=subject, now=NOW - timedelta(days=1)))
    right = domain.check_in_code(store.sessions["s1"]["checkin_secret"], NOW)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    answers = []
    for _ in range(7):
        async with in_memory(store, city=CITY) as uow:
            result = await handlers.check_in(uow, handlers.CheckIn("s1", participant=subject, code=wrong, now=NOW))
        assert result.refusal is not None
        answers.append((type(result.refusal), result.refusal.code, result.refusal.extra.get("attempts_left")))
        with pytest.raises(type(result.refusal)):
            result.answer()
        if isinstance(result.refusal, TooMany):
            break
    assert answers == [(Invalid, "wrong-check-in-code", 4), (Invalid, "wrong-check-in-code", 3),
                       (Invalid, "wrong-check-in-code", 2), (Invalid, "wrong-check-in-code", 1),
                       (TooMany, "check-in-locked", 0)]
    assert len(store.wrong) == 5
    # locked: even the right code is not checked any more; nothing recorded, nothing emitted
    with pytest.raises(TooMany):
        async with in_memory(store, city=CITY) as uow:
            await handlers.check_in(uow, handlers.CheckIn("s1", participant=subject, code=right, now=NOW))
    assert uow.committed == [] and store.statuses("s1") == {"p0": "booked"}
    # the trainer still records attendance
    enrolment_id = next(iter(store.enrolments))
    async with in_memory(store, city=CITY) as uow:
        done = await handlers.record_attendance(uow, handlers.RecordAttendance(enrolment_id, attended=True,
                                                                               actor="trainer", now=NOW))
    assert done["status"] == "attended" and uow.event_types()[0] == "AttendanceRecorded"


async def test_fifty_wrong_codes_in_a_session_throttle_every_code_check_for_a_while() -> None:
    store = _store_with_session(capacity=100, starts_at=NOW + timedelta(minutes=5))
    subjects = [store.add_participant(f"p{n}") for n in range(12)]
    async with in_memory(store, city=CITY) as uow:
        for s in subjects:
            await handlers.enrol(uow, handlers.Enrol("s1", participant=s, now=NOW - timedelta(days=1)))
    right = domain.check_in_code(store.sessions["s1"]["checkin_secret"], NOW)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for s in subjects[:10]:          # ten guessers, five wrong codes each
        for _ in range(5):
            async with in_memory(store, city=CITY) as uow:
                await handlers.check_in(uow, handlers.CheckIn("s1", participant=s, code=wrong, now=NOW))
    assert len(store.wrong) == 50
    with pytest.raises(TooMany) as err:   # an honest participant is throttled too, and told to ask the trainer
        async with in_memory(store, city=CITY) as uow:
            await handlers.check_in(uow, handlers.CheckIn("s1", participant=subjects[10], code=right, now=NOW))
    assert err.value.code == "check-in-throttled"
    later = NOW + domain.WRONG_CODE_WINDOW + timedelta(seconds=1)   # the window has room again
    code_later = domain.check_in_code(store.sessions["s1"]["checkin_secret"], later)
    async with in_memory(store, city=CITY) as uow:
        ok = await handlers.check_in(uow, handlers.CheckIn("s1", participant=subjects[11], code=code_later,
                                                            now=later))
    assert ok.answer()["status"] == "attended"


async def test_self_registration_cannot_claim_a_vendor_but_the_vendor_itself_can() -> None:
    store = FakeLearningStore()
    command = {"name": "Orang Asing", "phone": "081234567890", "group": "pelaku_usaha", "vendor_id": "vendor-7"}
    with pytest.raises(Forbidden) as err:
        async with in_memory(store, city=CITY) as uow:
            await handlers.register_participant(uow, handlers.RegisterParticipant(**command))
    assert err.value.code == "vendor-link-unproven" and store.participants == {}
    vendor = Principal(sub="vendor-7-owner", city=CITY, roles=frozenset({"vendor"}), vendor_id="vendor-7")
    async with in_memory(store, city=CITY) as uow:
        row = await handlers.register_participant(uow, handlers.RegisterParticipant(**command, linked_by=vendor))
    assert row["vendor_id"] == "vendor-7" and row["phone"] == "081234567890"
