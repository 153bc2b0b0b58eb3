"""Events the learning service emits, keyed by enrolment id."""

from __future__ import annotations

from datetime import date, datetime

from shared.envelope import EventPayload, event
from shared.events.common import ParticipantGroup, ProgrammeStyle

ENROLMENT = "learning.enrolment.v1"


class _EnrolmentEvent(EventPayload):
    enrolment_id: str
    participant_id: str
    programme_id: str
    session_id: str | None = None


class _SessionFacts(_EnrolmentEvent):
    """Where and when the session is and whom to tell (for notifications' messages and reminders)."""

    participant_phone: str | None = None
    programme_title: str | None = None
    session_title: str | None = None
    session_starts_at: datetime | None = None
    rw_hub_id: str | None = None  # venue of an in-person session (catalog's RW hub)
    meeting_link: str | None = None  # webinars
    trainer_phone: str | None = None  # the session's trainer (for the roster the evening before)


@event("EnrolmentBooked", 1, ENROLMENT, key="enrolment_id")
class EnrolmentBooked(_SessionFacts):
    pass


@event("EnrolmentWaitlisted", 1, ENROLMENT, key="enrolment_id")
class EnrolmentWaitlisted(_SessionFacts):
    position: int


@event("EnrolmentPromoted", 1, ENROLMENT, key="enrolment_id")
class EnrolmentPromoted(_SessionFacts):
    pass


@event("EnrolmentCancelled", 1, ENROLMENT, key="enrolment_id")
class EnrolmentCancelled(_EnrolmentEvent):
    pass


@event("AttendanceRecorded", 1, ENROLMENT, key="enrolment_id")
class AttendanceRecorded(_EnrolmentEvent):
    pass


@event("CertificateIssued", 1, ENROLMENT, key="enrolment_id")
class CertificateIssued(_EnrolmentEvent):
    certificate_code: str
    participant_name: str
    participant_group: ParticipantGroup
    programme_style: ProgrammeStyle
    programme_title: str
    rw: str | None = None
    kelurahan: str | None = None
    participant_phone: str | None = None
    vendor_id: str | None = None
    issued_on: date


PARTICIPANT = "learning.participant.v1"
TRAINER = "learning.trainer.v1"


@event("ParticipantRegistered", 1, PARTICIPANT, key="participant_id")
class ParticipantRegistered(EventPayload):
    """A person registered for training; identity grants ``participant`` to the account of ``phone``."""

    participant_id: str
    subject: str            # the token subject learning knows them by (identity's account id when signed in)
    phone: str              # the 08… form (shared.phone)
    name: str
    group: ParticipantGroup


@event("TrainerAdded", 1, TRAINER, key="trainer_id")
class TrainerAdded(EventPayload):
    """A city admin added a trainer; identity grants ``trainer`` to the account of ``phone`` (when given)."""

    trainer_id: str
    subject: str
    name: str
    phone: str | None = None


@event("RosterMessaged", 1, ENROLMENT, key="enrolment_id")
class RosterMessaged(_EnrolmentEvent):
    """The session's trainer wrote to the roster: one event per participant holding a seat (booked, attended or
    no-show), all with the same ``message_id``; notifications sends each one message (``trainer_message``)."""

    message_id: str
    text: str
    participant_phone: str | None = None
    session_title: str | None = None
    programme_title: str | None = None
    trainer_name: str | None = None
