"""HTTP routes of the learning service: validate, authorise, call a handler or query; nothing else.

Public: programmes and sessions of a city, self-registration, certificate verification.
Participant (token role ``participant``): enrol, cancel, check in, own enrolments and certificates.
Trainer (role ``trainer``; city admins too): own sessions, roster, rotating check-in code (text + QR), attendance.
City admin: trainers, programmes, sessions, RW hubs known, reports (programmes, funnel as JSON or CSV).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from learning import domain, handlers, store
from learning.domain import DomainError
from shared.auth import Principal, mint_token, require
from shared.cities import all_cities, get_city
from shared.events.common import ParticipantGroup, ProgrammeStyle
from shared.problems import Problem
from shared.service import ServiceKernel
from shared.settings import get_settings

ID_PATTERN = r"^[A-Za-z0-9_.:-]+$"
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]
PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]


def now_utc() -> datetime:
    return datetime.now(UTC)


def _kernel(request: Request) -> ServiceKernel:
    kernel: ServiceKernel = request.app.state.kernel
    return kernel


def _pool(request: Request) -> asyncpg.Pool:
    return _kernel(request).db()


def _correlation(request: Request) -> str | None:
    return request.headers.get("x-correlation-id")


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


async def _participant(conn: asyncpg.Connection, city: str, principal: Principal) -> asyncpg.Record:
    row = await store.participant_by_subject(conn, city, principal.sub)
    if row is None:
        raise Problem(403, "Anda belum terdaftar sebagai peserta. / You are not registered as a participant.",
                      code="not-a-participant")
    return row


async def _trainer_session(conn: asyncpg.Connection, city: str, session_id: str,
                           principal: Principal) -> asyncpg.Record:
    """The session, if the caller is its trainer (or a city admin / operator)."""
    session = await store.get_session(conn, city, session_id)
    if session is None:
        raise Problem(404, "Sesi tidak ditemukan. / Session not found.", code="session-not-found")
    if principal.has("city_admin", "operator"):
        return session
    trainer = await store.trainer_by_subject(conn, city, principal.sub)
    if trainer is None or session["trainer_id"] != trainer["trainer_id"]:
        raise Problem(403, "Ini bukan sesi Anda. / This is not your session.", code="not-your-session")
    return session


# ------------------------------------------------------------------------------------------------ public

public = APIRouter(tags=["public"])


@public.post("/cities/{city}/participants/register", status_code=201)
async def register(city: str, body: RegisterBody, request: Request) -> dict[str, Any]:
    get_city(city)
    settings = get_settings()
    async with _pool(request).acquire() as conn:
        row = await handlers.register_participant(
            conn, city, name=body.name, phone=body.phone, group=body.group, rw=body.rw, kelurahan=body.kelurahan,
            vendor_id=body.vendor_id)
    token = mint_token(settings.jwt_secret.get_secret_value(), sub=row["subject"], city=city, roles=["participant"],
                       ttl_seconds=settings.jwt_ttl_seconds)
    return {"participant": store.participant_json(row), "token": token, "token_type": "Bearer"}


@public.get("/cities/{city}/programmes")
async def programmes(city: str, request: Request) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        rows = await store.list_programmes(conn, city)
    return {"city": city, "programmes": [store.programme_json(r) for r in rows]}


@public.get("/cities/{city}/programmes/{programme_id}")
async def programme(city: str, programme_id: PathId, request: Request) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        row = await store.get_programme(conn, city, programme_id)
        if row is None:
            raise Problem(404, "Program tidak ditemukan. / Programme not found.", code="programme-not-found")
        sessions = await store.list_sessions(conn, city, programme_id=programme_id)
    return {**store.programme_json(row), "sessions": [store.session_json(s) for s in sessions]}


@public.get("/cities/{city}/sessions")
async def sessions(city: str, request: Request,
                   programme_id: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
                   upcoming: bool = False) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        rows = await store.list_sessions(conn, city, programme_id=programme_id,
                                         upcoming_after=now_utc() if upcoming else None)
    return {"city": city, "sessions": [store.session_json(r) for r in rows]}


@public.get("/cities/{city}/sessions/{session_id}")
async def session(city: str, session_id: PathId, request: Request) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        row = await store.get_session(conn, city, session_id)
    if row is None:
        raise Problem(404, "Sesi tidak ditemukan. / Session not found.", code="session-not-found")
    return store.session_json(row)


@public.get("/certificates/{code}")
async def verify_certificate(code: str, request: Request) -> dict[str, Any]:
    """Public verification: only the holder's name, the programme, the city and the date."""
    normal = domain.normalise_certificate_code(code)
    row = None
    if 4 <= len(normal) <= 20 and normal.isascii() and normal.isalnum():
        async with _pool(request).acquire() as conn:
            row = await store.certificate_public(conn, normal)
    if row is None:
        raise Problem(404, "Sertifikat tidak ditemukan. / No such certificate.", code="certificate-not-found")
    city = all_cities().get(row["city"])
    return {"valid": True, "code": row["code"], "name": row["name"], "programme": row["title"],
            "programme_style": row["style"], "partner": row["partner"], "city": row["city"],
            "city_name": city.name if city else row["city"], "issued_on": row["issued_on"].isoformat()}


