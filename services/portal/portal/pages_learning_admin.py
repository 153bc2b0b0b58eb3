"""Training back office (issue #13): the city admin's programmes, sessions, trainers and materials, a trainer's
own sessions, and the public list of upcoming trainings. Every page reads and writes over learning's HTTP API;
learning audits each change and the audit list ("Riwayat perubahan") is shown on the page where it is made.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.client import ApiError, field_errors_of, items_of
from portal.web import Refusal, api, form_dict, guard_city, need, redirect, render, settings

router = APIRouter()

STYLES = [("webinar", "Webinar (daring)"), ("in_person", "Tatap muka"), ("hybrid", "Hibrida")]
MAX_UPLOAD = 5 * 1024 * 1024


def _local_to_iso(value: str, tz: str) -> str | None:
    """``2026-12-02T20:30`` from an <input type=datetime-local> in the city's time zone → ISO with offset."""
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=ZoneInfo(tz)).isoformat()
    except ValueError:
        return None


async def _audit(request: Request, city: str, token: str, entity: str, entity_id: str | None = None
                 ) -> list[dict[str, Any]]:
    try:
        rows = await api(request).get("learning", f"/cities/{city}/audit", token=token,
                                      params={"entity": entity, "entity_id": entity_id, "limit": 30})
    except ApiError:
        return []
    return rows if isinstance(rows, list) else []


async def _overview(request: Request, city: str, token: str) -> dict[str, Any]:
    client = api(request)
    programmes, trainers, audit_p, audit_t = await asyncio.gather(
        client.get("learning", f"/cities/{city}/programmes"),
        client.get("learning", f"/cities/{city}/admin/trainers", token=token),
        _audit(request, city, token, "programme"), _audit(request, city, token, "trainer"))
    return {"programmes": items_of(programmes, "programmes"), "trainers": items_of(trainers, "trainers"),
            "audit": sorted(audit_p + audit_t, key=lambda a: str(a.get("at")), reverse=True)[:30],
            "styles": STYLES}


@router.get("/kota/{city}/admin/pelatihan", response_class=HTMLResponse)
async def admin_training(request: Request, city: str) -> Response:
    c, _, token = need(request, city, "city_admin")
    return render(request, "learning_admin_home.html", {"city": c, **await _overview(request, city, token)})


@router.post("/kota/{city}/admin/pelatihan/program")
async def admin_create_programme(request: Request, city: str) -> Response:
    c, _, token = need(request, city, "city_admin")
    form = form_dict(await request.form())
    modules = [m.strip() for m in form.get("modules", "").splitlines() if m.strip()]
    try:
        created = await api(request).post("learning", f"/cities/{city}/admin/programmes", token=token, json={
            "title": form.get("title", ""), "style": form.get("style", ""),
            "partner": form.get("partner") or None, "modules": modules, "description": form.get("description", "")})
        return redirect(f"/kota/{city}/admin/pelatihan/program/{created['programme_id']}", "Program dibuat.")
    except ApiError as exc:
        errors = dict(exc.field_errors) or {"_form": exc.message}
    return render(request, "learning_admin_home.html", {"city": c, "form": form, "errors": errors,
                                                        **await _overview(request, city, token)}, status_code=422)


@router.post("/kota/{city}/admin/pelatihan/pelatih")
async def admin_add_trainer(request: Request, city: str) -> Response:
    c, _, token = need(request, city, "city_admin")
    form = form_dict(await request.form())
    try:
        await api(request).post("learning", f"/cities/{city}/admin/trainers", token=token, json={
            "name": form.get("trainer_name", ""), "phone": form.get("trainer_phone") or None,
            "expertise": form.get("expertise") or None})
        return redirect(f"/kota/{city}/admin/pelatihan", "Pelatih ditambahkan; peran pelatih diberikan lewat HP-nya.")
    except ApiError as exc:
        errors = {("trainer_" + k if k in ("name", "phone") else k): v for k, v in exc.field_errors.items()}
        errors = errors or {"_trainer": exc.message}
    return render(request, "learning_admin_home.html", {"city": c, "form": form, "errors": errors,
                                                        **await _overview(request, city, token)}, status_code=422)


