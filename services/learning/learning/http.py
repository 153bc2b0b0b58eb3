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

from learning import domain, evaluation, handlers, queries
from shared.auth import Principal, current_principal, require
from shared.events.common import ParticipantGroup, ProgrammeStyle
from shared.http import CityContext, service_context
from shared.uow import Work

ID_PATTERN = r"^[A-Za-z0-9_.:-]+$"
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]
PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]


def now_utc() -> datetime:
    return datetime.now(UTC)


def bearer_if_any(request: Request) -> Principal | None:
    """The caller of a public route, when a token is sent (it may vouch for a vendor link); else None."""
    return current_principal(request) if request.headers.get("authorization") else None


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


@public.post("/cities/{city}/participants/register", status_code=201)
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


@public.get("/cities/{city}/programmes")
async def programmes(ctx: CityContext) -> dict[str, Any]:
    return await ctx.read(queries.programmes, ctx.slug)


@public.get("/cities/{city}/programmes/{programme_id}")
async def programme(ctx: CityContext, programme_id: PathId) -> dict[str, Any]:
    return await ctx.read(queries.programme, ctx.slug, programme_id)


@public.get("/cities/{city}/sessions")
async def sessions(ctx: CityContext,
                   programme_id: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
                   upcoming: bool = False) -> dict[str, Any]:
    return await ctx.read(queries.sessions, ctx.slug, programme_id=programme_id,
                          upcoming_after=now_utc() if upcoming else None)


@public.get("/cities/{city}/sessions/{session_id}")
async def session(ctx: CityContext, session_id: PathId) -> dict[str, Any]:
    return await ctx.read(queries.session, ctx.slug, session_id)


@public.get("/certificates/{code}")
async def verify_certificate(code: str, work: Annotated[Work, Depends(service_context)]) -> dict[str, Any]:
    """Public verification: only the holder's name, the programme, the city and the date."""
    async with work.reading() as conn:
        return await queries.certificate(conn, code)


# ------------------------------------------------------------------------------------------- participant

participant = APIRouter(tags=["participant"])
AsParticipant = Annotated[Principal, Depends(require("participant"))]


@participant.get("/cities/{city}/me")
async def me(ctx: CityContext, who: AsParticipant) -> dict[str, Any]:
    return await ctx.read(queries.me, ctx.slug, who.sub)


@participant.post("/cities/{city}/sessions/{session_id}/enrolments", status_code=201)
async def enrol(ctx: CityContext, session_id: PathId, who: AsParticipant) -> dict[str, Any]:
    return await ctx.run(handlers.enrol, handlers.Enrol(session_id, participant=who.sub))


@participant.get("/cities/{city}/me/enrolments")
async def my_enrolments(ctx: CityContext, who: AsParticipant) -> dict[str, Any]:
    return await ctx.read(queries.my_enrolments, ctx.slug, who.sub)


@participant.post("/cities/{city}/enrolments/{enrolment_id}/cancel")
async def cancel_enrolment(ctx: CityContext, enrolment_id: PathId, who: AsParticipant) -> dict[str, Any]:
    result = await ctx.run(handlers.cancel, handlers.Cancel(enrolment_id, actor=who.sub, participant=who.sub))
    return {"enrolment_id": result["enrolment_id"], "status": result["status"]}


@participant.get("/cities/{city}/me/certificates")
async def my_certificates(ctx: CityContext, who: AsParticipant) -> dict[str, Any]:
    return await ctx.read(queries.my_certificates, ctx.slug, who.sub)


@participant.post("/cities/{city}/sessions/{session_id}/check-in")
async def check_in(ctx: CityContext, session_id: PathId, body: CheckInBody, who: AsParticipant) -> dict[str, Any]:
    """A wrong code is counted and committed first, then answered (422, then 429 once locked out)."""
    result = await ctx.run(handlers.check_in, handlers.CheckIn(session_id, participant=who.sub, code=body.code))
    return result.answer()


# ---------------------------------------------------------------------------------------------- trainer

trainer = APIRouter(tags=["trainer"])
AsTrainer = Annotated[Principal, Depends(require("trainer", "city_admin"))]


@trainer.get("/cities/{city}/trainer/sessions")
async def my_sessions(ctx: CityContext, who: AsTrainer) -> dict[str, Any]:
    return await ctx.read(queries.trainer_sessions, ctx.slug, who.sub)


@trainer.get("/cities/{city}/trainer/sessions/{session_id}/roster")
async def session_roster(ctx: CityContext, session_id: PathId, who: AsTrainer) -> dict[str, Any]:
    return await ctx.read(queries.roster, ctx.slug, session_id, who)