# ------------------------------------------------------------------------------------------- participant

participant = APIRouter(tags=["participant"])
AsParticipant = Annotated[Principal, Depends(require("participant"))]


@participant.get("/cities/{city}/me")
async def me(city: str, request: Request, principal: AsParticipant) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        return store.participant_json(await _participant(conn, city, principal))


@participant.post("/cities/{city}/sessions/{session_id}/enrolments", status_code=201)
async def enrol(city: str, session_id: PathId, request: Request, principal: AsParticipant) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        p = await _participant(conn, city, principal)
        return await handlers.enrol(conn, city, session_id, p["participant_id"], now=now_utc(),
                                    correlation_id=_correlation(request))


@participant.get("/cities/{city}/me/enrolments")
async def my_enrolments(city: str, request: Request, principal: AsParticipant) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        p = await _participant(conn, city, principal)
        rows = await store.participant_enrolments(conn, city, p["participant_id"])
    return {"enrolments": [store.enrolment_json(r) for r in rows]}


@participant.post("/cities/{city}/enrolments/{enrolment_id}/cancel")
async def cancel_enrolment(city: str, enrolment_id: PathId, request: Request,
                           principal: AsParticipant) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        p = await _participant(conn, city, principal)
        result = await handlers.cancel(conn, city, enrolment_id, participant_id=p["participant_id"],
                                       actor=p["participant_id"], now=now_utc(), correlation_id=_correlation(request))
    return {"enrolment_id": result["enrolment_id"], "status": result["status"]}


@participant.get("/cities/{city}/me/certificates")
async def my_certificates(city: str, request: Request, principal: AsParticipant) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        p = await _participant(conn, city, principal)
        rows = await store.participant_certificates(conn, city, p["participant_id"])
    return {"certificates": [{"code": r["code"], "programme_id": r["programme_id"], "programme": r["title"],
                              "style": r["style"], "partner": r["partner"], "issued_on": r["issued_on"].isoformat(),
                              "verify_path": f"/certificates/{r['code']}"} for r in rows]}


@participant.post("/cities/{city}/sessions/{session_id}/check-in")
async def check_in(city: str, session_id: PathId, body: CheckInBody, request: Request,
                   principal: AsParticipant) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        p = await _participant(conn, city, principal)
        return await handlers.check_in(conn, city, session_id, p["participant_id"], body.code, now=now_utc(),
                                       correlation_id=_correlation(request))


# ---------------------------------------------------------------------------------------------- trainer

trainer = APIRouter(tags=["trainer"])
AsTrainer = Annotated[Principal, Depends(require("trainer", "city_admin"))]


