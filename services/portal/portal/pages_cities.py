"""The operator's city directory page (issue #14): every city, whether its webhook secret is set, a form that adds a
city at runtime through identity's ``POST /cities`` (the refused field shown next to its input, the input kept),
and the change history (identity's audit list of the cities)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.client import ApiError, ServiceUnavailable, items_of
from portal.web import ROLE_HOME, api, form_dict, need, redirect, render, to_int
from shared.logging import get_logger

router = APIRouter()
log = get_logger(__name__)
ROLE_HOME.setdefault("operator", ("/operator/kota", "Kota"))

TIMEZONES = [("Asia/Jakarta", "WIB (Asia/Jakarta)"), ("Asia/Makassar", "WITA (Asia/Makassar)"),
             ("Asia/Jayapura", "WIT (Asia/Jayapura)")]
STYLES = [("in_person", "Tatap muka"), ("webinar", "Webinar"), ("hybrid", "Campuran")]
CRITERIA = [("UMI", "UMI (usaha mikro)"), ("UKE", "UKE (usaha kecil)"), ("UME", "UME (usaha menengah)"),
            ("UBE", "UBE (usaha besar)"), ("URE", "URE (reguler)")]
TEXT_FIELDS = ("slug", "name", "timezone", "programme_style")
WHOLE_FIELDS = ("delivery_fee", "payment_expiry_minutes")
MERCHANT_TEXT = ("name", "city", "postal_code", "mcc", "nmid", "acquirer_guid", "acquirer_nns", "merchant_pan",
                 "merchant_id", "criteria")
MERCHANT_WHOLE = ("mdr_basis_points", "mdr_free_up_to")
DEFAULTS = {"timezone": "Asia/Jakarta", "programme_style": "in_person", "payment_expiry_minutes": "15",
            "merchant.mcc": "5411", "merchant.acquirer_guid": "ID.CO.SIMULATOR.WWW",
            "merchant.acquirer_nns": "93600014", "merchant.criteria": "UMI", "merchant.mdr_basis_points": "30",
            "merchant.mdr_free_up_to": "500000"}
ACTIONS = {"added": "Kota ditambahkan", "updated": "Kota diubah"}


def _number(raw: str) -> int | str:
    """A whole number when it is one; otherwise the text as typed, so identity refuses it naming the field."""
    value = to_int(raw)
    return value if value is not None and raw.strip().lstrip("-").replace(".", "").isdigit() else raw.strip()


def document_of(form: dict[str, str]) -> dict[str, Any]:
    """The city document from the form's inputs (``merchant.name`` → ``{"merchant": {"name": ...}}``); empty
    inputs are left out (identity's defaults)."""
    doc: dict[str, Any] = {k: form[k].strip() for k in TEXT_FIELDS if form.get(k, "").strip()}
    doc |= {k: _number(form[k]) for k in WHOLE_FIELDS if form.get(k, "").strip()}
    merchant: dict[str, Any] = {k: form[f"merchant.{k}"].strip() for k in MERCHANT_TEXT
                                if form.get(f"merchant.{k}", "").strip()}
    merchant |= {k: _number(form[f"merchant.{k}"]) for k in MERCHANT_WHOLE if form.get(f"merchant.{k}", "").strip()}
    doc["merchant"] = merchant
    return doc


async def _history(client: Any, token: str, cities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Identity's audit entries of the runtime cities, newest first (a city identity has not applied yet: none)."""
    async def of(slug: str) -> list[dict[str, Any]]:
        try:
            return list(await client.get("identity", f"/cities/{slug}/audit", token=token,
                                         params={"entity": "city", "limit": 20}))
        except ApiError:
            return []

    found = await asyncio.gather(*(of(c["slug"]) for c in cities if c.get("source") == "runtime"))
    entries = [e for group in found for e in group]
    return sorted(entries, key=lambda e: str(e.get("at", "")), reverse=True)[:30]


async def _secret_state(client: Any, token: str, slug: str) -> bool | None:
    """Payments' answer: has it this city's webhook secret? None when payments does not know the city yet."""
    try:
        return bool((await client.get("payments", f"/cities/{slug}/webhook-secret", token=token))["set"])
    except (ApiError, ServiceUnavailable):
        return None


async def _page(request: Request, city: str, token: str, form: dict[str, str], errors: dict[str, str],
                status_code: int = 200) -> Response:
    client = api(request)
    cities = items_of(await client.get("identity", "/cities", token=token))
    states, history = await asyncio.gather(asyncio.gather(*(_secret_state(client, token, c["slug"]) for c in cities)),
                                           _history(client, token, cities))
    for c, state in zip(cities, states, strict=True):
        c["webhook_secret"] = state
    return render(request, "city_directory.html", {
        "city": need(request, city, "operator")[0], "directory": cities, "history": history, "actions": ACTIONS,
        "form": DEFAULTS | form, "errors": errors, "timezones": TIMEZONES, "styles": STYLES, "criteria": CRITERIA},
        status_code=status_code)


@router.get("/kota/{city}/operator/kota", response_class=HTMLResponse)
async def city_directory(request: Request, city: str) -> Response:
    _, _, token = need(request, city, "operator")
    return await _page(request, city, token, {}, {})


@router.post("/kota/{city}/operator/kota")
async def add_city(request: Request, city: str) -> Response:
    _, _, token = need(request, city, "operator")
    form = form_dict(await request.form())
    errors: dict[str, str] = {}
    if not form.get("slug", "").strip():
        errors["slug"] = "Kode kota wajib diisi (contoh: bandung)."
    if not form.get("name", "").strip():
        errors["name"] = "Nama kota wajib diisi."
    body: dict[str, Any] = {"city": document_of(form)}
    if form.get("admin_phone", "").strip():
        body["first_admin"] = {"phone": form["admin_phone"].strip()} | (
            {"name": form["admin_name"].strip()} if form.get("admin_name", "").strip() else {})
    if not errors:
        try:
            answer = await api(request).post("identity", "/cities", token=token, json=body)
        except ApiError as exc:
            # next to the input, without the field's name in front ("merchant.name: paling banyak ...")
            errors = {name: text.removeprefix(f"{name}: ") for name, text in exc.field_errors.items()}
            if "phone" in errors:  # identity names the first admin's phone "phone"
                errors["admin_phone"] = errors.pop("phone")
            errors["_form"] = exc.message
        else:
            slug = str(answer["slug"])
            invited = " Admin kota diundang; ia masuk dengan kode." if answer.get("first_admin") else ""
            return redirect(f"/kota/{city}/operator/kota", f"Kota {slug} ditambahkan dan aktif dalam beberapa detik."
                            f"{invited} Lalu pasang rahasia webhook-nya (lihat daftar).")
    return await _page(request, city, token, form, errors, status_code=422)
