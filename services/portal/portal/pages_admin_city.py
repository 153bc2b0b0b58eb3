"""Back office of a city admin (issue #13): markets (open, hours, close), their stalls and who has them, RW hubs
(the city's internet points: hours, hall capacity). Every page is over catalog's HTTP API; every change is on
catalog's audit list, shown on the page as *Riwayat perubahan*. Staff and roles stay on the *Staf* page
(``pages_account.py``, identity's grants), which shows identity's audit list the same way.

Forms keep what was typed and show each error next to its field (the portal's own checks first: empty, too long,
control characters; then the service's 422 field errors).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.client import ApiError, ServiceUnavailable, items_of
from portal.web import ROLE_NAMES, Refusal, api, form_dict, need, redirect, render, to_int

router = APIRouter()

STALL_KINDS = ("los", "kios", "blok")

ACTION_WORDS = {
    "opened": "Pasar dibuka", "edited": "Diubah", "closed": "Pasar ditutup", "reopened": "Pasar dibuka lagi",
    "created": "Ditambahkan", "added": "Pedagang ditambahkan", "verified": "Pedagang diverifikasi",
    "activated": "Pedagang diaktifkan", "suspended": "Pedagang dibekukan", "stall_assigned": "Lapak pedagang diganti",
    "pickup_unlocked": "Kunci pengambilan dibuka", "granted": "Peran diberikan", "revoked": "Peran dicabut",
}
ENTITY_WORDS = {"market": "Pasar", "stall": "Lapak", "rw_hub": "Hub RW", "vendor": "Pedagang", "order": "Pesanan",
                "grant": "Peran"}
FIELD_WORDS = {
    "name": "Nama", "address": "Alamat", "kelurahan": "Kelurahan", "opens_at": "Jam buka", "closes_at": "Jam tutup",
    "description": "Keterangan", "active": "Aktif", "kind": "Jenis", "block": "Blok", "number": "Nomor",
    "rw": "RW", "bandwidth_mbps": "Internet (Mbps)", "hall_capacity": "Kapasitas aula", "market_id": "Pasar",
    "stall_id": "Lapak", "owner_name": "Pemilik", "phone": "Nomor HP", "status": "Status",
    "suspended_reason": "Alasan pembekuan", "pickup_attempts": "Kode salah", "pickup_locked": "Terkunci",
    "checked": "Diperiksa", "role": "Peran", "scope": "Cakupan", "reason": "Alasan", "revoked": "Dicabut",
    "account_id": "Akun",
}
STATUS_WORDS = {"draft": "Draf", "pending": "Menunggu", "active": "Aktif", "suspended": "Dibekukan"}
HIDDEN_FIELDS = {"market_id", "account_id"}  # ids a person cannot read; the entry's label says where


def _value(field: str, value: Any, names: dict[str, str]) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if field == "status":
        return STATUS_WORDS.get(str(value), str(value))
    if field == "kind":
        return str(value).capitalize()
    if field == "role":
        return ROLE_NAMES.get(str(value), str(value))
    if field in ("stall_id", "scope"):
        return names.get(str(value), str(value)[:8])
    return str(value)[:200]


def admin_history(entries: list[dict[str, Any]], names: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Audit entries (any service's) as the *Riwayat perubahan* list shows them: who, when, what, before → after."""
    names = names or {}
    out = []
    for e in entries:
        before, after = e.get("before") or {}, e.get("after") or {}
        changes = [{"field": FIELD_WORDS.get(k, k), "before": _value(k, before.get(k), names),
                    "after": _value(k, after.get(k), names)}
                   for k in [*after, *(k for k in before if k not in after)]
                   if k not in HIDDEN_FIELDS and (before.get(k) not in (None, "") or after.get(k) not in (None, ""))]
        roles = ", ".join(ROLE_NAMES.get(r, r) for r in e.get("actor_roles") or [])
        entity = ENTITY_WORDS.get(str(e.get("entity")), str(e.get("entity")))
        label = names.get(str(e.get("entity_id"))) or e.get("label") or ""
        out.append({"at": e.get("at"), "who": f"{roles or 'Sistem'} ({str(e.get('actor'))[:40]})",
                    "what": ACTION_WORDS.get(str(e.get("action")), str(e.get("action"))) + f" · {entity}",
                    "label": label, "changes": changes})
    return out