@trainer.get("/cities/{city}/trainer/sessions")
async def my_sessions(city: str, request: Request, principal: AsTrainer) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        t = await store.trainer_by_subject(conn, city, principal.sub)
        if t is None:
            raise Problem(403, "Anda belum terdaftar sebagai pelatih. / You are not registered as a trainer.",
                          code="not-a-trainer")
        rows = await store.list_sessions(conn, city, trainer_id=t["trainer_id"])
    return {"trainer": store.trainer_json(t), "sessions": [store.session_json(r) for r in rows]}


@trainer.get("/cities/{city}/trainer/sessions/{session_id}/roster")
async def session_roster(city: str, session_id: PathId, request: Request, principal: AsTrainer) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        s = await _trainer_session(conn, city, session_id, principal)
        rows = await store.roster(conn, city, session_id)
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
                        "attendance": ({"method": r["attendance_method"], "at": store.iso(r["recorded_at"])}
                                       if r["attendance_method"] else None)})
    return {"session": store.session_json(s), "roster": entries}


def _code_payload(city: str, session_id: str, code: str) -> str:
    return f"pasarkota:check-in?city={city}&session={session_id}&code={code}"


@trainer.get("/cities/{city}/trainer/sessions/{session_id}/check-in-code")
async def check_in_code(city: str, session_id: PathId, request: Request, principal: AsTrainer) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        s = await _trainer_session(conn, city, session_id, principal)
        secret = await conn.fetchval("SELECT checkin_secret FROM sessions WHERE session_id = $1", session_id)
    now = now_utc()
    code = domain.check_in_code(secret, now)
    opens, closes = domain.check_in_window(s["starts_at"], s["ends_at"])
    return {"session_id": session_id, "code": code, "valid_until": domain.code_valid_until(now).isoformat(),
            "rotates_every_seconds": domain.CODE_PERIOD_SECONDS, "check_in_opens_at": opens.isoformat(),
            "check_in_closes_at": closes.isoformat(), "check_in_open": opens <= now <= closes,
            "qr_payload": _code_payload(city, session_id, code),
            "qr_png_path": f"/cities/{city}/trainer/sessions/{session_id}/check-in-code.png"}


@trainer.get("/cities/{city}/trainer/sessions/{session_id}/check-in-code.png",
             response_class=Response, responses={200: {"content": {"image/png": {}}}})
async def check_in_code_png(city: str, session_id: PathId, request: Request, principal: AsTrainer) -> Response:
    from learning.qr import qr_png

    get_city(city)
    async with _pool(request).acquire() as conn:
        await _trainer_session(conn, city, session_id, principal)
        secret = await conn.fetchval("SELECT checkin_secret FROM sessions WHERE session_id = $1", session_id)
    code = domain.check_in_code(secret, now_utc())
    return Response(qr_png(_code_payload(city, session_id, code)), media_type="image/png",
                    headers={"Cache-Control": "no-store", "X-Check-In-Code": code})


@trainer.post("/cities/{city}/trainer/sessions/{session_id}/attendance")
async def mark_attendance(city: str, session_id: PathId, body: AttendanceBody, request: Request,
                          principal: AsTrainer) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        s = await _trainer_session(conn, city, session_id, principal)
        opens, _ = domain.check_in_window(s["starts_at"], s["ends_at"])
        if now_utc() < opens:
            raise Problem(409, "Presensi belum dibuka untuk sesi ini. / Attendance is not open yet for this session.",
                          code="attendance-not-open")
        return await handlers.record_attendance(
            conn, city, body.enrolment_id, attended=body.attended, method="trainer", actor=principal.sub,
            now=now_utc(), correlation_id=_correlation(request), session_id=session_id)


# ------------------------------------------------------------------------------------------- city admin

admin = APIRouter(tags=["city admin"])
AsAdmin = Annotated[Principal, Depends(require("city_admin"))]


@admin.post("/cities/{city}/admin/trainers", status_code=201)
async def create_trainer(city: str, body: TrainerBody, request: Request, _: AsAdmin) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        trainer_id = await handlers.create_trainer(conn, city, name=body.name, subject=body.subject,
                                                   phone=body.phone, expertise=body.expertise)
        row = await conn.fetchrow("SELECT * FROM trainers WHERE trainer_id = $1", trainer_id)
    return store.trainer_json(row)


