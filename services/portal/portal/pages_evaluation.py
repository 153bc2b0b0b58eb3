"""Programme evaluation pages (issue #14): a city's evaluation (city admin, operator) and, for operators, the
cities side by side and "Cimahi-style vs Tegal-style" — the styles' rates and cohorts next to each other with
the counts behind every rate (a small sample shows as small). Data: learning's evaluation report."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from portal import charts
from portal.client import ApiError
from portal.filters import GROUP_LABELS, STYLE_LABELS
from portal.web import PageError, api, need, principal_of, render, token_of
from shared.cities import all_cities

router = APIRouter()

STEPS = ("enrolled", "attended", "certified", "onboarded", "first_sale", "repeat_30d", "repeat_60d", "repeat_90d")
STEP_LABELS = {"enrolled": "Mendaftar", "attended": "Hadir", "certified": "Bersertifikat",
               "onboarded": "Jadi pedagang", "first_sale": "Penjualan pertama", "repeat_30d": "Ulang ≤30 hari",
               "repeat_60d": "Ulang ≤60 hari", "repeat_90d": "Ulang ≤90 hari"}
NAMES: dict[str, Any] = {
    "style_name": lambda r: STYLE_LABELS.get(r["key"], r["key"]),
    "programme_name": lambda r: f"{r.get('title', r['key'])} ({STYLE_LABELS.get(r.get('style'), '')})",
    "group_name": lambda r: GROUP_LABELS.get(r["key"], r["key"]),
    "key_name": lambda r: r["key"],
    "cohort_name": lambda r: f"{r.get('city', '')} {STYLE_LABELS.get(r['style'], r['style'])} {r['month']}".strip(),
    "city_style_name": lambda r: f"{r['city']} · {STYLE_LABELS.get(r['style'], r['style'])}",
}
FIELD_OF = {"date-range-backwards": "to", "date-range-too-long": "to", "programme-not-found": "programme"}


def _params(dari: str, sampai: str, program: str) -> dict[str, str]:
    return {"from": dari, "to": sampai, "programme": program}


def _errors(exc: ApiError) -> dict[str, str]:
    """The report's refusal next to the field it is about (dari/sampai/program)."""
    names = {"from": "dari", "to": "sampai", "programme": "program"}
    out = {names.get(k, k): v for k, v in exc.field_errors.items()}
    field = FIELD_OF.get(exc.code)
    if field:
        out[names[field]] = exc.message
    return out or {"sampai": exc.message}


@router.get("/kota/{city}/evaluasi", response_class=HTMLResponse)
async def city_evaluation(request: Request, city: str, dari: Annotated[str, Query(max_length=10)] = "",
                          sampai: Annotated[str, Query(max_length=10)] = "",
                          program: Annotated[str, Query(max_length=64)] = "") -> Response:
    c, _, token = need(request, city, "city_admin", "operator")
    form = {"dari": dari, "sampai": sampai, "program": program}
    client = api(request)
    try:
        report = await client.get("learning", f"/cities/{city}/admin/reports/evaluation", token=token,
                                  params=_params(dari, sampai, program))
    except ApiError as exc:
        if exc.status not in (404, 422):
            raise
        everything = await client.get("learning", f"/cities/{city}/admin/reports/evaluation", token=token)
        return render(request, "evaluation.html", {**_context(c.slug, everything), "city": c, "form": form,
                                                   "errors": _errors(exc)}, status_code=exc.status)
    return render(request, "evaluation.html", {**_context(c.slug, report), "city": c, "form": form})


def _context(city: str, report: dict[str, Any]) -> dict[str, Any]:
    styles = report.get("by_style", [])
    return {**NAMES, "report": report, "steps": STEPS, "step_labels": STEP_LABELS, "style_labels": STYLE_LABELS,
            "group_labels": GROUP_LABELS, "programmes": report.get("by_programme", []),
            "style_svg": charts.grouped_funnel(
                "Corong per gaya program", [(STYLE_LABELS.get(s["key"], s["key"]),
                                             [int(s["counts"][k]) for k in STEPS]) for s in styles],
                [STEP_LABELS[k] for k in STEPS])}


@router.get("/kota/{city}/evaluasi.csv")
async def city_evaluation_csv(request: Request, city: str, dari: Annotated[str, Query(max_length=10)] = "",
                              sampai: Annotated[str, Query(max_length=10)] = "",
                              program: Annotated[str, Query(max_length=64)] = "") -> Response:
    _, _, token = need(request, city, "city_admin", "operator")
    r = await api(request).send("learning", "GET", f"/cities/{city}/admin/reports/evaluation", token=token,
                                params={**_params(dari, sampai, program), "format": "csv"})
    return Response(r.content, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="evaluasi-{city}.csv"'})


@router.get("/evaluasi", response_class=HTMLResponse)
async def compare_cities(request: Request, dari: Annotated[str, Query(max_length=10)] = "",
                         sampai: Annotated[str, Query(max_length=10)] = "") -> Response:
    """Operators only: every city's evaluation side by side, and the styles (Cimahi-style in person vs
    Tegal-style webinar, hybrid too) pooled across cities with their cohorts."""
    who, token = principal_of(request), token_of(request)
    if who is None or token is None:
        from portal.web import SignInRequired
        raise SignInRequired(str(request.url.path), "Silakan masuk terlebih dahulu.")
    if not who.has("operator"):
        raise PageError(403, "Tidak diizinkan", "Perbandingan antarkota hanya untuk tim operasi platform.")
    client = api(request)
    slugs = sorted(all_cities())
    form = {"dari": dari, "sampai": sampai}
    try:
        reports = await asyncio.gather(*(client.get("learning", f"/cities/{s}/admin/reports/evaluation",
                                                    token=token, params=_params(dari, sampai, ""))
                                         for s in slugs))
    except ApiError as exc:
        if exc.status != 422:
            raise
        reports = await asyncio.gather(*(client.get("learning", f"/cities/{s}/admin/reports/evaluation",
                                                    token=token) for s in slugs))
        return _compare(request, slugs, list(reports), form, _errors(exc), 422)
    return _compare(request, slugs, list(reports), form, {}, 200)


def _compare(request: Request, slugs: list[str], reports: list[dict[str, Any]], form: dict[str, str],
             errors: dict[str, str], status: int) -> Response:
    cities: list[dict[str, Any]] = [{"slug": s, "name": all_cities()[s].name, "report": r}
                                    for s, r in zip(slugs, reports, strict=True)]
    # a style row per (city, style): the styles are what the cities did, so "Cimahi-style" is Cimahi's
    # in-person row and "Tegal-style" Tegal's webinar row — shown with every style each city ran
    style_rows = [{"city": c["name"], "style": s["key"], **s} for c in cities for s in c["report"]["by_style"]]
    cohorts = [{"city": c["name"], **k} for c in cities for k in c["report"].get("cohorts", [])]
    svg = charts.grouped_funnel("Corong per kota dan gaya", [
        (f"{r['city']} · {STYLE_LABELS.get(r['style'], r['style'])}", [int(r["counts"][k]) for k in STEPS])
        for r in style_rows], [STEP_LABELS[k] for k in STEPS])
    return render(request, "evaluation_compare.html", {
        **NAMES, "cities_side": cities, "style_rows": style_rows, "cohorts": cohorts, "steps": STEPS,
        "step_labels": STEP_LABELS, "style_labels": STYLE_LABELS, "svg": svg, "form": form, "errors": errors},
        status_code=status)