async def _programme_page(request: Request, city: str, programme_id: str, token: str) -> dict[str, Any]:
    client = api(request)
    try:
        programme, trainers, hubs = await asyncio.gather(
            client.get("learning", f"/cities/{city}/admin/programmes/{programme_id}", token=token),
            client.get("learning", f"/cities/{city}/admin/trainers", token=token),
            client.get("learning", f"/cities/{city}/admin/rw-hubs", token=token))
    except ApiError as exc:
        from portal.web import PageError

        raise PageError(exc.status if exc.status in (403, 404) else 422, "Program tidak ditemukan",
                        exc.message) from None
    ids = [programme_id] + [s["session_id"] for s in programme.get("sessions", [])] + [
        m["material_id"] for m in programme.get("materials", [])]
    audits = await asyncio.gather(*(_audit(request, city, token, entity, entity_id) for entity, entity_id in
                                    [("programme", ids[0])] + [("session", i) for i in ids[1:1 + len(
                                        programme.get("sessions", []))]] + [("material", None)]))
    material_ids = {m["material_id"] for m in programme.get("materials", [])}
    audit = [a for group in audits for a in group
             if a.get("entity") != "material" or a.get("entity_id") in material_ids]
    trainer_rows, hub_rows = items_of(trainers, "trainers"), items_of(hubs, "rw_hubs", "hubs")
    return {"programme": programme, "trainer_options": [(t["trainer_id"], t["name"]) for t in trainer_rows],
            "hub_options": [(h["rw_hub_id"], h["name"]) for h in hub_rows],
            "audit": sorted(audit, key=lambda a: str(a.get("at")), reverse=True)}


@router.get("/kota/{city}/admin/pelatihan/program/{programme_id}", response_class=HTMLResponse)
async def admin_programme(request: Request, city: str, programme_id: str) -> Response:
    c, _, token = need(request, city, "city_admin")
    return render(request, "learning_admin_programme.html",
                  {"city": c, **await _programme_page(request, city, programme_id, token)})


@router.post("/kota/{city}/admin/pelatihan/program/{programme_id}/ubah")
async def admin_edit_programme(request: Request, city: str, programme_id: str) -> Response:
    """Edit a programme's title, style, partner, modules and description (learning audits the change)."""
    c, _, token = need(request, city, "city_admin")
    form = form_dict(await request.form())
    modules = [m.strip() for m in form.get("p_modules", "").splitlines() if m.strip()]
    try:
        await api(request).patch("learning", f"/cities/{city}/admin/programmes/{programme_id}", token=token, json={
            "title": form.get("p_title", ""), "style": form.get("p_style", ""),
            "partner": form.get("p_partner") or None, "modules": modules,
            "description": form.get("p_description", "")})
        return redirect(f"/kota/{city}/admin/pelatihan/program/{programme_id}", "Program disimpan.")
    except ApiError as exc:
        errors = {f"p_{k}": v for k, v in exc.field_errors.items()} or {"_programme": exc.message}
    return render(request, "learning_admin_programme.html", {
        "city": c, "pform": form, "errors": errors, **await _programme_page(request, city, programme_id, token)},
        status_code=422)


@router.post("/kota/{city}/admin/pelatihan/program/{programme_id}/sesi")
async def admin_create_session(request: Request, city: str, programme_id: str) -> Response:
    c, _, token = need(request, city, "city_admin")
    form = form_dict(await request.form())
    errors: dict[str, str] = {}
    starts, ends = _local_to_iso(form.get("starts_at", ""), c.timezone), _local_to_iso(form.get("ends_at", ""),
                                                                                        c.timezone)
    if starts is None:
        errors["starts_at"] = "Isi tanggal dan jam mulai."
    if ends is None:
        errors["ends_at"] = "Isi tanggal dan jam selesai."
    if not errors:
        try:
            await api(request).post("learning", f"/cities/{city}/admin/programmes/{programme_id}/sessions",
                                    token=token, json={
                                        "title": form.get("title", ""), "module": form.get("module") or None,
                                        "starts_at": starts, "ends_at": ends,
                                        "capacity": int(form["capacity"]) if form.get("capacity", "").isdigit()
                                        else form.get("capacity", ""),
                                        "rw_hub_id": form.get("rw_hub_id") or None,
                                        "meeting_link": form.get("meeting_link") or None,
                                        "trainer_id": form.get("trainer_id") or None})
            return redirect(f"/kota/{city}/admin/pelatihan/program/{programme_id}", "Sesi dibuat.")
        except ApiError as exc:
            errors = dict(exc.field_errors) or {"_form": exc.message}
            if exc.code == "session-overlap":
                errors = {"starts_at": exc.message}
    return render(request, "learning_admin_programme.html", {
        "city": c, "form": form, "errors": errors, **await _programme_page(request, city, programme_id, token)},
        status_code=422)


