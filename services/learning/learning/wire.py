"""Learning's answers on the wire (issue #17): one response model per route, every key ``queries`` and
``handlers`` return (``shared.wire.Answer`` refuses any other), with Cimahi examples on the main ones.

Keys a query writes only sometimes (a session's venue hub and meeting link, a material's url or download path)
have a default here and their routes answer with ``response_model_exclude_unset``: absent stays absent.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import ConfigDict, Field
from pydantic.config import JsonDict

from shared.events.common import ParticipantGroup, ProgrammeStyle
from shared.wire import Answer, Timestamp

EnrolmentStatus = Literal["booked", "waitlisted", "cancelled", "attended", "no_show"]
# examples: the demo city Cimahi
PROGRAMME: JsonDict = {
    "programme_id": "prg-cimahi-digital", "title": "Jualan Online untuk Pedagang Pasar", "style": "hybrid",
    "partner": "Dinas Koperasi dan UKM Kota Cimahi", "modules": ["Foto produk", "Harga dan ongkir"],
    "description": "Tiga pertemuan di balai RW dan satu webinar."}
SESSION: JsonDict = {
    "session_id": "ses-cimahi-foto-1", "programme_id": "prg-cimahi-digital",
    "programme_title": "Jualan Online untuk Pedagang Pasar", "style": "hybrid", "title": "Foto produk dengan HP",
    "module": "Foto produk", "starts_at": "2026-12-10T02:00:00+00:00", "ends_at": "2026-12-10T04:00:00+00:00",
    "venue": {"online": False, "rw_hub": {"rw_hub_id": "hub-cimahi-cibabat-07", "name": "Balai RW 07 Cibabat",
                                          "kelurahan": "Cibabat", "rw": "07", "address": "Jl. Kolonel Masturi 12"}},
    "capacity": 30, "seats_taken": 22, "seats_left": 8, "waitlisted": 0, "required": True,
    "trainer": {"trainer_id": "trn-cimahi-01", "name": "Dewi Lestari"}}
ENROLMENT: JsonDict = {
    "enrolment_id": "enr-0001", "session_id": "ses-cimahi-foto-1", "programme_id": "prg-cimahi-digital",
    "participant_id": "par-cimahi-0042", "status": "booked", "created_at": "2026-12-01T03:00:00+00:00",
    "updated_at": "2026-12-01T03:00:00+00:00", "waitlist_position": None, "session_title": "Foto produk dengan HP",
    "starts_at": "2026-12-10T02:00:00+00:00", "ends_at": "2026-12-10T04:00:00+00:00",
    "programme_title": "Jualan Online untuk Pedagang Pasar", "style": "hybrid",
    "rw_hub_id": "hub-cimahi-cibabat-07", "online": False, "meeting_link": None, "meeting_link_from": None}
FUNNEL: JsonDict = {"enrolled": 40, "attended": 31, "certified": 24, "became_vendor": 9, "first_sale": 7,
                    "repeat_sale_30d": 4}


# ------------------------------------------------------------------------------------------- programmes, sessions

class Programme(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [PROGRAMME]})

    programme_id: str
    title: str
    style: ProgrammeStyle
    partner: str | None
    modules: list[str]
    description: str


class VenueHub(Answer):
    rw_hub_id: str
    name: str | None = Field(description="None while catalog's hub is not yet projected here")
    kelurahan: str | None
    rw: str | None
    address: str | None


class Venue(Answer):
    online: bool = Field(description="the session has a meeting link")
    rw_hub: VenueHub | None = Field(None, description="absent for a session without a hub")
    meeting_link: str | None = Field(None, description="only for its trainer and city admins; absent otherwise")


class SessionTrainer(Answer):
    trainer_id: str
    name: str | None


class Session(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [SESSION]})

    session_id: str
    programme_id: str
    programme_title: str
    style: ProgrammeStyle
    title: str
    module: str | None
    starts_at: Timestamp
    ends_at: Timestamp
    venue: Venue
    capacity: int
    seats_taken: int = Field(description="booked, attended and no-show enrolments")
    seats_left: int
    waitlisted: int
    required: bool = Field(description="needed to complete the programme")
    trainer: SessionTrainer | None


class ProgrammeWithSessions(Programme):
    model_config = ConfigDict(json_schema_extra={"examples": [{**PROGRAMME, "sessions": [SESSION]}]})

    sessions: list[Session]


class Material(Answer):
    material_id: str
    programme_id: str
    module: str | None
    session_id: str | None
    kind: Literal["link", "file", "recording"]
    title: str
    content_type: str | None
    size_bytes: int | None
    created_at: Timestamp
    download_path: str | None = Field(None, description="an uploaded file's path; absent for links")
    url: str | None = Field(None, description="a link's address; absent for files and for a recording before the "
                                              "session ended")


class AdminProgramme(ProgrammeWithSessions):
    model_config = ConfigDict(json_schema_extra={"examples": [{**PROGRAMME, "sessions": [SESSION], "materials": [{
        "material_id": "mat-cimahi-0001", "programme_id": "prg-cimahi-digital", "module": "Foto produk",
        "session_id": None, "kind": "file", "title": "Panduan foto produk (PDF)", "content_type": "application/pdf",
        "size_bytes": 482133, "created_at": "2026-12-01T03:00:00+00:00",
        "download_path": "/cities/cimahi/materials/mat-cimahi-0001/file"}]}]})

    materials: list[Material]


class ProgrammeList(Answer):
    city: str
    programmes: list[Programme]


class SessionList(Answer):
    city: str
    sessions: list[Session]


class SessionMaterials(Answer):
    session_id: str
    materials: list[Material]


class MaterialAdded(Answer):
    material_id: str


# ------------------------------------------------------------------------------------------------ participants

class Participant(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "participant_id": "par-cimahi-0042", "name": "Siti Aminah", "phone": "081234567890", "group": "pkk",
        "rw": "07", "kelurahan": "Cibabat", "vendor_id": None, "subject": "01JDZ3R0CIMAHI0000000042"}]})

    participant_id: str
    name: str
    phone: str
    group: ParticipantGroup
    rw: str | None
    kelurahan: str | None
    vendor_id: str | None = Field(description="the vendor this participant is (own, proven)")
    subject: str = Field(description="the ``sub`` of the participant's token")


class Registered(Answer):
    participant: Participant


class Enrolment(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [ENROLMENT]})

    enrolment_id: str
    session_id: str
    programme_id: str
    participant_id: str
    status: EnrolmentStatus
    created_at: Timestamp
    updated_at: Timestamp
    waitlist_position: int | None = Field(description="1 = next in line; None unless waitlisted")
    session_title: str
    starts_at: Timestamp
    ends_at: Timestamp
    programme_title: str
    style: ProgrammeStyle
    rw_hub_id: str | None
    online: bool
    meeting_link: str | None = Field(description="from 30 minutes before the start, for a booked seat; else None")
    meeting_link_from: Timestamp | None = Field(description="when the meeting link shows (online sessions)")


class EnrolmentList(Answer):
    enrolments: list[Enrolment]


class EnrolmentChange(Answer):
    from_: EnrolmentStatus | None = Field(alias="from")
    to: EnrolmentStatus
    reason: str
    actor: str | None
    at: Timestamp


class EnrolmentDetail(Enrolment):
    model_config = ConfigDict(json_schema_extra={"examples": [{**ENROLMENT, "history": [
        {"from": None, "to": "booked", "reason": "enrolled", "actor": "par-cimahi-0042",
         "at": "2026-12-01T03:00:00+00:00"}]}]})

    history: list[EnrolmentChange]


class Enrolled(Answer):
    enrolment_id: str
    participant_id: str
    programme_id: str
    session_id: str
    status: Literal["booked", "waitlisted"]
    waitlist_position: int | None


class EnrolmentCancelled(Answer):
    enrolment_id: str
    status: EnrolmentStatus


class AttendanceRecorded(Answer):
    enrolment_id: str
    status: Literal["attended", "no_show"]
    changed: bool = Field(description="false when it was already so")
    certificate_code: str | None = Field(description="the certificate this attendance completed, once")


class OwnCertificate(Answer):
    code: str
    programme_id: str
    programme: str = Field(description="the programme's title")
    style: ProgrammeStyle
    partner: str | None
    issued_on: date
    verify_path: str


class OwnCertificates(Answer):
    certificates: list[OwnCertificate]


class CertificateCopy(Answer):
    """What the printed certificate shows."""

    code: str
    name: str
    programme: str
    style: ProgrammeStyle
    partner: str | None
    city: str
    city_name: str
    issued_on: date
    first_session: Timestamp | None
    last_session: Timestamp | None
    verify_path: str


class CertificateVerified(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "valid": True, "code": "CMH7K2Q9", "name": "Siti Aminah", "programme": "Jualan Online untuk Pedagang Pasar",
        "programme_style": "hybrid", "partner": "Dinas Koperasi dan UKM Kota Cimahi", "city": "cimahi",
        "city_name": "Kota Cimahi", "issued_on": "2026-12-17"}]})

    valid: Literal[True]
    code: str
    name: str
    programme: str
    programme_style: ProgrammeStyle
    partner: str | None
    city: str
    city_name: str
    issued_on: date


# ---------------------------------------------------------------------------------------------------- trainer

class Trainer(Answer):
    trainer_id: str
    name: str
    subject: str = Field(description="the ``sub`` of the trainer's token")
    phone: str | None
    expertise: str | None


class TrainerList(Answer):
    trainers: list[Trainer]


class TrainerSessions(Answer):
    trainer: Trainer
    sessions: list[Session]


class RosterAttendance(Answer):
    method: Literal["check_in_code", "trainer", "report"]
    at: Timestamp


class RosterEntry(Answer):
    enrolment_id: str
    participant_id: str
    name: str
    phone: str
    group: ParticipantGroup
    rw: str | None
    kelurahan: str | None
    status: EnrolmentStatus
    waitlist_position: int | None
    attendance: RosterAttendance | None


class Roster(Answer):
    session: Session
    roster: list[RosterEntry] = Field(description="by arrival; cancelled ones last (with ``cancelled=true``)")


class CheckInCode(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "session_id": "ses-cimahi-foto-1", "code": "482913", "valid_until": "2026-12-10T02:15:30+00:00",
        "rotates_every_seconds": 30, "check_in_opens_at": "2026-12-10T01:30:00+00:00",
        "check_in_closes_at": "2026-12-10T04:30:00+00:00", "check_in_open": True,
        "qr_payload": "pasarkota:check-in?city=cimahi&session=ses-cimahi-foto-1&code=482913",
        "qr_png_path": "/cities/cimahi/trainer/sessions/ses-cimahi-foto-1/check-in-code.png"}]})

    session_id: str
    code: str
    valid_until: Timestamp
    rotates_every_seconds: int
    check_in_opens_at: Timestamp
    check_in_closes_at: Timestamp
    check_in_open: bool
    qr_payload: str
    qr_png_path: str


class ReportImported(Answer):
    import_id: str
    session_id: str
    platform: str = Field(description="zoom, meet or csv")
    min_minutes: int
    people: int = Field(description="rows read from the report")
    recorded: int
    already_attended: int
    too_short: int
    waitlisted: int
    unmatched: int


class ReportImport(Answer):
    import_id: str
    filename: str
    platform: str
    min_minutes: int
    imported_by: str
    imported_at: Timestamp
    people: int
    recorded: int
    already_attended: int
    too_short: int
    waitlisted: int
    unmatched: int


class UnmatchedRow(Answer):
    import_id: str
    row_no: int
    name: str
    email: str | None
    phone: str | None
    minutes: int
    qualifies: bool


class AttendanceReports(Answer):
    session_id: str
    session_minutes: int
    min_minutes: int = Field(description="the rule the next import starts from")
    imports: list[ReportImport] = Field(description="newest first (at most 20)")
    unmatched: list[UnmatchedRow]


class RowMatched(Answer):
    import_id: str
    row_no: int
    enrolment_id: str
    outcome: Literal["recorded", "already_attended", "too_short", "waitlisted", "unmatched"]


class RosterMessageSent(Answer):
    message_id: str
    session_id: str
    recipients: int


class HistoryEntry(Answer):
    id: int
    at: Timestamp
    actor: str | None
    entity: str
    entity_id: str
    action: str
    participant_name: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class SessionHistory(Answer):
    entries: list[HistoryEntry] = Field(description="newest first (at most 100)")


# ------------------------------------------------------------------------------------------------- city admin

class RwHub(Answer):
    rw_hub_id: str
    name: str
    kelurahan: str
    rw: str
    address: str
    active: bool


class RwHubList(Answer):
    rw_hubs: list[RwHub]


class ProgrammeFigures(Answer):
    programme_id: str
    title: str
    style: ProgrammeStyle
    partner: str | None
    sessions: int
    seats_taken: int
    waitlisted: int
    attended: int
    no_show: int
    cancelled: int
    certificates: int


class ProgrammeReport(Answer):
    city: str
    programmes: list[ProgrammeFigures]


class FunnelCounts(Answer):
    enrolled: int
    attended: int
    certified: int
    became_vendor: int
    first_sale: int
    repeat_sale_30d: int = Field(description="a second sale within 30 days of the first")


class FunnelByStyle(FunnelCounts):
    style: ProgrammeStyle


class FunnelByGroup(FunnelCounts):
    group: ParticipantGroup


class FunnelByRw(FunnelCounts):
    kelurahan: str | None
    rw: str | None


class FunnelReport(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "steps": ["enrolled", "attended", "certified", "became_vendor", "first_sale", "repeat_sale_30d"],
        "total": FUNNEL, "by_style": [{"style": "hybrid", **FUNNEL}],
        "by_group": [{"group": "pkk", **FUNNEL}], "by_rw": [{"kelurahan": "Cibabat", "rw": "07", **FUNNEL}],
        "city": "cimahi", "style_filter": None}]})

    steps: list[str]
    total: FunnelCounts
    by_style: list[FunnelByStyle]
    by_group: list[FunnelByGroup]
    by_rw: list[FunnelByRw]
    city: str
    style_filter: ProgrammeStyle | None


class EvaluationCounts(Answer):
    enrolled: int
    attended: int
    certified: int
    onboarded: int
    first_sale: int
    repeat_30d: int
    repeat_60d: int
    repeat_90d: int


class EvaluationRates(Answer):
    """Each step against the one before (repeats against first sale); None when there is nobody to divide by."""

    attended: float | None
    certified: float | None
    onboarded: float | None
    first_sale: float | None
    repeat_30d: float | None
    repeat_60d: float | None
    repeat_90d: float | None


class EvaluationSummary(Answer):
    counts: EvaluationCounts
    rates: EvaluationRates
    median_days_certificate_to_first_sale: float | None
    sales_orders: int
    sales_value: int = Field(description="rupiah, orders after the certificate")


class EvaluationEntry(EvaluationSummary):
    key: str


class EvaluationProgrammeEntry(EvaluationEntry):
    title: str
    style: ProgrammeStyle


class EvaluationCohort(EvaluationSummary):
    style: ProgrammeStyle
    month: str = Field(description="YYYY-MM of the earliest certificate")


class ComparisonBlock(Answer):
    vendors: int
    orders: int
    sales_value: int = Field(description="rupiah")
    orders_per_vendor: float | None
    sales_value_per_vendor: int | None = Field(description="rupiah")


class Comparison(Answer):
    trained: ComparisonBlock
    never_trained: ComparisonBlock


class EvaluationFilters(Answer):
    from_: date | None = Field(alias="from")
    to: date | None
    programme_id: str | None
    style: ProgrammeStyle | None


_SUMMARY: JsonDict = {"counts": {"enrolled": 40, "attended": 31, "certified": 24, "onboarded": 9, "first_sale": 7,
                       "repeat_30d": 4, "repeat_60d": 5, "repeat_90d": 5},
            "rates": {"attended": 0.775, "certified": 0.7742, "onboarded": 0.375, "first_sale": 0.7778,
                      "repeat_30d": 0.5714, "repeat_60d": 0.7143, "repeat_90d": 0.7143},
            "median_days_certificate_to_first_sale": 6.0, "sales_orders": 38, "sales_value": 2_450_000}
_BLOCK: JsonDict = {"vendors": 9, "orders": 38, "sales_value": 2_450_000, "orders_per_vendor": 4.22,
          "sales_value_per_vendor": 272_222}


class EvaluationReport(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "steps": ["enrolled", "attended", "certified", "onboarded", "first_sale", "repeat_30d", "repeat_60d",
                  "repeat_90d"], "total": _SUMMARY,
        "by_style": [{"key": "hybrid", **_SUMMARY}],
        "by_programme": [{"key": "prg-cimahi-digital", "title": "Jualan Online untuk Pedagang Pasar",
                          "style": "hybrid", **_SUMMARY}],
        "by_group": [{"key": "pkk", **_SUMMARY}], "by_kelurahan": [{"key": "Cibabat", **_SUMMARY}],
        "by_rw": [{"key": "Cibabat RW 07", **_SUMMARY}], "cohorts": [{"style": "hybrid", "month": "2026-11",
                                                                       **_SUMMARY}],
        "comparison": {"trained": _BLOCK, "never_trained": {**_BLOCK, "vendors": 21, "orders": 40,
                                                            "sales_value": 1_900_000, "orders_per_vendor": 1.9,
                                                            "sales_value_per_vendor": 90_476}},
        "city": "cimahi", "filters": {"from": "2026-01-01", "to": "2026-12-31", "programme_id": None,
                                      "style": None}}]})

    steps: list[str]
    total: EvaluationSummary
    by_style: list[EvaluationEntry]
    by_programme: list[EvaluationProgrammeEntry]
    by_group: list[EvaluationEntry]
    by_kelurahan: list[EvaluationEntry] = Field(description="``-`` for participants without a kelurahan")
    by_rw: list[EvaluationEntry] = Field(description="key ``<kelurahan> RW <rw>``")
    cohorts: list[EvaluationCohort] = Field(description="certified participants by month of certificate, per style")
    comparison: Comparison = Field(description="active vendors linked to a certified participant vs linked to nobody")
    city: str
    filters: EvaluationFilters
