"""Public pages: choose a city, markets, search with the daily price list, product page, sign-in, certificates."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from portal.client import ApiError, ServiceUnavailable, items_of
from portal.demo import demo_users, find_demo_user
from portal.web import (
    REFRESH_COOKIE,
    ROLE_HOME,
    TOKEN_COOKIE,
    PageError,
    api,
    city_or_404,
    guard_city,
    principal_of,
    render,
    settings,
)
from shared.auth import ROLES, verify_token
from shared.cities import all_cities
from shared.problems import Problem

router = APIRouter()


def _safe_next(next_url: str | None) -> str | None:
    return next_url if next_url and next_url.startswith("/") and not next_url.startswith("//") else None


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    who = principal_of(request)
    if who is not None and who.city in all_cities():
        path = ROLE_HOME.get(next((r for r in ROLE_HOME if r in who.roles), "buyer"), ("", ""))[0]
        return RedirectResponse(f"/kota/{who.city}{path}", status_code=303)
    return render(request, "home.html", {})


# ------------------------------------------------------------------------------------------------ sign-in

@router.get("/masuk", response_class=HTMLResponse)
async def sign_in_page(request: Request, next_url: Annotated[str | None, Query(alias="next")] = None) -> Response:
    groups: dict[str, dict[str, list[Any]]] = {}
    if settings().dev_mode:
        for slug in all_cities():
            by_role: dict[str, list[Any]] = {}
            for user in demo_users(slug):
                by_role.setdefault(user.role, []).append(user)
            groups[slug] = by_role
    return render(request, "sign_in.html", {"groups": groups, "next": _safe_next(next_url) or "",
                                            "city_options": [(s, c.name) for s, c in sorted(all_cities().items())],
                                            "roles_order": ["buyer", "vendor", "market_admin", "trainer",
                                                            "participant", "city_admin"]})


def _signed_in(token: str, city: str, role: str, next_url: str | None) -> Response:
    target = _safe_next(next_url) or f"/kota/{city}{ROLE_HOME.get(role, ('', ''))[0]}"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="lax", secure=settings().portal_cookie_secure,
                        max_age=12 * 3600, path="/")
    response.delete_cookie(REFRESH_COOKIE, path="/")  # a pasted or demo token has no session to renew
    return response


@router.post("/masuk/demo")
async def sign_in_demo(request: Request, city: Annotated[str, Form()], user: Annotated[str, Form()],
                       next_url: Annotated[str, Form(alias="next")] = "") -> Response:
    if not settings().dev_mode:
        raise PageError(404, "Tidak tersedia", "Masuk sebagai pengguna demo hanya ada di mode pengembangan.")
    city_or_404(city)
    demo = find_demo_user(city, user)
    if demo is None:
        raise PageError(404, "Pengguna demo tidak dikenal", "Pilih pengguna dari daftar.")
    issued = await api(request).post("identity", f"/cities/{city}/dev/tokens", json={
        "sub": demo.sub, "roles": [demo.role], "vendor_id": demo.vendor_id, "market_id": demo.market_id,
        "ttl_seconds": 12 * 3600})
    return _signed_in(issued["access_token"], city, demo.role, next_url)


@router.post("/masuk/token")
async def sign_in_token(request: Request, token: Annotated[str, Form()] = "",
                        next_url: Annotated[str, Form(alias="next")] = "") -> Response:
    token = token.strip()
    try:
        who = verify_token(token)
    except Problem as exc:
        return render(request, "sign_in.html", {"groups": {}, "next": _safe_next(next_url) or "",
                                                "errors": {"token": exc.detail.split(" / ")[0]},
                                                "form": {"token": token}, "roles_order": []}, status_code=400)
    if who.city not in all_cities():
        return render(request, "sign_in.html", {"groups": {}, "next": "", "form": {"token": token},
                                                "errors": {"token": "Kota pada token tidak dikenal."},
                                                "roles_order": []}, status_code=400)
    role = next((r for r in ROLES if r in who.roles), "buyer")
    return _signed_in(token, who.city, role, next_url)


# ------------------------------------------------------------------------------------------------ buyer browsing

@router.get("/kota/{city}", response_class=HTMLResponse)
async def city_home(request: Request, city: str) -> Response:
    c, who = guard_city(request, city)
    if who is not None and not who.has("buyer", "operator", "city_admin"):
        path = ROLE_HOME.get(next((r for r in ROLE_HOME if r in who.roles), "buyer"), ("", ""))[0]
        if path:
            return RedirectResponse(f"/kota/{city}{path}", status_code=303)
    markets = items_of(await api(request).get("catalog", f"/cities/{city}/markets"))
    return render(request, "city.html", {"city": c, "markets": markets})


@router.get("/kota/{city}/pasar/{market_id}", response_class=HTMLResponse)
async def market_page(request: Request, city: str, market_id: str,
                      kategori: Annotated[str | None, Query(max_length=40)] = None,
                      komoditas: Annotated[str | None, Query(max_length=40)] = None,
                      hal: Annotated[int, Query(ge=1, le=1000)] = 1) -> Response:
    c, _ = guard_city(request, city)
    client = api(request)
    try:
        market, prices, products = await asyncio.gather(
            client.get("catalog", f"/cities/{city}/markets/{market_id}"),
            client.get("catalog", f"/cities/{city}/markets/{market_id}/prices"),
            client.get("catalog", f"/cities/{city}/products",
                       params={"market": market_id, "category": kategori, "page_size": 40}))
    except ApiError as exc:
        if exc.status == 404:
            raise PageError(404, "Pasar tidak ditemukan", "Pasar ini tidak ada di kota ini.") from None
        raise
    price_page = paged_prices(items_of(prices), komoditas, hal)
    return render(request, "market.html", {"city": c, "market": market, **price_page,
                                           "price_date": prices.get("date") if isinstance(prices, dict) else None,
                                           "products": items_of(products), "category": kategori})


@router.get("/kota/{city}/cari", response_class=HTMLResponse)
async def search(request: Request, city: str, q: Annotated[str, Query(max_length=200)] = "",
                 pasar: Annotated[str | None, Query(max_length=80)] = None,
                 hal: Annotated[int, Query(ge=1, le=500)] = 1) -> Response:
    c, _ = guard_city(request, city)
    client = api(request)
    results, markets = await asyncio.gather(
        client.get("catalog", f"/cities/{city}/products", params={"q": q.strip(), "market": pasar, "page": hal,
                                                                 "page_size": 20}),
        client.get("catalog", f"/cities/{city}/markets"))
    total = results.get("total", 0) if isinstance(results, dict) else 0
    return render(request, "search.html", {"city": c, "q": q, "pasar": pasar or "", "products": items_of(results),
                                           "markets": items_of(markets), "total": total, "page": hal,
                                           "more": total > hal * 20})


@router.get("/kota/{city}/produk/{product_id}", response_class=HTMLResponse)
async def product_page(request: Request, city: str, product_id: str) -> Response:
    c, _ = guard_city(request, city)
    try:
        product = await api(request).get("catalog", f"/cities/{city}/products/{product_id}")
    except ApiError as exc:
        if exc.status in (404, 422):
            raise PageError(404, "Produk tidak ditemukan", "Produk ini tidak ada atau sudah tidak dijual.") from None
        raise
    return render(request, "product.html", {"city": c, "p": product, "form": {"quantity": "1"}})


# ------------------------------------------------------------------------------------------------ certificates

@router.get("/sertifikat", response_class=HTMLResponse)
async def certificate(request: Request, kode: Annotated[str, Query(max_length=40)] = "") -> Response:
    code = kode.strip()
    if not code:
        return render(request, "certificate.html", {"form": {}, "result": None})
    try:
        result = await api(request).get("learning", f"/certificates/{code}")
    except ApiError as exc:
        status = 404 if exc.status in (404, 422) else 400
        return render(request, "certificate.html", {"form": {"kode": code}, "result": None,
                                                    "errors": {"kode": "Sertifikat dengan kode ini tidak ditemukan."}},
                      status_code=status)
    except ServiceUnavailable:
        raise
    return render(request, "certificate.html", {"form": {"kode": code}, "result": result})





PRICE_PAGE_SIZE = 40


def paged_prices(items: list[dict[str, Any]], commodity: str | None, page: int) -> dict[str, Any]:
    """The market's whole price list, filtered by commodity (catalog tags each row), 40 rows a page."""
    commodities = sorted({str(i["commodity"]) for i in items if i.get("commodity")})
    chosen = commodity if commodity in commodities else None
    rows = [i for i in items if chosen is None or i.get("commodity") == chosen]
    pages = max(1, -(-len(rows) // PRICE_PAGE_SIZE))
    page = min(page, pages)
    return {"prices": rows[(page - 1) * PRICE_PAGE_SIZE: page * PRICE_PAGE_SIZE], "price_page": page,
            "price_pages": pages, "price_total": len(rows), "commodities": commodities, "commodity": chosen}
