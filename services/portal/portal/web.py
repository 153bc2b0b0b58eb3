"""What every page needs: templates, the signed-in user (from an HttpOnly cookie), the API client, errors.

Pages raise :class:`SignInRequired` / :class:`PageError`; the app turns them (and a down service) into
friendly Indonesian pages. The token's city decides which city's data a signed-in user sees.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from portal import filters
from portal.client import ApiClient, ApiError, ServiceUnavailable
from portal.settings import PortalSettings, get_portal_settings
from shared.auth import Principal, verify_token
from shared.cities import City, all_cities
from shared.problems import Problem

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
filters.install(templates.env)
TOKEN_COOKIE = "pk_token"
REFRESH_COOKIE = "pk_refresh"

ROLE_HOME = {
    "buyer": ("", "Belanja"),
    "vendor": ("/pedagang", "Lapak saya"),
    "market_admin": ("/pengelola", "Pengelola pasar"),
    "trainer": ("/pelatih", "Sesi saya"),
    "participant": ("/pelatihan", "Pelatihan"),
    "city_admin": ("/dasbor", "Dasbor kota"),
    "courier": ("/kurir", "Antar pesanan"),
}
ROLE_NAMES = {"buyer": "Pembeli", "vendor": "Pedagang", "market_admin": "Pengelola pasar", "trainer": "Pelatih",
              "participant": "Peserta pelatihan", "city_admin": "Admin kota", "operator": "Operator",
              "courier": "Kurir pasar"}


class SignInRequired(Exception):
    def __init__(self, next_url: str, reason: str = "") -> None:
        super().__init__(reason)
        self.next_url = next_url
        self.reason = reason


class PageError(Exception):
    """A page that cannot be shown, with an Indonesian message (403, 404, …)."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


def settings() -> PortalSettings:
    return get_portal_settings()


def api(request: Request) -> ApiClient:
    client: ApiClient | None = getattr(request.app.state, "api", None)
    if client is None:
        client = ApiClient(settings())
        request.app.state.api = client
    return client


async def chat_links(request: Request, city: str, order_id: str, token: str) -> list[dict[str, Any]]:
    """"Chat penjual" / "Chat pembeli": ``wa.me`` links to the other side of an order, from notifications. A page
    never fails for them: none when notifications is down or does not know the order (yet)."""
    try:
        data = await api(request).get("notifications", f"/cities/{city}/orders/{order_id}/contacts", token=token)
    except (ApiError, ServiceUnavailable):
        return []
    contacts = data.get("contacts", []) if isinstance(data, dict) else []
    return [c for c in contacts if isinstance(c, dict) and str(c.get("wa_link", "")).startswith("https://wa.me/")]


def token_of(request: Request) -> str | None:
    return request.cookies.get(TOKEN_COOKIE) or None


def principal_of(request: Request) -> Principal | None:
    token = token_of(request)
    if not token:
        return None
    try:
        return verify_token(token)
    except Problem:
        return None


def city_or_404(slug: str) -> City:
    city = all_cities().get(slug)
    if city is None:
        raise PageError(404, "Kota tidak ditemukan", f"Kota '{slug}' tidak dikenal di PasarKota.")
    return city


def guard_city(request: Request, slug: str) -> tuple[City, Principal | None]:
    """The city of the path; a signed-in user of another city sees nothing of it."""
    city = city_or_404(slug)
    who = principal_of(request)
    if who is not None and who.city != slug and not who.has("operator"):
        mine = all_cities().get(who.city)
        raise PageError(403, "Bukan kota Anda",
                        f"Anda masuk sebagai pengguna {mine.name if mine else who.city}. Data kota {city.name} "
                        "tidak ditampilkan. Keluar dulu untuk melihat kota lain.")
    return city, who


def need(request: Request, slug: str, *roles: str) -> tuple[City, Principal, str]:
    """A signed-in user with one of ``roles`` in this city → (city, principal, token)."""
    city, who = guard_city(request, slug)
    token = token_of(request)
    if who is None or token is None:
        raise SignInRequired(str(request.url.path), "Silakan masuk terlebih dahulu.")
    if roles and not who.has(*roles):
        wanted = " atau ".join(ROLE_NAMES.get(r, r) for r in roles)
        raise PageError(403, "Tidak diizinkan", f"Halaman ini untuk {wanted}. Anda masuk sebagai "
                        f"{', '.join(ROLE_NAMES.get(r, r) for r in sorted(who.roles))}.")
    return city, who, token


def render(request: Request, template: str, context: dict[str, Any] | None = None, *,
           status_code: int = 200) -> HTMLResponse:
    who = principal_of(request)
    ctx: dict[str, Any] = {
        "who": who, "role_names": ROLE_NAMES, "role_home": ROLE_HOME, "dev_mode": settings().dev_mode,
        "cities": all_cities(), "errors": {}, "form": {}, "flash": request.query_params.get("pesan"),
        "flash_refused": request.query_params.get("galat") == "1",
    }
    if who is not None:
        ctx["my_city"] = all_cities().get(who.city)
    ctx.update(context or {})
    return templates.TemplateResponse(request, template, ctx, status_code=status_code,
                                      headers={"Cache-Control": "no-store"})


class Refusal(str):
    """A message that says no (a service refused): shown in the error style after the redirect, never as a
    success."""


def redirect(url: str, message: str | None = None) -> RedirectResponse:
    if message:
        from urllib.parse import quote

        url += ("&" if "?" in url else "?") + "pesan=" + quote(message)
        if isinstance(message, Refusal):
            url += "&galat=1"
    return RedirectResponse(url, status_code=303)


def form_dict(form: FormData) -> dict[str, str]:
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


def new_key() -> str:
    return str(uuid.uuid4())


def to_int(value: Any, default: int | None = None) -> int | None:
    try:
        return int(str(value).strip().replace(".", "").replace("Rp", "").strip())
    except (TypeError, ValueError):
        return default