@router.post("/kota/{city}/admin/pelatihan/program/{programme_id}/materi")
async def admin_add_material(request: Request, city: str, programme_id: str) -> Response:
    """A link (``url``) or an uploaded file (``file``: PDF, PNG, JPEG up to 5 MB; learning checks the bytes)."""
    c, _, token = need(request, city, "city_admin")
    raw = await request.form()
    form = form_dict(raw)
    upload = raw.get("file")
    errors: dict[str, str] = {}
    target = {"module": form.get("m_module") or None, "session_id": form.get("m_session_id") or None}
    try:
        if upload is not None and not isinstance(upload, str) and upload.filename:
            content = await upload.read(MAX_UPLOAD + 1)
            await _upload(city, token, programme_id, form.get("m_title", ""), content, target)
        else:
            await api(request).post("learning", f"/cities/{city}/admin/programmes/{programme_id}/materials",
                                    token=token, json={"title": form.get("m_title", ""), "url": form.get("url", ""),
                                                       "kind": form.get("kind") or "link", **target})
        return redirect(f"/kota/{city}/admin/pelatihan/program/{programme_id}", "Materi ditambahkan.")
    except ApiError as exc:
        errors = {("m_" + k if k in ("title", "module", "session_id") else k): v
                  for k, v in exc.field_errors.items()} or {"_material": exc.message}
    return render(request, "learning_admin_programme.html", {
        "city": c, "form": form, "errors": errors, **await _programme_page(request, city, programme_id, token)},
        status_code=422)


async def _upload(city: str, token: str, programme_id: str, title: str, content: bytes,
                  target: dict[str, Any]) -> None:
    """The raw file to learning's upload route (the portal's API client speaks JSON only)."""
    if len(content) > MAX_UPLOAD:
        raise ApiError(413, "Berkas terlalu besar (maks. 5 MB).", field_errors={"file": "Berkas terlalu besar "
                                                                                        "(maks. 5 MB)."})
    params = {"programme_id": programme_id, "title": title, **{k: v for k, v in target.items() if v}}
    async with httpx.AsyncClient(timeout=30) as client:
        r = await client.post(settings().service_url("learning") + f"/cities/{city}/admin/material-files",
                              params=params, content=content, headers={"Authorization": f"Bearer {token}",
                                                                       "Content-Type": "application/octet-stream"})
    if r.status_code >= 400:
        body = r.json() if r.headers.get("content-type", "").endswith("json") else {}
        raise ApiError(r.status_code, str(body.get("detail", "Berkas ditolak.")), field_errors=field_errors_of(body)
                       or {"file": str(body.get("detail", "Berkas ditolak.")).split(" / ")[0]})


@router.get("/kota/{city}/pelatihan/jadwal", response_class=HTMLResponse)
async def upcoming_trainings(request: Request, city: str) -> Response:
    """Public: upcoming trainings of the city (title, style, venue or "daring", dates, seats left). No link."""
    c, who = guard_city(request, city)
    sessions = items_of(await api(request).get("learning", f"/cities/{city}/sessions",
                                               params={"upcoming": "true"}), "sessions")
    return render(request, "learning_upcoming.html", {"city": c, "sessions": sessions,
                                                      "signed_in": who is not None and who.has("participant")})


@router.get("/kota/{city}/pelatihan/materi/{material_id}")
async def material_download(request: Request, city: str, material_id: str) -> Response:
    """A booked participant's (or the trainer's) download of an uploaded material, through the portal."""
    _, _, token = need(request, city, "participant", "trainer", "city_admin")
    if not material_id.replace("-", "").isalnum() or len(material_id) > 64:
        return Response(status_code=404)
    async with httpx.AsyncClient(timeout=30) as client:
        r = await client.get(settings().service_url("learning") + f"/cities/{city}/materials/{material_id}/file",
                             headers={"Authorization": f"Bearer {token}"})
    if r.status_code != 200:
        return redirect(f"/kota/{city}/pelatihan", Refusal("Materi tidak tersedia untuk Anda."))
    return Response(r.content, media_type=r.headers["content-type"], headers={
        "Content-Disposition": r.headers.get("content-disposition", "attachment"), "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff"})


# ------------------------------------------------------------------------- trainer: own sessions

async def _trainer_form_context(request: Request, city: str, token: str) -> dict[str, Any]:
    client = api(request)
    programmes, hubs = await asyncio.gather(client.get("learning", f"/cities/{city}/programmes"),
                                            client.get("learning", f"/cities/{city}/admin/rw-hubs", token=token))
    return {"programme_options": [(p["programme_id"], p["title"]) for p in items_of(programmes, "programmes")],
            "hub_options": [(h["rw_hub_id"], h["name"]) for h in items_of(hubs, "rw_hubs")]}


