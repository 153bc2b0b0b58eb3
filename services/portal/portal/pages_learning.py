"""Trainer and participant pages: sessions, roster, the rotating check-in QR, enrolment, check-in, certificates."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from portal.client import ApiError, items_of
from portal.qr import qr_png
from portal.web import PageError, Refusal, api, form_dict, need, redirect, render

router = APIRouter()

ENROLMENT_LABELS = {"booked": "Terdaftar", "waitlisted": "Daftar tunggu", "cancelled": "Dibatalkan",
                    "attended": "Hadir", "absent": "Tidak hadir", "completed": "Selesai"}


# ------------------------------------------------------------------------------------------------ trainer

@router.get("/kota/{city}/pelatih", response_class=HTMLResponse)
async def trainer_home(request: Request, city: str) -> Response:
    c, _, token = need(request, city, "trainer", "city_admin")
    data = await api(request).get("learning", f"/cities/{city}/trainer/sessions", token=token)
    return render(request, "trainer.html", {"city": c, "trainer": data.get("trainer"),
                                            "sessions": items_of(data, "sessions")})


def check_in_url(request: Request, city: str, session_id: str, code: str) -> str:
    """What the QR holds: the portal's own check-in page, so any phone camera opens it."""
    return f"{str(request.base_url).rstrip('/')}/kota/{city}/pelatihan/hadir?sesi={session_id}&kode={code}"


async def _code(request: Request, city: str, session_id: str, token: str) -> dict[str, Any]:
    data: dict[str, Any] = await api(request).get(
        "learning", f"/cities/{city}/trainer/sessions/{session_id}/check-in-code", token=token)
    return data


@router.get("/kota/{city}/pelatih/sesi/{session_id}", response_class=HTMLResponse)
async def trainer_session(request: Request, city: str, session_id: str) -> Response:
    c, _, token = need(request, city, "trainer", "city_admin")
    try:
        roster, code = await asyncio.gather(
            api(request).get("learning", f"/cities/{city}/trainer/sessions/{session_id}/roster", token=token),
            _code(request, city, session_id, token))
    except ApiError as exc:
        if exc.status in (403, 404):
            raise PageError(exc.status, "Sesi tidak ditemukan", exc.message) from None
        raise
    return render(request, "trainer_session.html", {"city": c, "session": roster.get("session", {}),
                                                    "roster": items_of(roster, "roster"), "code": code,
                                                    "labels": ENROLMENT_LABELS})


@router.get("/kota/{city}/pelatih/sesi/{session_id}/kode.json")
async def trainer_code_json(request: Request, city: str, session_id: str) -> JSONResponse:
    _, _, token = need(request, city, "trainer", "city_admin")
    code = await _code(request, city, session_id, token)
    return JSONResponse({"code": code.get("code"), "valid_until": code.get("valid_until"),
                         "check_in_open": code.get("check_in_open")}, headers={"Cache-Control": "no-store"})


@router.get("/kota/{city}/pelatih/sesi/{session_id}/kode.png")
async def trainer_code_png(request: Request, city: str, session_id: str,
                           v: Annotated[str | None, Query(max_length=20)] = None) -> Response:
    _, _, token = need(request, city, "trainer", "city_admin")
    code = await _code(request, city, session_id, token)
    png = qr_png(check_in_url(request, city, session_id, str(code.get("code", ""))), box_size=10)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store",
                                                          "X-Check-In-Code": str(code.get("code", ""))})


@router.post("/kota/{city}/pelatih/sesi/{session_id}/hadir")
async def trainer_mark(request: Request, city: str, session_id: str,
                       enrolment_id: Annotated[str, Form(max_length=64)],
                       attended: Annotated[str, Form(max_length=3)] = "1") -> Response:
    _, _, token = need(request, city, "trainer", "city_admin")
    try:
        await api(request).post("learning", f"/cities/{city}/trainer/sessions/{session_id}/attendance", token=token,
                                json={"enrolment_id": enrolment_id, "attended": attended == "1"})
        message = "Kehadiran dicatat." if attended == "1" else "Dicatat tidak hadir."
    except ApiError as exc:
        message = Refusal(exc.message)
    return redirect(f"/kota/{city}/pelatih/sesi/{session_id}", message)


