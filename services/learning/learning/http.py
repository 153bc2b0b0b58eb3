"""HTTP routes of the learning service: declarations only — wire model → command → ``ctx.run`` / ``ctx.read``.

``ctx: CityContext`` resolves the path's city once and carries the request's correlation id into every
event a use case emits; the principal comes from ``require(...)``. No SQL, no transaction, no city lookup.

Public: programmes and sessions of a city, self-registration, certificate verification.
Participant (token role ``participant``): enrol, cancel, check in, own enrolments and certificates.
Trainer (role ``trainer``; city admins too): own sessions, roster, rotating check-in code (text + QR), attendance.
City admin: trainers, programmes, sessions, RW hubs known, reports (programmes, funnel as JSON or CSV).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from learning import domain, evaluation, handlers, queries, wire
from shared.auth import Principal, current_principal, require
from shared.events.common import ParticipantGroup, ProgrammeStyle
from shared.http import CityContext, file_answer, service_context
from shared.uow import Work

ID_PATTERN = r"^[A-Za-z0-9_.:-]+$"
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]
PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
# a report answers JSON (its model) or, with ``format=csv``, a download: both documented on the 200
CSV_TOO: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {"schema": {"type": "string",
                                                                                      "format": "binary"}}}}}


def now_utc() -> datetime:
    return datetime.now(UTC)


async def bearer_if_any(request: Request) -> Principal | None:
    """The caller of a public route, when a token is sent (it may vouch for a vendor link); else None."""
    return await current_principal(request) if request.headers.get("authorization") else None


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="after")
    def _no_nul(self) -> Body:
        # PostgreSQL text cannot hold NUL: refuse it here as bad input instead of failing in the database.
        for value in self.__dict__.values():
            values = value if isinstance(value, list) else [value]
            if any(isinstance(v, str) and "\x00" in v for v in values):
                raise ValueError("text must not contain NUL characters")
        return self


class RegisterBody(Body):
    name: str = Field(min_length=2, max_length=120)
    phone: str = Field(min_length=6, max_length=32)
    group: ParticipantGroup
    rw: str | None = Field(None, max_length=20)
    kelurahan: str | None = Field(None, max_length=80)
    vendor_id: str | None = Field(None, max_length=64)


class TrainerBody(Body):
    name: str = Field(min_length=2, max_length=120)
    subject: str | None = Field(None, min_length=1, max_length=120)
    phone: str | None = Field(None, max_length=32)
    expertise: str | None = Field(None, max_length=200)


class ProgrammeBody(Body):
    title: str = Field(min_length=3, max_length=160)
    style: ProgrammeStyle
    partner: str | None = Field(None, max_length=120)
    modules: list[Annotated[str, Field(min_length=1, max_length=120)]] = Field(default_factory=list, max_length=30)
    description: str = Field("", max_length=4000)


class SessionBody(Body):
    title: str = Field(min_length=3, max_length=160)
    module: str | None = Field(None, max_length=120)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    capacity: int = Field(gt=0, le=10_000)
    rw_hub_id: Id | None = None
    meeting_link: str | None = Field(None, max_length=500)
    trainer_id: Id | None = None
    required: bool = True


class CheckInBody(Body):
    code: str = Field(min_length=1, max_length=12)


class AttendanceBody(Body):
    enrolment_id: Id
    attended: bool = True


# ------------------------------------------------------------------------------------------------ public

public = APIRouter(tags=["public"])
Caller = Annotated[Principal | None, Depends(bearer_if_any)]


@public.post("/cities/{city}/participants/register", status_code=201, response_model=wire.Registered)
async def register(ctx: CityContext, body: RegisterBody, caller: Caller) -> dict[str, Any]:
    """Self-registration. ``vendor_id`` only with proof: the vendor's own token or a market/city admin's.

    Signed in (identity's token), the participant is known by the token's subject; either way learning emits
    ``ParticipantRegistered`` and identity grants ``participant`` to the account of the phone. Learning signs no
    token: the person signs in with a code from identity.
    """
    row = await ctx.run(handlers.register_participant, handlers.RegisterParticipant(
        name=body.name, phone=body.phone, group=body.group, rw=body.rw, kelurahan=body.kelurahan,
        vendor_id=body.vendor_id, linked_by=caller,
        subject=caller.sub if caller is not None and not caller.has("market_admin", "city_admin") else None))
    return {"participant": queries.participant_json(row)}


@public.get("/cities/{city}/programmes", response_model=wire.ProgrammeList)
async def programmes(ctx: CityContext) -> dict[str, Any]:
    return await ctx.read(queries.programmes, ctx.slug)


@public.get("/cities/{city}/programmes/{programme_id}",
            response_model=wire.ProgrammeWithSessions, response_model_exclude_unset=True)
async def programme(ctx: CityContext, programme_id: PathId) -> dict[str, Any]:
    return await ctx.read(queries.programme, ctx.slug, programme_id)


@public.get("/cities/{city}/sessions", response_model=wire.SessionList, response_model_exclude_unset=True)
async def sessions(ctx: CityContext,
                   programme_id: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
                   upcoming: bool = False) -> dict[str, Any]:
    return await ctx.read(queries.sessions, ctx.slug, programme_id=programme_id,
                          upcoming_after=now_utc() if upcoming else None)


@public.get("/cities/{city}/sessions/{session_id}", response_model=wire.Session, response_model_exclude_unset=True)
async def session(ctx: CityContext, session_id: PathId) -> dict[str, Any]:
    return await ctx.read(queries.session, ctx.slug, session_id)


@public.get("/certificates/{code}", response_model=wire.CertificateVerified)
async def verify_certificate(code: str, work: Annotated[Work, Depends(service_context)]) -> dict[str, Any]:
    """Public verification: only the holder's name, the programme, the city and the date."""
    async with work.reading() as conn:
        return await queries.certificate(conn, code)


# ------------------------------------------------------------------------------------------- participant

participant = APIRouter(tags=["participant"])
AsParticipant = Annotated[Principal, Depends(require("participant"))]


@participant.get("/cities/{city}/me", response_model=wire.Participant)
async def me(ctx: CityContext, who: AsParticipant) -> dict[str, Any]:
    return await ctx.read(queries.me, ctx.slug, who.sub)


@participant.post("/cities/{city}/sessions/{session_id}/enrolments", status_code=201, response_model=wire.Enrolled)
async def enrol(ctx: CityContext, session_id: PathId, who: AsParticipant) -> dict[str, Any]:
    return await ctx.run(handlers.enrol, handlers.Enrol(session_id, participant=who.sub))


@participant.get("/cities/{city}/me/enrolments", response_model=wire.EnrolmentList)
async def my_enrolments(ctx: CityContext, who: AsParticipant) -> dict[str, Any]:
    return await ctx.read(queries.my_enrolments, ctx.slug, who.sub, now_utc())


@participant.post("/cities/{city}/enrolments/{enrolment_id}/cancel", response_model=wire.EnrolmentCancelled)
async def cancel_enrolment(ctx: CityContext, enrolment_id: PathId, who: AsParticipant) -> dict[str, Any]:
    result = await ctx.run(handlers.cancel, handlers.Cancel(enrolment_id, actor=who.sub, participant=who.sub))
    return {"enrolment_id": result["enrolment_id"], "status": result["status"]}


@participant.get("/cities/{city}/me/certificates", response_model=wire.OwnCertificates)
async def my_certificates(ctx: CityContext, who: AsParticipant) -> dict[str, Any]:
    return await ctx.read(queries.my_certificates, ctx.slug, who.sub)


@participant.post("/cities/{city}/sessions/{session_id}/check-in", response_model=wire.AttendanceRecorded)
async def check_in(ctx: CityContext, session_id: PathId, body: CheckInBody, who: AsParticipant) -> dict[str, Any]:
    """A wrong code is counted and committed first, then answered (422, then 429 once locked out)."""
    result = await ctx.run(handlers.check_in, handlers.CheckIn(session_id, participant=who.sub, code=body.code))
    return result.answer()


# ---------------------------------------------------------------------------------------------- trainer

trainer = APIRouter(tags=["trainer"])
AsTrainer = Annotated[Principal, Depends(require("trainer", "city_admin"))]


@trainer.get("/cities/{city}/trainer/sessions", response_model=wire.TrainerSessions, response_model_exclude_unset=True)
async def my_sessions(ctx: CityContext, who: AsTrainer) -> dict[str, Any]:
    return await ctx.read(queries.trainer_sessions, ctx.slug, who.sub)


@trainer.get("/cities/{city}/trainer/sessions/{session_id}/roster",
             response_model=wire.Roster, response_model_exclude_unset=True)
async def session_roster(ctx: CityContext, session_id: PathId, who: AsTrainer,
                         cancelled: bool = False) -> dict[str, Any]:
    """``cancelled=true``: cancelled enrolments too, after the others (the roster page shows them as Dibatalkan)."""
    return await ctx.read(queries.roster, ctx.slug, session_id, who, include_cancelled=cancelled)


@trainer.get("/cities/{city}/trainer/sessions/{session_id}/check-in-code", response_model=wire.CheckInCode)
async def check_in_code(ctx: CityContext, session_id: PathId, who: AsTrainer) -> dict[str, Any]:
    return await ctx.read(queries.check_in_code, ctx.slug, session_id, who, now_utc())


@trainer.get("/cities/{city}/trainer/sessions/{session_id}/check-in-code.png",
             response_class=Response, responses=file_answer("image/png"))
async def check_in_code_png(ctx: CityContext, session_id: PathId, who: AsTrainer) -> Response:
    from learning.qr import qr_png

    code = await ctx.read(queries.check_in_code, ctx.slug, session_id, who, now_utc())
    return Response(qr_png(code["qr_payload"]), media_type="image/png",
                    headers={"Cache-Control": "no-store", "X-Check-In-Code": code["code"]})


@trainer.post("/cities/{city}/trainer/sessions/{session_id}/attendance", response_model=wire.AttendanceRecorded)
async def mark_attendance(ctx: CityContext, session_id: PathId, body: AttendanceBody,
                          who: AsTrainer) -> dict[str, Any]:
    return await ctx.run(handlers.record_attendance, handlers.RecordAttendance(
        body.enrolment_id, attended=body.attended, actor=who.sub, session_id=session_id, by=who))


# ------------------------------------------------------------------------------------------- city admin

admin = APIRouter(tags=["city admin"])
AsAdmin = Annotated[Principal, Depends(require("city_admin"))]


@admin.post("/cities/{city}/admin/trainers", status_code=201, response_model=wire.Trainer)
async def create_trainer(ctx: CityContext, body: TrainerBody, who: AsAdmin) -> dict[str, Any]:
    trainer_id = await ctx.run(handlers.create_trainer, handlers.CreateTrainer(
        name=body.name, subject=body.subject, phone=body.phone, expertise=body.expertise, by=who))
    return await ctx.read(queries.trainer, ctx.slug, trainer_id)


@admin.get("/cities/{city}/admin/trainers", response_model=wire.TrainerList)
async def list_trainers(ctx: CityContext, _: AsAdmin) -> dict[str, Any]:
    return await ctx.read(queries.trainers, ctx.slug)


@admin.post("/cities/{city}/admin/programmes", status_code=201, response_model=wire.Programme)
async def create_programme(ctx: CityContext, body: ProgrammeBody, who: AsAdmin) -> dict[str, Any]:
    programme_id = await ctx.run(handlers.create_programme, handlers.CreateProgramme(
        title=body.title, style=body.style, partner=body.partner, modules=body.modules,
        description=body.description, by=who))
    return await ctx.read(queries.programme, ctx.slug, programme_id, with_sessions=False)


@admin.post("/cities/{city}/admin/programmes/{programme_id}/sessions", status_code=201,
            response_model=wire.Session, response_model_exclude_unset=True)
async def create_session(ctx: CityContext, programme_id: PathId, body: SessionBody, who: AsAdmin) -> dict[str, Any]:
    """Refused with 409 ``session-overlap`` (naming the other session) when the trainer or the hub is taken."""
    session_id = await ctx.run(handlers.create_session, handlers.CreateSession(
        programme_id=programme_id, title=body.title, module=body.module, starts_at=body.starts_at,
        ends_at=body.ends_at, capacity=body.capacity, rw_hub_id=body.rw_hub_id, meeting_link=body.meeting_link,
        trainer_id=body.trainer_id, required=body.required, by=who))
    return await ctx.read(queries.admin_session, ctx.slug, session_id)


@admin.get("/cities/{city}/admin/rw-hubs", response_model=wire.RwHubList)
async def rw_hubs(ctx: CityContext, _: Annotated[Principal, Depends(require("city_admin", "trainer"))]
                  ) -> dict[str, Any]:
    """Venues (city admins; trainers planning their own sessions)."""
    return await ctx.read(queries.rw_hubs, ctx.slug)


@admin.get("/cities/{city}/admin/enrolments/{enrolment_id}", response_model=wire.EnrolmentDetail)
async def enrolment_detail(ctx: CityContext, enrolment_id: PathId, _: AsAdmin) -> dict[str, Any]:
    return await ctx.read(queries.enrolment_detail, ctx.slug, enrolment_id)


@admin.post("/cities/{city}/admin/enrolments/{enrolment_id}/cancel", response_model=wire.EnrolmentCancelled)
async def admin_cancel(ctx: CityContext, enrolment_id: PathId, who: AsAdmin) -> dict[str, Any]:
    result = await ctx.run(handlers.cancel, handlers.Cancel(enrolment_id, actor=who.sub))
    return {"enrolment_id": result["enrolment_id"], "status": result["status"]}


@admin.get("/cities/{city}/admin/reports/programmes", response_model=wire.ProgrammeReport)
async def programme_report(ctx: CityContext, _: AsAdmin) -> dict[str, Any]:
    return await ctx.read(queries.programme_report, ctx.slug)


@admin.get("/cities/{city}/admin/reports/funnel", response_model=wire.FunnelReport,
           responses=CSV_TOO)
async def funnel_report(ctx: CityContext, _: AsAdmin,
                        style: Annotated[ProgrammeStyle | None, Query()] = None,
                        format: Annotated[Literal["json", "csv"], Query()] = "json") -> Response | dict[str, Any]:
    """Enrolled → attended → certified → became a vendor → first sale → sold again within 30 days."""
    report = await ctx.read(queries.funnel_report, ctx.slug, style=style)
    if format == "csv":
        buffer = io.StringIO()
        csv.writer(buffer).writerows(domain.funnel_csv_rows(report))
        return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="funnel-{ctx.slug}.csv"'})
    return report


# ------------------------------------------------------------------------- back office (issue #13)

MATERIAL_UPLOAD_PREFIX = "/admin/material-files"   # under /cities/{city}: its own body limit (app.py)
MATERIAL_UPLOAD_LIMIT = domain.MATERIAL_MAX_BYTES + 64 * 1024


class ProgrammeEditBody(Body):
    title: str | None = Field(None, min_length=3, max_length=160)
    style: ProgrammeStyle | None = None
    partner: str | None = Field(None, max_length=120)
    modules: list[Annotated[str, Field(min_length=1, max_length=120)]] | None = Field(None, max_length=30)
    description: str | None = Field(None, max_length=4000)


class SessionEditBody(Body):
    title: str | None = Field(None, min_length=3, max_length=160)
    module: str | None = Field(None, max_length=120)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    capacity: int | None = Field(None, gt=0, le=10_000)
    rw_hub_id: Id | None = None
    meeting_link: str | None = Field(None, max_length=500)
    trainer_id: Id | None = None
    required: bool | None = None


class OwnSessionBody(Body):
    title: str = Field(min_length=3, max_length=160)
    module: str | None = Field(None, max_length=120)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    capacity: int = Field(gt=0, le=10_000)
    rw_hub_id: Id | None = None
    meeting_link: str | None = Field(None, max_length=500)
    required: bool = True


class MaterialLinkBody(Body):
    title: str = Field(min_length=2, max_length=160)
    url: str = Field(min_length=8, max_length=500)
    kind: Literal["link", "recording"] = "link"
    module: str | None = Field(None, max_length=120)
    session_id: Id | None = None


AsStaff = Annotated[Principal, Depends(require("city_admin", "trainer"))]
AsReader = Annotated[Principal, Depends(require("participant", "trainer", "city_admin"))]
OptionalId = Annotated[str | None, Query(min_length=1, max_length=64, pattern=ID_PATTERN)]


@admin.get("/cities/{city}/admin/programmes/{programme_id}",
           response_model=wire.AdminProgramme, response_model_exclude_unset=True)
async def admin_programme(ctx: CityContext, programme_id: PathId, _: AsAdmin) -> dict[str, Any]:
    """A programme with its sessions (meeting links included) and its materials."""
    return await ctx.read(queries.admin_programme, ctx.slug, programme_id)


@admin.patch("/cities/{city}/admin/programmes/{programme_id}", response_model=wire.Programme)
async def edit_programme(ctx: CityContext, programme_id: PathId, body: ProgrammeEditBody,
                         who: AsAdmin) -> dict[str, Any]:
    await ctx.run(handlers.update_programme, handlers.UpdateProgramme(
        programme_id, by=who, title=body.title, style=body.style, partner=body.partner, modules=body.modules,
        description=body.description))
    return await ctx.read(queries.programme, ctx.slug, programme_id, with_sessions=False)


@admin.get("/cities/{city}/admin/sessions/{session_id}", response_model=wire.Session, response_model_exclude_unset=True)
async def admin_session(ctx: CityContext, session_id: PathId, who: AsStaff) -> dict[str, Any]:
    """City admin: any session; a trainer: only their own (403)."""
    return await ctx.read(queries.admin_session, ctx.slug, session_id, who)


async def _edit_session(ctx: CityContext, session_id: str, body: SessionEditBody, who: Principal) -> dict[str, Any]:
    await ctx.run(handlers.update_session, handlers.UpdateSession(
        session_id, by=who, changes=body.model_dump(exclude_unset=True)))
    return await ctx.read(queries.admin_session, ctx.slug, session_id, who)


@admin.patch("/cities/{city}/admin/sessions/{session_id}",
             response_model=wire.Session, response_model_exclude_unset=True)
async def edit_session(ctx: CityContext, session_id: PathId, body: SessionEditBody, who: AsAdmin) -> dict[str, Any]:
    """Only the fields sent change; overlap (409 ``session-overlap``) and venue rules as on creation."""
    return await _edit_session(ctx, session_id, body, who)


@trainer.patch("/cities/{city}/trainer/sessions/{session_id}",
               response_model=wire.Session, response_model_exclude_unset=True)
async def edit_own_session(ctx: CityContext, session_id: PathId, body: SessionEditBody,
                           who: AsTrainer) -> dict[str, Any]:
    """A trainer edits their own session (403 for another's; cannot hand it to another trainer)."""
    return await _edit_session(ctx, session_id, body, who)


@trainer.post("/cities/{city}/trainer/programmes/{programme_id}/sessions", status_code=201,
              response_model=wire.Session, response_model_exclude_unset=True)
async def create_own_session(ctx: CityContext, programme_id: PathId, body: OwnSessionBody,
                             who: Annotated[Principal, Depends(require("trainer"))]) -> dict[str, Any]:
    session_id = await ctx.run(handlers.create_own_session, handlers.CreateSession(
        programme_id=programme_id, title=body.title, module=body.module, starts_at=body.starts_at,
        ends_at=body.ends_at, capacity=body.capacity, rw_hub_id=body.rw_hub_id, meeting_link=body.meeting_link,
        required=body.required, by=who))
    return await ctx.read(queries.admin_session, ctx.slug, session_id, who)


@admin.post("/cities/{city}/admin/programmes/{programme_id}/materials", status_code=201,
            response_model=wire.MaterialAdded)
async def add_material_link(ctx: CityContext, programme_id: PathId, body: MaterialLinkBody,
                            who: AsStaff) -> dict[str, Any]:
    """A link (https only, 422 ``bad-link``) per module or session; ``recording``: shown after the session."""
    material_id = await ctx.run(handlers.add_material, handlers.AddMaterial(
        programme_id, title=body.title, by=who, kind=body.kind, url=body.url, module=body.module,
        session_id=body.session_id))
    return {"material_id": material_id}


@admin.post("/cities/{city}" + MATERIAL_UPLOAD_PREFIX, status_code=201, response_model=wire.MaterialAdded,
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/pdf": {}, "image/png": {}, "image/jpeg": {}, "application/octet-stream": {}}}})
async def upload_material(ctx: CityContext, request: Request, who: AsStaff,
                          programme_id: Annotated[str, Query(min_length=1, max_length=64, pattern=ID_PATTERN)],
                          title: Annotated[str, Query(min_length=2, max_length=160)],
                          module: Annotated[str | None, Query(max_length=120)] = None,
                          session_id: OptionalId = None) -> dict[str, Any]:
    """The raw file as the body. Its type is read from its bytes (PDF, PNG, JPEG: else 415), its size at most
    5 MB (413, also while streaming); refused before anything is stored."""
    from shared.problems import Problem

    if "\x00" in title or (module and "\x00" in module):
        raise Problem(422, "Teks tidak boleh berisi NUL. / Text must not contain NUL.", code="nul-in-text")
    content = await request.body()
    if len(content) > domain.MATERIAL_MAX_BYTES:
        raise Problem(413, "Berkas terlalu besar (maks. 5 MB). / The file is too large (max 5 MB).",
                      code="file-too-large", field="file")
    if not content:
        raise Problem(422, "Berkas kosong. / The file is empty.", code="empty-file", field="file")
    try:
        domain.sniff_material(content)
    except domain.Invalid as refused:
        raise Problem(415, refused.detail, code="unsupported-file-type", field="file") from None
    material_id = await ctx.run(handlers.add_material, handlers.AddMaterial(
        programme_id, title=title.strip(), by=who, kind="file", content=content, module=module,
        session_id=session_id))
    return {"material_id": material_id}


@participant.get("/cities/{city}/sessions/{session_id}/materials",
                 response_model=wire.SessionMaterials, response_model_exclude_unset=True)
async def session_materials(ctx: CityContext, session_id: PathId, who: AsReader) -> dict[str, Any]:
    """For booked participants, the session's trainer and city admins; a recording link once the session ended."""
    return await ctx.read(queries.session_materials, ctx.slug, session_id, who, now_utc())


@participant.get("/cities/{city}/materials/{material_id}/file", response_class=Response,
                 responses=file_answer("application/pdf", "image/png", "image/jpeg"))
async def material_file(ctx: CityContext, material_id: PathId, who: AsReader) -> Response:
    content, content_type, name = await ctx.read(queries.material_file, ctx.slug, material_id, who)
    return Response(content, media_type=content_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store"})


routers = (public, participant, trainer, admin)


# ---------------------------------------------- attendance reports, roster messages, own certificate (#13)

REPORT_UPLOAD_MAX_BODY = 2 * 1024 * 1024   # base64 of a 1 MiB CSV and then some; registered in app.py
REPORT_MAX_BYTES = 1024 * 1024


class AttendanceReportBody(Body):
    filename: str = Field("laporan.csv", max_length=200)
    content_base64: str = Field(min_length=4, max_length=REPORT_UPLOAD_MAX_BODY)
    min_minutes: int | None = Field(None, ge=1, le=1440)


class MatchRowBody(Body):
    enrolment_id: Id


class RosterMessageBody(Body):
    text: str = Field(min_length=1, max_length=500)


def report_bytes(body: AttendanceReportBody) -> bytes:
    """The uploaded file, refused (before anything is stored) when it is not base64, too big, or not a CSV."""
    import base64
    import binascii

    name = body.filename.lower()
    if not name.endswith((".csv", ".txt")):
        raise domain.Invalid("bad-file-type", "Unggah berkas CSV (.csv) dari Zoom atau Google Meet. / Upload a CSV "
                                              "file (.csv) from Zoom or Google Meet.", field="file")
    try:
        raw = base64.b64decode(body.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise domain.Invalid("bad-file", "Berkas tidak terbaca. / The file could not be read.", field="file") from None
    if not raw:
        raise domain.Invalid("empty-file", "Berkas kosong. / The file is empty.", field="file")
    if len(raw) > REPORT_MAX_BYTES:
        raise domain.Invalid("file-too-large", "Berkas terlalu besar (maks. 1 MB). / The file is too large (max "
                                               "1 MB).", field="file")
    if raw.startswith((b"%PDF", b"PK\x03\x04", b"\x89PNG", b"\xff\xd8", b"\xd0\xcf\x11\xe0")):
        raise domain.Invalid("bad-file-type", "Ini bukan CSV (PDF, Excel atau gambar?). Ekspor laporan sebagai CSV. "
                                              "/ This is not a CSV (PDF, Excel or an image?). Export the report as "
                                              "CSV.", field="file")
    return raw


attend = APIRouter(tags=["trainer"])


@attend.post("/cities/{city}/trainer/sessions/{session_id}/attendance-reports", status_code=201,
             response_model=wire.ReportImported)
async def import_attendance_report(ctx: CityContext, session_id: PathId, body: AttendanceReportBody,
                                   who: AsTrainer) -> dict[str, Any]:
    """Zoom's participant report or Google Meet's attendance report (CSV, base64): attended when the person was
    in the call at least ``min_minutes`` (default: 45, or 75% of a shorter session); unmatched rows are kept."""
    content = report_bytes(body)
    return await ctx.run(handlers.import_attendance_report, handlers.ImportAttendanceReport(
        session_id, filename=body.filename, content=content, by=who, min_minutes=body.min_minutes))


@attend.get("/cities/{city}/trainer/sessions/{session_id}/attendance-reports", response_model=wire.AttendanceReports)
async def attendance_reports(ctx: CityContext, session_id: PathId, who: AsTrainer) -> dict[str, Any]:
    return await ctx.read(queries.attendance_reports, ctx.slug, session_id, who)


@attend.post("/cities/{city}/trainer/sessions/{session_id}/attendance-reports/{import_id}/rows/{row_no}/match",
             response_model=wire.RowMatched)
async def match_report_row(ctx: CityContext, session_id: PathId, import_id: PathId,
                           row_no: Annotated[int, Path(ge=1, le=100_000)], body: MatchRowBody,
                           who: AsTrainer) -> dict[str, Any]:
    return await ctx.run(handlers.match_report_row, handlers.MatchReportRow(
        import_id, row_no, body.enrolment_id, by=who, session_id=session_id))


@attend.post("/cities/{city}/trainer/sessions/{session_id}/messages", status_code=201,
             response_model=wire.RosterMessageSent)
async def message_roster(ctx: CityContext, session_id: PathId, body: RosterMessageBody,
                         who: AsTrainer) -> dict[str, Any]:
    """A short text to everyone holding a seat, by WhatsApp through notifications (one message each)."""
    return await ctx.run(handlers.message_roster, handlers.MessageRoster(session_id, body.text, by=who))


@attend.get("/cities/{city}/trainer/sessions/{session_id}/history", response_model=wire.SessionHistory)
async def session_history(ctx: CityContext, session_id: PathId, who: AsTrainer) -> dict[str, Any]:
    """The session's audit list: attendance changed by hand, reports imported and matched, messages sent."""
    return await ctx.read(queries.session_history, ctx.slug, session_id, who)


@participant.get("/cities/{city}/me/certificates/{code}", response_model=wire.CertificateCopy)
async def my_certificate(ctx: CityContext, code: Annotated[str, Path(min_length=4, max_length=24)],
                         who: AsParticipant) -> dict[str, Any]:
    """One own certificate with what its printed copy shows (the portal renders the PDF)."""
    return await ctx.read(queries.my_certificate, ctx.slug, who.sub, code)


routers: tuple[APIRouter, ...] = (*routers, attend)  # type: ignore[no-redef]

# ------------------------------------------------------------------------------- evaluation (issue #14)

AsEvaluator = Annotated[Principal, Depends(require("city_admin", "operator"))]


@admin.get("/cities/{city}/admin/reports/evaluation", response_model=wire.EvaluationReport,
           responses=CSV_TOO)
async def evaluation_report(ctx: CityContext, _: AsEvaluator,
                            date_from: Annotated[date | None, Query(alias="from")] = None,
                            date_to: Annotated[date | None, Query(alias="to")] = None,
                            programme: Annotated[str | None, Query(min_length=1, max_length=64,
                                                                   pattern=ID_PATTERN)] = None,
                            style: Annotated[ProgrammeStyle | None, Query()] = None,
                            format: Annotated[Literal["json", "csv"], Query()] = "json"
                            ) -> Response | dict[str, Any]:
    """Enrolled → attended → certified → onboarded → first sale → repeat sales within 30/60/90 days, with the
    rate of every step and the counts behind it, per style, programme, group, kelurahan and RW; cohorts by
    month of certificate; trained vs never-trained vendors. City admins see their city; operators any city."""
    report = await ctx.read(queries.evaluation_report, ctx.slug, date_from=date_from, date_to=date_to,
                            programme_id=programme, style=style)
    if format == "csv":
        buffer = io.StringIO()
        csv.writer(buffer).writerows(evaluation.csv_rows(ctx.slug, report))
        return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="evaluation-{ctx.slug}.csv"'})
    return report