def check_text(form: dict[str, str], errors: dict[str, str], name: str, *, max_len: int,
               required: bool = False) -> str:
    """The trimmed field, with its error (empty, too long, control characters) put next to it."""
    value = form.get(name, "").strip()
    if required and not value:
        errors[name] = "Wajib diisi."
    elif len(value) > max_len:
        errors[name] = f"Terlalu panjang (paling banyak {max_len} karakter)."
    elif any(ord(ch) < 32 for ch in value):
        errors[name] = "Tidak boleh berisi karakter kontrol."
    return value


def check_int(form: dict[str, str], errors: dict[str, str], name: str, low: int, high: int) -> int | None:
    raw = form.get(name, "").strip()
    if not raw:
        return None
    value = to_int(raw) if raw.isdigit() else None
    if value is None or not low <= value <= high:
        errors[name] = f"Harus angka bulat {low}–{high}."
    return value


def check_hours(form: dict[str, str], errors: dict[str, str], *, required: bool) -> tuple[str | None, str | None]:
    import re

    def hhmm(raw: str) -> str:  # "8.30" and "08.30" are how hours are often written here: 08:30
        raw = raw.strip().replace(".", ":")
        return ("0" + raw) if re.fullmatch(r"[0-9]:[0-5][0-9]", raw) else raw

    opens, closes = hhmm(form.get("opens_at", "")), hhmm(form.get("closes_at", ""))
    for name, value in (("opens_at", opens), ("closes_at", closes)):
        if value and not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", value):
            errors[name] = "Tulis jam sebagai JJ:MM, mis. 05:30."
        elif required and not value:
            errors[name] = "Wajib diisi."
    if "opens_at" not in errors and "closes_at" not in errors:
        if bool(opens) != bool(closes):
            errors["closes_at" if opens else "opens_at"] = "Isi jam buka dan jam tutup."
        elif opens and closes <= opens:
            errors["closes_at"] = "Jam tutup harus setelah jam buka."
    return opens or None, closes or None


def api_errors(exc: ApiError) -> dict[str, str]:
    """A service's refusal as field errors (and the whole message on top)."""
    errors = dict(exc.field_errors)
    errors["_form"] = exc.message or "Perubahan ditolak."
    return errors


def stall_label(s: dict[str, Any]) -> str:
    where = f"{s['block']}-{s['number']}" if s.get("block") else str(s["number"])
    return f"{str(s['kind']).capitalize()} {where}"


async def _optional_audit(client: Any, service: str, path: str, token: str, **params: Any) -> list[dict[str, Any]]:
    """An audit list for the page; the page still works (without it) if the service cannot answer."""
    try:
        data = await client.get(service, path, token=token, params=params or None)
    except (ApiError, ServiceUnavailable):
        return []
    return list(data if isinstance(data, list) else items_of(data))


# ------------------------------------------------------------------------------------------------ index

@router.get("/kota/{city}/admin", response_class=HTMLResponse)
async def admin_home(request: Request, city: str) -> Response:
    c, _, _ = need(request, city, "city_admin")
    return render(request, "admin_city.html", {"city": c})


# ------------------------------------------------------------------------------------------------ markets

async def _markets_page(request: Request, city: str, token: str, form: dict[str, str], errors: dict[str, str],
                        status_code: int = 200) -> Response:
    c = need(request, city, "city_admin")[0]
    markets = items_of(await api(request).get("catalog", f"/cities/{city}/admin/markets", token=token))
    return render(request, "admin_markets.html", {"city": c, "markets": markets, "form": form, "errors": errors},
                  status_code=status_code)


@router.get("/kota/{city}/admin/pasar", response_class=HTMLResponse)
async def admin_markets(request: Request, city: str) -> Response:
    _, _, token = need(request, city, "city_admin")
    return await _markets_page(request, city, token, {"opens_at": "05:00", "closes_at": "14:00"}, {})


