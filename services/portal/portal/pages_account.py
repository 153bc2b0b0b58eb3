"""Sign-in with a phone number and a one-time code (*Masuk*), sign-up for buyers and participants (*Daftar*),
sign-out, and the staff page where city and market admins invite people by phone (*Staf*).

The portal keeps two HttpOnly cookies: the access token (≈15 min, ``pk_token``) and the refresh token
(``pk_refresh``, ``<city>:<token>``). :func:`refresh_session` renews the access token from the refresh token
before a page needs it; sign-out revokes the refresh token's family at identity.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import jwt
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from portal.client import ApiError, items_of
from portal.web import (
    REFRESH_COOKIE,
    ROLE_HOME,
    ROLE_NAMES,
    TOKEN_COOKIE,
    Refusal,
    api,
    city_or_404,
    form_dict,
    need,
    redirect,
    render,
    settings,
)
from shared.auth import ROLES
from shared.cities import all_cities

router = APIRouter()
SESSION_SECONDS = 30 * 24 * 3600
GROUPS = {"pkk": "PKK", "pelaku_usaha": "Pelaku usaha", "pengurus_rw": "Pengurus RW",
          "karang_taruna": "Karang Taruna", "lpm": "LPM", "umum": "Umum"}
STAFF_ROLES_OF_CITY_ADMIN = ("trainer", "market_admin", "vendor", "courier")


def _safe_next(next_url: str | None) -> str | None:
    return next_url if next_url and next_url.startswith("/") and not next_url.startswith("//") else None


def _client_headers(request: Request) -> dict[str, str]:
    """identity's limits count per client address: the portal (a trusted proxy) names the browser's."""
    return {"X-Forwarded-For": request.client.host} if request.client else {}


def signed_in_response(target: str, tokens: dict[str, Any], city: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    set_session_cookies(response, tokens, city)
    return response


def set_session_cookies(response: Response, tokens: dict[str, Any], city: str) -> None:
    secure = settings().portal_cookie_secure
    response.set_cookie(TOKEN_COOKIE, tokens["access_token"], httponly=True, samesite="lax", secure=secure,
                        max_age=SESSION_SECONDS, path="/")
    if tokens.get("refresh_token"):
        response.set_cookie(REFRESH_COOKIE, f"{city}:{tokens['refresh_token']}", httponly=True, samesite="lax",
                            secure=secure, max_age=SESSION_SECONDS, path="/")


def home_of(city: str, roles: list[str]) -> str:
    role = next((r for r in ROLE_HOME if r in roles), "buyer")
    return f"/kota/{city}{ROLE_HOME.get(role, ('', ''))[0]}"


def _cities() -> list[tuple[str, str]]:
    return [(slug, c.name) for slug, c in sorted(all_cities().items())]


# ------------------------------------------------------------------------------------------------ masuk

def _phone_page(request: Request, *, form: dict[str, str], errors: dict[str, str], next_url: str,
                status_code: int = 200, sign_up: bool = False) -> HTMLResponse:
    return render(request, "sign_up.html" if sign_up else "sign_in.html",
                  {"form": form, "errors": errors, "next": next_url, "city_options": _cities(),
                   "participant_groups": list(GROUPS.items()), "groups": {}, "roles_order": []},
                  status_code=status_code)


async def _start(request: Request, form: dict[str, str], *, purpose: str) -> dict[str, Any] | dict[str, str]:
    """identity sends a code; the answer, or form errors."""
    city = form.get("city", "")
    if city not in all_cities():
        return {"city": "Pilih kota."}
    try:
        started: dict[str, Any] = await api(request).post(
            "identity", f"/cities/{city}/sign-in/start", json={"phone": form.get("phone", ""), "purpose": purpose},
            headers=_client_headers(request))
    except ApiError as exc:
        field = "phone" if exc.code in ("bad-phone", "validation-error") or exc.field_errors else "_form"
        return {field: exc.message if exc.code != "validation-error" else "Nomor HP tidak valid (contoh 0812…)."}
    return started


@router.post("/masuk/kode", response_class=HTMLResponse)
async def send_code(request: Request) -> Response:
    """Step 1 of *Masuk*: the phone number → a code by WhatsApp (SMS if WhatsApp fails)."""
    form = form_dict(await request.form())
    next_url = _safe_next(form.get("next")) or ""
    result = await _start(request, form, purpose="sign_in")
    if "challenge_id" not in result:
        return _phone_page(request, form=form, errors=result, next_url=next_url, status_code=400)
    return render(request, "sign_in_code.html", {"started": result, "form": form, "errors": {}, "next": next_url})


@router.post("/masuk/verifikasi", response_class=HTMLResponse)
async def verify_code(request: Request) -> Response:
    """Step 2: the six digits → signed in (first time: a new buyer or participant account)."""
    form = form_dict(await request.form())
    next_url = _safe_next(form.get("next")) or ""
    city = form.get("city", "")
    city_or_404(city)
    body: dict[str, Any] = {"challenge_id": form.get("challenge_id", ""), "code": form.get("code", "").strip()}
    if form.get("name"):
        body["name"] = form["name"]
    if form.get("sign_up_as") in ("buyer", "participant"):
        body["sign_up_as"] = form["sign_up_as"]
    try:
        tokens = await api(request).post("identity", f"/cities/{city}/sign-in/verify", json=body)
    except ApiError as exc:
        message = exc.message
        if exc.code == "code-wrong" and isinstance(exc.body, dict):
            message += f" Sisa percobaan: {exc.body.get('attempts_left', 0)}."
        if exc.code == "validation-error":
            message = "Kode terdiri dari 6 angka."
        started = {"challenge_id": body["challenge_id"], "phone": form.get("masked_phone", "")}
        locked = exc.code in ("code-locked", "code-expired", "code-used", "challenge-not-found")
        return render(request, "sign_in_code.html", {"started": started, "form": form, "locked": locked,
                                                     "errors": {"code": message}, "next": next_url},
                      status_code=429 if exc.status == 429 else 400)
    if form.get("sign_up_as") == "participant":
        try:  # learning knows the participant by the new account (the token's subject)
            await api(request).post("learning", f"/cities/{city}/participants/register",
                                    token=tokens["access_token"], json={
                                        "name": form.get("name", ""), "phone": form.get("phone", ""),
                                        "group": form.get("group", "umum"), "rw": form.get("rw") or None,
                                        "kelurahan": form.get("kelurahan") or None})
        except ApiError as exc:
            if exc.code != "already-registered":
                response = redirect(f"/kota/{city}/pelatihan", Refusal(
                    "Akun dibuat, tetapi pendaftaran pelatihan gagal: " + exc.message))
                set_session_cookies(response, tokens, city)
                return response
    return signed_in_response(next_url or home_of(city, list(tokens.get("roles") or [])), tokens, city)


# ------------------------------------------------------------------------------------------------ daftar

@router.get("/daftar", response_class=HTMLResponse)
async def sign_up_page(request: Request, sebagai: Annotated[str, Query(max_length=20)] = "buyer",
                       kota: Annotated[str, Query(max_length=40)] = "") -> Response:
    form = {"sign_up_as": sebagai if sebagai in ("buyer", "participant") else "buyer", "city": kota}
    return _phone_page(request, form=form, errors={}, next_url="", sign_up=True)


@router.post("/daftar", response_class=HTMLResponse)
async def sign_up(request: Request) -> Response:
    """*Daftar*: name and phone (participants also their group, RW and kelurahan) → a code, as for *Masuk*."""
    form = form_dict(await request.form())
    errors: dict[str, str] = {}
    if len(form.get("name", "").strip()) < 2:
        errors["name"] = "Isi nama Anda."
    if form.get("sign_up_as") not in ("buyer", "participant"):
        form["sign_up_as"] = "buyer"
    if form["sign_up_as"] == "participant" and form.get("group") not in GROUPS:
        errors["group"] = "Pilih kelompok."
    if errors:
        return _phone_page(request, form=form, errors=errors, next_url="", status_code=400, sign_up=True)
    result = await _start(request, form, purpose="sign_up")
    if "challenge_id" not in result:
        return _phone_page(request, form=form, errors=result, next_url="", status_code=400, sign_up=True)
    return render(request, "sign_in_code.html", {"started": result, "form": form, "errors": {}, "next": ""})


# ------------------------------------------------------------------------------------------------ keluar

@router.post("/keluar")
async def sign_out(request: Request) -> Response:
    """Revoke the refresh token (its whole family) at identity, then forget the cookies."""
    raw = request.cookies.get(REFRESH_COOKIE, "")
    city, _, refresh_token = raw.partition(":")
    if city in all_cities() and refresh_token:
        try:
            await api(request).send("identity", "POST", f"/cities/{city}/sign-out",
                                    json={"refresh_token": refresh_token})
        except ApiError:
            pass  # an unknown or already revoked token: signing out is done either way
    response = RedirectResponse("/", status_code=303)
    for cookie in (TOKEN_COOKIE, REFRESH_COOKIE, "pk_cart"):
        response.delete_cookie(cookie, path="/")
    return response


def _expiring(token: str | None) -> bool:
    if not token:
        return True
    try:
        exp = jwt.decode(token, options={"verify_signature": False}).get("exp", 0)
    except jwt.PyJWTError:
        return True
    return bool(float(exp) - time.time() < 30)


async def refresh_session(request: Request, call_next: Any) -> Response:
    """Middleware: renew an expiring access token from the refresh cookie, before the page reads it."""
    raw = request.cookies.get(REFRESH_COOKIE, "")
    city, _, refresh_token = raw.partition(":")
    if not refresh_token or city not in all_cities() or not _expiring(request.cookies.get(TOKEN_COOKIE)) \
            or request.url.path.startswith("/static"):
        response: Response = await call_next(request)
        return response
    try:
        tokens = await api(request).post("identity", f"/cities/{city}/tokens/refresh",
                                         json={"refresh_token": refresh_token})
    except ApiError:  # revoked, reused or expired: signed out
        response = await call_next(_with_cookies(request, {TOKEN_COOKIE: None, REFRESH_COOKIE: None}))
        response.delete_cookie(TOKEN_COOKIE, path="/")
        response.delete_cookie(REFRESH_COOKIE, path="/")
        return response
    response = await call_next(_with_cookies(request, {TOKEN_COOKIE: tokens["access_token"],
                                                       REFRESH_COOKIE: f"{city}:{tokens['refresh_token']}"}))
    set_session_cookies(response, tokens, city)
    return response


def _with_cookies(request: Request, changes: dict[str, str | None]) -> Request:
    cookies = dict(request.cookies)
    for name, value in changes.items():
        if value is None:
            cookies.pop(name, None)
        else:
            cookies[name] = value
    header = "; ".join(f"{k}={v}" for k, v in cookies.items()).encode("latin-1")
    request.scope["headers"] = [(k, v) for k, v in request.scope["headers"] if k != b"cookie"] + [(b"cookie", header)]
    return Request(request.scope, request.receive)


# ------------------------------------------------------------------------------------------------ staf

@router.get("/kota/{city}/staf", response_class=HTMLResponse)
async def staff_page(request: Request, city: str) -> Response:
    """City admins invite staff by phone and grant roles; market admins invite the vendors of their market."""
    c, who, token = need(request, city, "city_admin", "market_admin")
    client = api(request)
    grants = items_of(await client.get("identity", f"/cities/{city}/grants", token=token))
    vendors = items_of(await client.get("catalog", f"/cities/{city}/admin/vendors", token=token,
                                        params={"status": "active"}))
    markets = items_of(await client.get("catalog", f"/cities/{city}/markets")) if who.has("city_admin") else []
    roles = STAFF_ROLES_OF_CITY_ADMIN if who.has("city_admin") else ("vendor",)
    return render(request, "staff.html", {"city": c, "grants": grants, "vendors": vendors, "markets": markets,
                                          "roles": roles, "role_names": ROLE_NAMES, "form": {}, "errors": {},
                                          "entries": await staff_history(request, city, who, token)})


@router.post("/kota/{city}/staf/undang")
async def invite(request: Request, city: str) -> Response:
    _, _, token = need(request, city, "city_admin", "market_admin")
    form = form_dict(await request.form())
    role = form.get("role", "vendor")
    if role not in ROLES:
        role = "vendor"
    scope = form.get("vendor_id") if role == "vendor" else (form.get("market_id") or None)
    body: dict[str, Any] = {"phone": form.get("phone", ""), "role": role, "scope": scope or None,
                            "reason": form.get("reason") or None, "name": form.get("name") or None}
    try:
        await api(request).post("identity", f"/cities/{city}/grants", token=token, json=body)
    except ApiError as exc:
        return redirect(f"/kota/{city}/staf", Refusal(exc.message or "Undangan gagal."))
    return redirect(f"/kota/{city}/staf", f"{ROLE_NAMES.get(role, role)} diundang. Ia dapat masuk dengan kode yang "
                    "dikirim ke nomor HP-nya.")


@router.post("/kota/{city}/staf/cabut/{grant_id}")
async def revoke(request: Request, city: str, grant_id: str,
                 reason: Annotated[str, Form(max_length=300)] = "") -> Response:
    _, _, token = need(request, city, "city_admin", "market_admin")
    try:
        await api(request).post("identity", f"/cities/{city}/grants/{grant_id}/revoke", token=token,
                                json={"reason": reason or None})
        message = "Peran dicabut; berlaku paling lama 15 menit lagi di semua layanan."
    except ApiError as exc:
        message = Refusal(exc.message)
    return redirect(f"/kota/{city}/staf", message)



# ------------------------------------------------------------------------------------------------ akun (UU 27/2022)

@router.get("/kota/{city}/akun", response_class=HTMLResponse)
async def account_page(request: Request, city: str) -> Response:
    """My account: what identity holds, a download of everything the platform holds about me, deletion."""
    c, _, token = need(request, city)
    me = await api(request).get("identity", f"/cities/{city}/me", token=token)
    return render(request, "account.html", {"city": c, "me": me, "role_names": ROLE_NAMES})


@router.get("/kota/{city}/akun/data.json")
async def my_data(request: Request, city: str) -> Response:
    """The download: identity's export, and what orders and learning hold about me, as one JSON file."""
    _, who, token = need(request, city)
    client = api(request)
    data: dict[str, Any] = {"identity": await client.get("identity", f"/cities/{city}/me/export", token=token)}
    if who.has("buyer"):
        data["orders"] = await client.get("orders", f"/cities/{city}/orders", token=token, params={"limit": 200})
    if who.has("participant"):
        try:
            data["learning"] = {
                "participant": await client.get("learning", f"/cities/{city}/me", token=token),
                "enrolments": await client.get("learning", f"/cities/{city}/me/enrolments", token=token),
                "certificates": await client.get("learning", f"/cities/{city}/me/certificates", token=token)}
        except ApiError:
            data["learning"] = None  # signed up, not registered for training
    return Response(json.dumps(data, ensure_ascii=False, indent=2), media_type="application/json",
                    headers={"Content-Disposition": 'attachment; filename="data-saya-pasarkota.json"',
                             "Cache-Control": "no-store"})