@trainer.get("/cities/{city}/trainer/sessions/{session_id}/check-in-code")
async def check_in_code(ctx: CityContext, session_id: PathId, who: AsTrainer) -> dict[str, Any]:
    return await ctx.read(queries.check_in_code, ctx.slug, session_id, who, now_utc())


@trainer.get("/cities/{city}/trainer/sessions/{session_id}/check-in-code.png",
             response_class=Response, responses={200: {"content": {"image/png": {}}}})
async def check_in_code_png(ctx: CityContext, session_id: PathId, who: AsTrainer) -> Response:
    from learning.qr import qr_png

    code = await ctx.read(queries.check_in_code, ctx.slug, session_id, who, now_utc())
    return Response(qr_png(code["qr_payload"]), media_type="image/png",
                    headers={"Cache-Control": "no-store", "X-Check-In-Code": code["code"]})


@trainer.post("/cities/{city}/trainer/sessions/{session_id}/attendance")
async def mark_attendance(ctx: CityContext, session_id: PathId, body: AttendanceBody,
                          who: AsTrainer) -> dict[str, Any]:
    return await ctx.run(handlers.record_attendance, handlers.RecordAttendance(
        body.enrolment_id, attended=body.attended, actor=who.sub, session_id=session_id, by=who))


# ------------------------------------------------------------------------------------------- city admin

admin = APIRouter(tags=["city admin"])
AsAdmin = Annotated[Principal, Depends(require("city_admin"))]


@admin.post("/cities/{city}/admin/trainers", status_code=201)
async def create_trainer(ctx: CityContext, body: TrainerBody, _: AsAdmin) -> dict[str, Any]:
    trainer_id = await ctx.run(handlers.create_trainer, handlers.CreateTrainer(
        name=body.name, subject=body.subject, phone=body.phone, expertise=body.expertise))
    return await ctx.read(queries.trainer, ctx.slug, trainer_id)


@admin.get("/cities/{city}/admin/trainers")
async def list_trainers(ctx: CityContext, _: AsAdmin) -> dict[str, Any]:
    return await ctx.read(queries.trainers, ctx.slug)


@admin.post("/cities/{city}/admin/programmes", status_code=201)
async def create_programme(ctx: CityContext, body: ProgrammeBody, _: AsAdmin) -> dict[str, Any]:
    programme_id = await ctx.run(handlers.create_programme, handlers.CreateProgramme(
        title=body.title, style=body.style, partner=body.partner, modules=body.modules,
        description=body.description))
    return await ctx.read(queries.programme, ctx.slug, programme_id, with_sessions=False)


@admin.post("/cities/{city}/admin/programmes/{programme_id}/sessions", status_code=201)
async def create_session(ctx: CityContext, programme_id: PathId, body: SessionBody, _: AsAdmin) -> dict[str, Any]:
    session_id = await ctx.run(handlers.create_session, handlers.CreateSession(
        programme_id=programme_id, title=body.title, module=body.module, starts_at=body.starts_at,
        ends_at=body.ends_at, capacity=body.capacity, rw_hub_id=body.rw_hub_id, meeting_link=body.meeting_link,
        trainer_id=body.trainer_id, required=body.required))
    return await ctx.read(queries.session, ctx.slug, session_id)


@admin.get("/cities/{city}/admin/rw-hubs")
async def rw_hubs(ctx: CityContext, _: AsAdmin) -> dict[str, Any]:
    return await ctx.read(queries.rw_hubs, ctx.slug)


@admin.get("/cities/{city}/admin/enrolments/{enrolment_id}")
async def enrolment_detail(ctx: CityContext, enrolment_id: PathId, _: AsAdmin) -> dict[str, Any]:
    return await ctx.read(queries.enrolment_detail, ctx.slug, enrolment_id)


@admin.post("/cities/{city}/admin/enrolments/{enrolment_id}/cancel")
async def admin_cancel(ctx: CityContext, enrolment_id: PathId, who: AsAdmin) -> dict[str, Any]:
    result = await ctx.run(handlers.cancel, handlers.Cancel(enrolment_id, actor=who.sub))
    return {"enrolment_id": result["enrolment_id"], "status": result["status"]}


@admin.get("/cities/{city}/admin/reports/programmes")
async def programme_report(ctx: CityContext, _: AsAdmin) -> dict[str, Any]:
    return await ctx.read(queries.programme_report, ctx.slug)


@admin.get("/cities/{city}/admin/reports/funnel", response_model=None)
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


routers = (public, participant, trainer, admin)


# ------------------------------------------------------------------------------- evaluation (issue #14)

AsEvaluator = Annotated[Principal, Depends(require("city_admin", "operator"))]


@admin.get("/cities/{city}/admin/reports/evaluation", response_model=None)
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