@router.post("/kota/{city}/admin/pasar")
async def admin_open_market(request: Request, city: str) -> Response:
    _, _, token = need(request, city, "city_admin")
    form = form_dict(await request.form())
    errors: dict[str, str] = {}
    body: dict[str, Any] = {"name": check_text(form, errors, "name", max_len=120, required=True),
                            "slug": check_text(form, errors, "slug", max_len=60, required=True).lower(),
                            "address": check_text(form, errors, "address", max_len=200)}
    kelurahan = check_text(form, errors, "kelurahan", max_len=80)
    body["kelurahan"] = kelurahan or None
    body["opens_at"], body["closes_at"] = check_hours(form, errors, required=True)
    if "slug" not in errors and body["slug"]:
        import re

        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,59}", body["slug"]):
            errors["slug"] = "Hanya huruf kecil, angka dan tanda hubung (2–60)."
    if not errors:
        try:
            market = await api(request).post("catalog", f"/cities/{city}/markets", token=token, json=body)
            return redirect(f"/kota/{city}/admin/pasar/{market['id']}", f"Pasar {market['name']} dibuka.")
        except ApiError as exc:
            errors = api_errors(exc)
            if exc.status == 409:
                errors["slug"] = exc.message
    return await _markets_page(request, city, token, form, errors, status_code=422)