def _session_payload(form: dict[str, str], tz: str, errors: dict[str, str]) -> dict[str, Any]:
    starts, ends = _local_to_iso(form.get("starts_at", ""), tz), _local_to_iso(form.get("ends_at", ""), tz)
    if starts is None:
        errors["starts_at"] = "Isi tanggal dan jam mulai."
    if ends is None:
        errors["ends_at"] = "Isi tanggal dan jam selesai."
    return {"title": form.get("title", ""), "module": form.get("module") or None, "starts_at": starts,
            "ends_at": ends, "capacity": int(form["capacity"]) if form.get("capacity", "").isdigit()
            else form.get("capacity", ""), "rw_hub_id": form.get("rw_hub_id") or None,
            "meeting_link": form.get("meeting_link") or None}


def _api_errors(exc: ApiError) -> dict[str, str]:
    if exc.code == "session-overlap":
        return {"starts_at": exc.message}
    return dict(exc.field_errors) or {"_form": exc.message}


@router.get("/kota/{city}/pelatih/sesi-baru", response_class=HTMLResponse)
async def trainer_new_session(request: Request, city: str) -> Response:
    c, _, token = need(request, city, "trainer")
    return render(request, "learning_admin_trainer_session.html", {
        "city": c, "session": None, **await _trainer_form_context(request, city, token)})


@router.post("/kota/{city}/pelatih/sesi-baru")
async def trainer_create_session(request: Request, city: str) -> Response:
    c, _, token = need(request, city, "trainer")
    form = form_dict(await request.form())
    errors: dict[str, str] = {}
    payload = _session_payload(form, c.timezone, errors)
    programme_id = form.get("programme_id", "")
    if not programme_id.replace("-", "").isalnum() or len(programme_id) > 64:
        errors["programme_id"] = "Pilih program."
    if not errors:
        try:
            await api(request).post("learning", f"/cities/{city}/trainer/programmes/{programme_id}/sessions",
                                    token=token, json=payload)
            return redirect(f"/kota/{city}/pelatih", "Sesi dibuat.")
        except ApiError as exc:
            errors = _api_errors(exc)
    return render(request, "learning_admin_trainer_session.html", {
        "city": c, "session": None, "form": form, "errors": errors,
        **await _trainer_form_context(request, city, token)}, status_code=422)


def _local_input(iso: str | None, tz: str) -> str:
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M") if iso else ""


@router.get("/kota/{city}/pelatih/sesi/{session_id}/ubah", response_class=HTMLResponse)
async def trainer_edit_session(request: Request, city: str, session_id: str) -> Response:
    c, _, token = need(request, city, "trainer", "city_admin")
    try:
        s = await api(request).get("learning", f"/cities/{city}/admin/sessions/{session_id}", token=token)
    except ApiError as exc:
        from portal.web import PageError

        raise PageError(exc.status if exc.status in (403, 404) else 404, "Sesi tidak ditemukan", exc.message) from None
    form = {"title": s.get("title", ""), "module": s.get("module") or "", "capacity": str(s.get("capacity", "")),
            "starts_at": _local_input(s.get("starts_at"), c.timezone), "ends_at": _local_input(s.get("ends_at"),
                                                                                               c.timezone),
            "meeting_link": s.get("venue", {}).get("meeting_link", ""),
            "rw_hub_id": (s.get("venue", {}).get("rw_hub") or {}).get("rw_hub_id", "")}
    audit = await _audit(request, city, token, "session", session_id) if principal_has(request, "city_admin") else []
    return render(request, "learning_admin_trainer_session.html", {
        "city": c, "session": s, "form": form, "audit": audit, **await _trainer_form_context(request, city, token)})


def principal_has(request: Request, role: str) -> bool:
    from portal.web import principal_of

    who = principal_of(request)
    return who is not None and who.has(role)


@router.post("/kota/{city}/pelatih/sesi/{session_id}/ubah")
async def trainer_save_session(request: Request, city: str, session_id: str) -> Response:
    c, _, token = need(request, city, "trainer", "city_admin")
    form = form_dict(await request.form())
    errors: dict[str, str] = {}
    payload = _session_payload(form, c.timezone, errors)
    if not errors:
        try:
            await api(request).patch("learning", f"/cities/{city}/trainer/sessions/{session_id}", token=token,
                                     json=payload)
            return redirect(f"/kota/{city}/pelatih/sesi/{session_id}/ubah", "Sesi disimpan.")
        except ApiError as exc:
            errors = _api_errors(exc)
    return render(request, "learning_admin_trainer_session.html", {
        "city": c, "session": {"session_id": session_id}, "form": form, "errors": errors,
        **await _trainer_form_context(request, city, token)}, status_code=422)