# ------------------------------------------------------------------------------------------------ participant

@router.get("/kota/{city}/pelatihan", response_class=HTMLResponse)
async def participant_home(request: Request, city: str) -> Response:
    c, _, token = need(request, city, "participant")
    client = api(request)
    programmes, sessions, mine, certificates, me = await asyncio.gather(
        client.get("learning", f"/cities/{city}/programmes"),
        client.get("learning", f"/cities/{city}/sessions", params={"upcoming": "true"}),
        client.get("learning", f"/cities/{city}/me/enrolments", token=token),
        client.get("learning", f"/cities/{city}/me/certificates", token=token),
        client.get("learning", f"/cities/{city}/me", token=token))
    my = {e["session_id"]: e for e in items_of(mine, "enrolments") if e.get("status") != "cancelled"}
    by_programme: dict[str, list[dict[str, Any]]] = {}
    all_sessions = items_of(sessions, "sessions")
    for s in all_sessions:
        by_programme.setdefault(str(s.get("programme_id")), []).append(s)
    return render(request, "participant.html", {
        "city": c, "programmes": items_of(programmes, "programmes"), "sessions_of": by_programme, "my": my,
        "my_sessions": [s for s in all_sessions if s.get("session_id") in my],
        "certificates": items_of(certificates, "certificates"), "me": me, "labels": ENROLMENT_LABELS})


@router.post("/kota/{city}/pelatihan/sesi/{session_id}/daftar")
async def participant_enrol(request: Request, city: str, session_id: str) -> Response:
    _, _, token = need(request, city, "participant")
    try:
        result = await api(request).post("learning", f"/cities/{city}/sessions/{session_id}/enrolments", token=token)
        if result.get("status") == "waitlisted":
            position = result.get("position") or result.get("waitlist_position") or ""
            message = f"Kelas penuh: Anda masuk daftar tunggu nomor {position}."
        else:
            message = "Anda terdaftar di sesi ini."
    except ApiError as exc:
        message = Refusal(exc.message)
    return redirect(f"/kota/{city}/pelatihan", message)


@router.get("/kota/{city}/pelatihan/hadir", response_class=HTMLResponse)
async def check_in_page(request: Request, city: str, sesi: Annotated[str, Query(max_length=64)] = "",
                        kode: Annotated[str, Query(max_length=12)] = "") -> Response:
    c, _, token = need(request, city, "participant")
    mine = items_of(await api(request).get("learning", f"/cities/{city}/me/enrolments", token=token), "enrolments")
    return render(request, "check_in.html", {"city": c, "enrolments": [e for e in mine if e.get("status") == "booked"],
                                             "form": {"session_id": sesi, "code": kode}})


@router.post("/kota/{city}/pelatihan/hadir")
async def check_in(request: Request, city: str) -> Response:
    c, _, token = need(request, city, "participant")
    form = form_dict(await request.form())
    session_id, code = form.get("session_id", "").strip(), form.get("code", "").strip()
    errors: dict[str, str] = {}
    if not session_id:
        errors["session_id"] = "Pilih sesi."
    if not code:
        errors["code"] = "Masukkan kode dari layar pelatih."
    if not errors:
        try:
            await api(request).post("learning", f"/cities/{city}/sessions/{session_id}/check-in", token=token,
                                    json={"code": code})
            return redirect(f"/kota/{city}/pelatihan", "Kehadiran Anda tercatat. Terima kasih!")
        except ApiError as exc:
            errors = dict(exc.field_errors)
            errors.setdefault("code", exc.message)
    mine = items_of(await api(request).get("learning", f"/cities/{city}/me/enrolments", token=token), "enrolments")
    return render(request, "check_in.html", {"city": c, "enrolments": [e for e in mine if e.get("status") == "booked"],
                                             "form": form, "errors": errors}, status_code=422)
