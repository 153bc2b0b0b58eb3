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
                    "attended": "Hadir", "no_show": "Tidak hadir", "absent": "Tidak hadir", "completed": "Selesai"}


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
    return await render_trainer_session(request, city, session_id)


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
    my_enrolments = my_enrolments_view(items_of(mine, "enrolments"))
    return render(request, "participant.html", {
        "city": c, "programmes": items_of(programmes, "programmes"), "sessions_of": by_programme, "my": my,
        "my_sessions": [s for s in all_sessions if s.get("session_id") in my],
        "certificates": items_of(certificates, "certificates"), "me": me, "labels": ENROLMENT_LABELS,
        "my_enrolments": my_enrolments,
        "materials_of": await _my_materials(request, city, token, my_enrolments)})


MATERIALS_FOR_SESSIONS = 8   # the newest booked or attended sessions show their materials (one call each)


async def _my_materials(request: Request, city: str, token: str,
                        enrolments: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Session id → its materials (links, files, the recording once the session is over) for the participant's
    newest booked or attended sessions; a session learning will not show is simply left out."""
    sessions = [str(e["session_id"]) for e in enrolments
                if e.get("status") in ("booked", "attended") and e.get("session_id")][:MATERIALS_FOR_SESSIONS]

    async def one(session_id: str) -> tuple[str, list[dict[str, Any]]]:
        try:
            body = await api(request).get("learning", f"/cities/{city}/sessions/{session_id}/materials", token=token)
        except ApiError:
            return session_id, []
        return session_id, items_of(body, "materials")

    return dict(await asyncio.gather(*(one(s) for s in sessions)))


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


# ------------------------------------------- roster, attendance report, roster message, self-service (#13)

REPORT_MAX_BYTES = 1024 * 1024
REPORT_OUTCOMES = {"recorded": "dicatat hadir", "already_attended": "sudah hadir", "too_short": "kurang menit",
                   "waitlisted": "di daftar tunggu", "unmatched": "belum cocok"}
METHOD_LABELS = {"check_in_code": "kode presensi", "trainer": "dicatat pelatih", "report": "laporan rapat"}
HISTORY_ACTIONS = {"no_show_corrected": "Koreksi: tidak hadir → hadir", "attendance_recorded": "Kehadiran dicatat",
                   "marked_no_show": "Ditandai tidak hadir", "imported": "Laporan kehadiran diimpor",
                   "row_matched": "Baris laporan dicocokkan", "roster_messaged": "Pesan ke peserta"}


async def _optional(call: Any) -> dict[str, Any]:
    """A side panel of a page (report imports, history): the roster still shows when it cannot be had."""
    try:
        data = await call
    except ApiError:
        return {}
    return data if isinstance(data, dict) else {}


async def render_trainer_session(request: Request, city: str, session_id: str, *, form: dict[str, str] | None = None,
                                 errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    """The trainer's session page: check-in code, roster with attendance words, report import, unmatched rows,
    a message to the roster, and the session's history (audit list)."""
    c, _, token = need(request, city, "trainer", "city_admin")
    client = api(request)
    base = f"/cities/{city}/trainer/sessions/{session_id}"
    try:
        roster, code, reports, history = await asyncio.gather(
            client.get("learning", f"{base}/roster", token=token, params={"cancelled": "true"}),
            _code(request, city, session_id, token),
            _optional(client.get("learning", f"{base}/attendance-reports", token=token)),
            _optional(client.get("learning", f"{base}/history", token=token)))
    except ApiError as exc:
        if exc.status in (403, 404):
            raise PageError(exc.status, "Sesi tidak ditemukan", exc.message) from None
        raise
    entries = items_of(roster, "roster")
    form = dict(form or {})
    form.setdefault("min_minutes", str(reports.get("min_minutes") or ""))
    return render(request, "trainer_session.html", {
        "city": c, "session": roster.get("session", {}), "roster": entries, "code": code, "labels": ENROLMENT_LABELS,
        "reports": reports, "history": items_of(history, "entries"), "history_actions": HISTORY_ACTIONS,
        "outcomes": REPORT_OUTCOMES, "methods": METHOD_LABELS,
        "seat_holders": [e for e in entries if e.get("status") in ("booked", "attended", "no_show")],
        "form": form, "errors": errors or {}}, status_code=status_code)


@router.post("/kota/{city}/pelatih/sesi/{session_id}/laporan")
async def trainer_import_report(request: Request, city: str, session_id: str) -> Response:
    """The meeting platform's attendance CSV: size and type checked here first, then by learning."""
    import base64

    from starlette.datastructures import UploadFile

    _, _, token = need(request, city, "trainer", "city_admin")
    form = await request.form()
    upload = form.get("file")
    min_minutes = str(form.get("min_minutes") or "").strip()
    shown = {"min_minutes": min_minutes}
    errors: dict[str, str] = {}
    raw = b""
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors["file"] = "Pilih berkas CSV laporan kehadiran."
    else:
        raw = await upload.read(REPORT_MAX_BYTES + 1)
        if len(raw) > REPORT_MAX_BYTES:
            errors["file"] = "Berkas terlalu besar (maks. 1 MB)."
        elif not upload.filename.lower().endswith((".csv", ".txt")):
            errors["file"] = "Unggah berkas CSV (.csv) dari Zoom atau Google Meet."
        elif not raw:
            errors["file"] = "Berkas kosong."
    if min_minutes and not (min_minutes.isdigit() and 1 <= int(min_minutes) <= 1440):
        errors["min_minutes"] = "Isi angka menit 1–1440."
    if not errors:
        assert isinstance(upload, UploadFile)
        try:
            result = await api(request).post(
                "learning", f"/cities/{city}/trainer/sessions/{session_id}/attendance-reports", token=token,
                json={"filename": (upload.filename or "laporan.csv")[:200],
                      "content_base64": base64.b64encode(raw).decode(),
                      "min_minutes": int(min_minutes) if min_minutes else None})
            message = (f"Laporan diimpor: {result.get('recorded', 0)} dicatat hadir, "
                       f"{result.get('already_attended', 0)} sudah hadir, {result.get('too_short', 0)} kurang dari "
                       f"{result.get('min_minutes')} menit, {result.get('unmatched', 0)} belum cocok.")
            return redirect(f"/kota/{city}/pelatih/sesi/{session_id}", message)
        except ApiError as exc:
            errors = dict(exc.field_errors)
            if not errors or "content_base64" in errors or "filename" in errors:
                errors = {"file": exc.message}
    return await render_trainer_session(request, city, session_id, form=shown, errors=errors, status_code=422)


@router.post("/kota/{city}/pelatih/sesi/{session_id}/laporan/{import_id}/{row_no}")
async def trainer_match_row(request: Request, city: str, session_id: str, import_id: str, row_no: int,
                            enrolment_id: Annotated[str, Form(max_length=64)] = "") -> Response:
    _, _, token = need(request, city, "trainer", "city_admin")
    if not enrolment_id:
        return redirect(f"/kota/{city}/pelatih/sesi/{session_id}", Refusal("Pilih pesertanya dulu."))
    try:
        result = await api(request).post(
            "learning", f"/cities/{city}/trainer/sessions/{session_id}/attendance-reports/{import_id}/rows/"
                        f"{row_no}/match", token=token, json={"enrolment_id": enrolment_id})
        message = ("Dicocokkan dan dicatat hadir." if result.get("outcome") == "recorded"
                   else f"Dicocokkan ({REPORT_OUTCOMES.get(str(result.get('outcome')), result.get('outcome'))}).")
    except ApiError as exc:
        message = Refusal(exc.message)
    return redirect(f"/kota/{city}/pelatih/sesi/{session_id}", message)


@router.post("/kota/{city}/pelatih/sesi/{session_id}/pesan")
async def trainer_message(request: Request, city: str, session_id: str) -> Response:
    _, _, token = need(request, city, "trainer", "city_admin")
    form = form_dict(await request.form())
    text = form.get("text", "").strip()
    errors: dict[str, str] = {}
    if not text:
        errors["text"] = "Tulis pesannya."
    elif len(text) > 500:
        errors["text"] = "Pesan maks. 500 karakter."
    if not errors:
        try:
            result = await api(request).post("learning", f"/cities/{city}/trainer/sessions/{session_id}/messages",
                                             token=token, json={"text": text})
            return redirect(f"/kota/{city}/pelatih/sesi/{session_id}",
                            f"Pesan dikirim ke {result.get('recipients', 0)} peserta lewat WhatsApp.")
        except ApiError as exc:
            errors = {"text": exc.field_errors.get("text") or exc.message}
    return await render_trainer_session(request, city, session_id, form={"text": text}, errors=errors,
                                        status_code=422)


@router.post("/kota/{city}/pelatihan/pendaftaran/{enrolment_id}/batal")
async def participant_cancel(request: Request, city: str, enrolment_id: str) -> Response:
    """Cancel one's own booking before the start; the first on the waitlist gets the seat (and a message)."""
    _, _, token = need(request, city, "participant")
    try:
        await api(request).post("learning", f"/cities/{city}/enrolments/{enrolment_id}/cancel", token=token)
        message: str = "Pendaftaran dibatalkan. Bila ada daftar tunggu, kursinya diberikan ke peserta berikutnya."
    except ApiError as exc:
        message = Refusal(exc.message)
    return redirect(f"/kota/{city}/pelatihan", message)


@router.get("/kota/{city}/pelatihan/sertifikat/{code}.pdf")
async def participant_certificate_pdf(request: Request, city: str, code: str) -> Response:
    """One's own certificate as a PDF, with a QR code to this portal's public verification page."""
    from urllib.parse import quote

    from portal.certificate_pdf import certificate_pdf

    _, _, token = need(request, city, "participant")
    if not (4 <= len(code) <= 24 and code.isascii() and code.isalnum()):
        raise PageError(404, "Sertifikat tidak ditemukan", "Kode sertifikat tidak dikenal.")
    try:
        cert = await api(request).get("learning", f"/cities/{city}/me/certificates/{code}", token=token)
    except ApiError as exc:
        if exc.status in (403, 404, 422):
            raise PageError(404, "Sertifikat tidak ditemukan", exc.message) from None
        raise
    verify_url = f"{str(request.base_url).rstrip('/')}/sertifikat?kode={quote(str(cert.get('code', '')))}"
    return Response(certificate_pdf(cert, verify_url), media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="sertifikat-{cert.get("code", code)}.pdf"',
        "Cache-Control": "no-store"})


def my_enrolments_view(enrolments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Own enrolments, newest session first, each saying whether it can still be cancelled (before the start)."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    out = []
    for e in enrolments:
        try:
            starts = datetime.fromisoformat(str(e.get("starts_at")))
        except ValueError:
            starts = None
        out.append({**e, "cancellable": e.get("status") in ("booked", "waitlisted") and starts is not None
                    and starts > now, "upcoming": starts is not None and starts > now})
    return sorted(out, key=lambda e: str(e.get("starts_at") or ""), reverse=True)