@router.post("/kota/{city}/akun/hapus")
async def delete_account(request: Request, city: str,
                         confirm: Annotated[str, Form(max_length=10)] = "") -> Response:
    """Deletion: identity anonymises at once and every service follows; then the browser is signed out."""
    _, _, token = need(request, city)
    if confirm != "HAPUS":
        return redirect(f"/kota/{city}/akun", "Ketik HAPUS untuk menghapus akun.")
    await api(request).post("identity", f"/cities/{city}/me/deletion", token=token)
    response = redirect("/", "Akun Anda dihapus. Data pribadi Anda dihapus dari semua layanan PasarKota.")
    for cookie in (TOKEN_COOKIE, REFRESH_COOKIE, "pk_cart"):
        response.delete_cookie(cookie, path="/")
    return response


async def staff_history(request: Request, city: str, who: Any, token: str) -> list[dict[str, Any]] | None:
    """Identity's audit list of grants (*Riwayat perubahan*): the city's for a city admin, the vendor grants of
    their market for a market admin."""
    from portal.pages_admin_city import _optional_audit, admin_history

    entries = await _optional_audit(api(request), "identity", f"/cities/{city}/grants/audit", token)
    labels: dict[str, str] = {}
    for e in reversed(entries):  # oldest first: a grant's "granted" entry names the person its revocation is about
        side = e.get("after") or {}
        if side.get("name") or side.get("phone"):
            role = ROLE_NAMES.get(str(side.get("role")), str(side.get("role") or ""))
            labels[str(e["entity_id"])] = " ".join(str(x) for x in (side.get("name"), side.get("phone"), role) if x)
        e["label"] = labels.get(str(e["entity_id"]), "")
    return admin_history(entries)