async def _market_page(request: Request, city: str, market_id: str, *, form: dict[str, str] | None = None,
                       errors: dict[str, str] | None = None, stall_form: dict[str, str] | None = None,
                       stall_errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    c, _, token = need(request, city, "city_admin")
    client = api(request)
    market, stalls, vendors, audit = await asyncio.gather(
        client.get("catalog", f"/cities/{city}/markets/{market_id}"),
        client.get("catalog", f"/cities/{city}/markets/{market_id}/stalls"),
        client.get("catalog", f"/cities/{city}/admin/vendors", token=token, params={"market": market_id}),
        _optional_audit(client, "catalog", f"/cities/{city}/admin/markets/{market_id}/audit", token))
    stall_rows = [{**s, "label": stall_label(s)} for s in items_of(stalls)]
    vendor_rows = [v for v in items_of(vendors) if v.get("status") != "suspended"]
    names = {s["id"]: s["label"] for s in stall_rows} | {v["id"]: v["name"] for v in items_of(vendors)}
    return render(request, "admin_market.html", {
        "city": c, "market": market, "stalls": stall_rows, "vendors": vendor_rows,
        "vendor_names": {v["id"]: v["name"] for v in items_of(vendors)}, "kinds": STALL_KINDS,
        "kind_options": [(k, k.capitalize()) for k in STALL_KINDS],
        "form": form if form is not None else {k: market.get(k) or "" for k in
                                               ("name", "address", "kelurahan", "opens_at", "closes_at")},
        "errors": errors or {}, "stall_form": stall_form or {}, "stall_errors": stall_errors or {},
        "entries": admin_history(audit, names)}, status_code=status_code)


@router.get("/kota/{city}/admin/pasar/{market_id}", response_class=HTMLResponse)
async def admin_market(request: Request, city: str, market_id: str) -> Response:
    need(request, city, "city_admin")
    return await _market_page(request, city, market_id[:80])


@router.post("/kota/{city}/admin/pasar/{market_id}")
async def admin_edit_market(request: Request, city: str, market_id: str) -> Response:
    _, _, token = need(request, city, "city_admin")
    form = form_dict(await request.form())
    errors: dict[str, str] = {}
    body: dict[str, Any] = {"name": check_text(form, errors, "name", max_len=120, required=True),
                            "address": check_text(form, errors, "address", max_len=200),
                            "kelurahan": check_text(form, errors, "kelurahan", max_len=80) or None}
    body["opens_at"], body["closes_at"] = check_hours(form, errors, required=True)
    if not errors:
        try:
            await api(request).patch("catalog", f"/cities/{city}/markets/{market_id}", token=token, json=body)
            return redirect(f"/kota/{city}/admin/pasar/{market_id}", "Data pasar disimpan.")
        except ApiError as exc:
            errors = api_errors(exc)
    return await _market_page(request, city, market_id[:80], form=form, errors=errors, status_code=422)


@router.post("/kota/{city}/admin/pasar/{market_id}/status")
async def admin_market_status(request: Request, city: str, market_id: str) -> Response:
    _, _, token = need(request, city, "city_admin")
    form = form_dict(await request.form())
    active = form.get("active") == "1"
    if form.get("confirm") != "1":
        return await _market_page(request, city, market_id[:80],
                                  errors={"confirm": "Centang dulu untuk memastikan pasar ditutup."}, status_code=422)
    try:
        await api(request).patch("catalog", f"/cities/{city}/markets/{market_id}", token=token,
                                 json={"active": active})
        message: str = "Pasar dibuka lagi." if active else "Pasar ditutup."
    except ApiError as exc:
        message = Refusal(exc.message)
    return redirect(f"/kota/{city}/admin/pasar/{market_id}", message)


def _stall_body(form: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    kind = form.get("kind", "")
    if kind not in STALL_KINDS:
        errors["kind"] = "Pilih jenis lapak."
    return {"kind": kind, "block": check_text(form, errors, "block", max_len=20),
            "number": check_text(form, errors, "number", max_len=20, required=True)}


@router.post("/kota/{city}/admin/pasar/{market_id}/lapak")
async def admin_add_stall(request: Request, city: str, market_id: str) -> Response:
    _, _, token = need(request, city, "city_admin")
    form = form_dict(await request.form())
    errors: dict[str, str] = {}
    body = _stall_body(form, errors)
    if not errors:
        try:
            await api(request).post("catalog", f"/cities/{city}/markets/{market_id}/stalls", token=token, json=body)
            return redirect(f"/kota/{city}/admin/pasar/{market_id}", "Lapak ditambahkan.")
        except ApiError as exc:
            errors = api_errors(exc)
    return await _market_page(request, city, market_id[:80], stall_form=form, stall_errors=errors, status_code=422)


@router.post("/kota/{city}/admin/pasar/{market_id}/lapak/{stall_id}")
async def admin_edit_stall(request: Request, city: str, market_id: str, stall_id: str) -> Response:
    """Rename / renumber a stall, and say which vendor of the market has it (catalog: both audited)."""
    _, _, token = need(request, city, "city_admin")
    form = form_dict(await request.form())
    errors: dict[str, str] = {}
    body = _stall_body(form, errors)
    if errors:
        return await _market_page(request, city, market_id[:80], stall_errors={
            "_form": "Lapak tidak disimpan: " + "; ".join(errors.values())}, status_code=422)
    client = api(request)
    try:
        await client.patch("catalog", f"/cities/{city}/markets/{market_id}/stalls/{stall_id}", token=token, json=body)
        stalls = items_of(await client.get("catalog", f"/cities/{city}/markets/{market_id}/stalls"))
        holder = next((s.get("vendor_id") for s in stalls if s["id"] == stall_id), None)
        wanted = form.get("vendor_id", "").strip() or None
        if holder != wanted:
            if holder:
                await client.put("catalog", f"/cities/{city}/vendors/{holder}/stall", token=token,
                                 json={"stall_id": None})
            if wanted:
                await client.put("catalog", f"/cities/{city}/vendors/{wanted}/stall", token=token,
                                 json={"stall_id": stall_id})
    except ApiError as exc:
        return await _market_page(request, city, market_id[:80], stall_errors={"_form": exc.message},
                                  status_code=422)
    return redirect(f"/kota/{city}/admin/pasar/{market_id}", "Lapak disimpan.")


# ------------------------------------------------------------------------------------------------ RW hubs

def _hub_body(form: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {"name": check_text(form, errors, "name", max_len=120, required=True),
                            "address": check_text(form, errors, "address", max_len=200),
                            "kelurahan": check_text(form, errors, "kelurahan", max_len=80, required=True)}
    rw = form.get("rw", "").strip()
    if not rw.isdigit() or len(rw) > 3 or int(rw) == 0:
        errors["rw"] = "Nomor RW: angka 1–999."
    body["rw"] = rw
    body["opens_at"], body["closes_at"] = check_hours(form, errors, required=False)
    body["hall_capacity"] = check_int(form, errors, "hall_capacity", 1, 10_000)
    body["bandwidth_mbps"] = check_int(form, errors, "bandwidth_mbps", 1, 100_000)
    return body


async def _hubs_page(request: Request, city: str, *, hub_id: str | None = None, form: dict[str, str] | None = None,
                     errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    c, _, token = need(request, city, "city_admin")
    client = api(request)
    ctx: dict[str, Any] = {"city": c, "errors": errors or {}, "hub": None}
    if hub_id is None:
        ctx["hubs"] = items_of(await client.get("catalog", f"/cities/{city}/admin/rw-hubs", token=token))
        ctx["form"] = form or {}
    else:
        hub, audit = await asyncio.gather(
            client.get("catalog", f"/cities/{city}/rw-hubs/{hub_id}"),
            _optional_audit(client, "catalog", f"/cities/{city}/audit", token, entity="rw_hub", entity_id=hub_id))
        ctx["hub"] = hub
        ctx["form"] = form if form is not None else {
            **{k: "" if hub.get(k) is None else str(hub[k]) for k in
               ("name", "address", "kelurahan", "rw", "opens_at", "closes_at", "hall_capacity", "bandwidth_mbps")},
            "active": "1" if hub.get("active") else ""}
        ctx["entries"] = admin_history(audit, {hub["id"]: hub["name"]})
    return render(request, "admin_hubs.html", ctx, status_code=status_code)


@router.get("/kota/{city}/admin/hub-rw", response_class=HTMLResponse)
async def admin_hubs(request: Request, city: str) -> Response:
    need(request, city, "city_admin")
    return await _hubs_page(request, city)


@router.post("/kota/{city}/admin/hub-rw")
async def admin_add_hub(request: Request, city: str) -> Response:
    _, _, token = need(request, city, "city_admin")
    form = form_dict(await request.form())
    errors: dict[str, str] = {}
    body = {k: v for k, v in _hub_body(form, errors).items() if v is not None}
    if not errors:
        try:
            hub = await api(request).post("catalog", f"/cities/{city}/rw-hubs", token=token, json=body)
            return redirect(f"/kota/{city}/admin/hub-rw/{hub['id']}", f"{hub['name']} ditambahkan.")
        except ApiError as exc:
            errors = api_errors(exc)
            if exc.status == 409:
                errors["rw"] = exc.message
    return await _hubs_page(request, city, form=form, errors=errors, status_code=422)


@router.get("/kota/{city}/admin/hub-rw/{hub_id}", response_class=HTMLResponse)
async def admin_hub(request: Request, city: str, hub_id: str) -> Response:
    need(request, city, "city_admin")
    return await _hubs_page(request, city, hub_id=hub_id[:80])


@router.post("/kota/{city}/admin/hub-rw/{hub_id}")
async def admin_edit_hub(request: Request, city: str, hub_id: str) -> Response:
    _, _, token = need(request, city, "city_admin")
    form = form_dict(await request.form())
    errors: dict[str, str] = {}
    body = {k: v for k, v in _hub_body(form, errors).items() if v is not None}
    body["active"] = form.get("active") == "1"
    if not errors:
        try:
            await api(request).patch("catalog", f"/cities/{city}/rw-hubs/{hub_id}", token=token, json=body)
            return redirect(f"/kota/{city}/admin/hub-rw/{hub_id}", "Hub RW disimpan.")
        except ApiError as exc:
            errors = api_errors(exc)
            if exc.status == 409:
                errors["rw"] = exc.message
    return await _hubs_page(request, city, hub_id=hub_id[:80], form=form, errors=errors, status_code=422)