@admin.get("/cities/{city}/admin/trainers")
async def list_trainers(city: str, request: Request, _: AsAdmin) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        return {"trainers": [store.trainer_json(r) for r in await store.list_trainers(conn, city)]}


@admin.post("/cities/{city}/admin/programmes", status_code=201)
async def create_programme(city: str, body: ProgrammeBody, request: Request, _: AsAdmin) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        programme_id = await handlers.create_programme(conn, city, title=body.title, style=body.style,
                                                       partner=body.partner, modules=body.modules,
                                                       description=body.description)
        return store.programme_json(await store.get_programme(conn, city, programme_id))


@admin.post("/cities/{city}/admin/programmes/{programme_id}/sessions", status_code=201)
async def create_session(city: str, programme_id: PathId, body: SessionBody, request: Request,
                         _: AsAdmin) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        session_id = await handlers.create_session(
            conn, city, programme_id=programme_id, title=body.title, module=body.module, starts_at=body.starts_at,
            ends_at=body.ends_at, capacity=body.capacity, rw_hub_id=body.rw_hub_id, meeting_link=body.meeting_link,
            trainer_id=body.trainer_id, required=body.required, now=now_utc())
        return store.session_json(await store.get_session(conn, city, session_id))


@admin.get("/cities/{city}/admin/rw-hubs")
async def rw_hubs(city: str, request: Request, _: AsAdmin) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        rows = await store.list_hubs(conn, city)
    return {"rw_hubs": [{"rw_hub_id": r["rw_hub_id"], "name": r["name"], "kelurahan": r["kelurahan"], "rw": r["rw"],
                         "address": r["address"], "active": r["active"]} for r in rows]}


@admin.get("/cities/{city}/admin/enrolments/{enrolment_id}")
async def enrolment_detail(city: str, enrolment_id: PathId, request: Request, _: AsAdmin) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        row = await store.get_enrolment(conn, city, enrolment_id)
        if row is None:
            raise Problem(404, "Pendaftaran tidak ditemukan. / Enrolment not found.", code="enrolment-not-found")
        return {**store.enrolment_json(row), "history": await store.enrolment_history(conn, enrolment_id)}


@admin.post("/cities/{city}/admin/enrolments/{enrolment_id}/cancel")
async def admin_cancel(city: str, enrolment_id: PathId, request: Request, principal: AsAdmin) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        result = await handlers.cancel(conn, city, enrolment_id, participant_id=None, actor=principal.sub,
                                       now=now_utc(), correlation_id=_correlation(request))
    return {"enrolment_id": result["enrolment_id"], "status": result["status"]}


@admin.get("/cities/{city}/admin/reports/programmes")
async def programme_report(city: str, request: Request, _: AsAdmin) -> dict[str, Any]:
    get_city(city)
    async with _pool(request).acquire() as conn:
        rows = await store.programme_report(conn, city)
    return {"city": city, "programmes": [dict(r) for r in rows]}


@admin.get("/cities/{city}/admin/reports/funnel", response_model=None)
async def funnel_report(city: str, request: Request, _: AsAdmin,
                        style: Annotated[ProgrammeStyle | None, Query()] = None,
                        format: Annotated[Literal["json", "csv"], Query()] = "json") -> Response | dict[str, Any]:
    """Enrolled → attended → certified → became a vendor → first sale → sold again within 30 days."""
    get_city(city)
    async with _pool(request).acquire() as conn:
        report = await handlers.funnel_report(conn, city, style=style)
    if format == "csv":
        buffer = io.StringIO()
        csv.writer(buffer).writerows(domain.funnel_csv_rows(report))
        return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="funnel-{city}.csv"'})
    return report


routers = (public, participant, trainer, admin)


def install_domain_errors(app: Any) -> None:
    """Map the domain's refusals to problem documents (the kernel renders :class:`Problem`)."""
    from shared.problems import problem_response

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> Response:
        return problem_response(exc.status, exc.message, code=exc.code, instance=request.url.path)
