"""Public price information of a city (issue #14): per commodity today's median, min and max across the
city's markets and vendors, yesterday's, the change, and 30 days as a small line. Under 30 KB, no script."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.charts import sparkline
from portal.web import PageError, api, guard_city, render

router = APIRouter()


@router.get("/kota/{city}/harga", response_class=HTMLResponse)
async def city_prices(request: Request, city: str) -> Response:
    c, _ = guard_city(request, city)
    data: dict[str, Any] = await api(request).get("catalog", f"/cities/{city}/open-data/prices.json")
    items = data.get("items", [])
    for item in items:
        item["spark"] = sparkline(f"Median 30 hari {item['name']}", [int(h["median"]) for h in item["history"]])
    return render(request, "prices.html", {"city": c, "items": items, "price_date": data.get("date")})


@router.get("/kota/{city}/harga.{fmt}")
async def city_prices_open_data(request: Request, city: str, fmt: str) -> Response:
    """The open data through the portal's address too (the stable API is catalog's
    ``/cities/{city}/open-data/prices.{json,csv}``)."""
    guard_city(request, city)
    if fmt not in ("json", "csv"):
        raise PageError(404, "Tidak ditemukan", "Format data harga: .csv atau .json.")
    r = await api(request).send("catalog", "GET", f"/cities/{city}/open-data/prices.{fmt}")
    return Response(r.content, media_type=r.headers.get("content-type", "text/plain"),
                    headers={"Cache-Control": "public, max-age=300"})
