"""Programme evaluation on the real stack: the report's counts and rates against a SQL recount over learning's
projections of the events, filters, bad input, other city / operator, JSON and CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import Platform

pytestmark = pytest.mark.integration

# The strict funnel recounted straight from the tables (independently of learning.evaluation's Python).
RECOUNT = """
WITH people AS (
  SELECT e.participant_id,
         bool_or(e.status <> 'cancelled') AS enrolled,
         bool_or(e.status = 'attended') AS attended
  FROM learning.enrolments e JOIN learning.programmes pr USING (programme_id)
  WHERE e.city = $1 AND ($2::text IS NULL OR pr.style = $2) GROUP BY e.participant_id),
cert AS (
  SELECT c.participant_id, min(c.issued_on) AS on_day FROM learning.certificates c
  JOIN learning.programmes pr USING (programme_id)
  JOIN learning.enrolments e ON e.participant_id = c.participant_id AND e.programme_id = c.programme_id
  WHERE c.city = $1 AND ($2::text IS NULL OR pr.style = $2) GROUP BY c.participant_id),
links AS (
  SELECT p.participant_id, p.vendor_id FROM learning.participants p WHERE p.city = $1 AND p.vendor_id IS NOT NULL
  UNION SELECT l.participant_id, l.vendor_id FROM learning.vendor_links l WHERE l.city = $1
        AND l.participant_id IS NOT NULL),
onb AS (
  SELECT DISTINCT k.participant_id FROM links k JOIN learning.vendor_links v USING (vendor_id)
  WHERE v.activated_at IS NOT NULL),
sold AS (
  SELECT k.participant_id, count(DISTINCT s.order_id) AS n FROM links k
  JOIN learning.vendor_sales s USING (vendor_id) JOIN cert c USING (participant_id)
  WHERE (s.sold_at AT TIME ZONE 'UTC')::date >= c.on_day GROUP BY k.participant_id)
SELECT count(*) FILTER (WHERE p.enrolled) AS enrolled,
       count(*) FILTER (WHERE p.enrolled AND p.attended) AS attended,
       count(*) FILTER (WHERE p.enrolled AND p.attended AND c.on_day IS NOT NULL) AS certified,
       count(*) FILTER (WHERE p.enrolled AND p.attended AND c.on_day IS NOT NULL AND o.participant_id IS NOT NULL)
         AS onboarded,
       count(*) FILTER (WHERE p.enrolled AND p.attended AND c.on_day IS NOT NULL AND o.participant_id IS NOT NULL
                        AND s.n > 0) AS first_sale
FROM people p LEFT JOIN cert c USING (participant_id) LEFT JOIN onb o USING (participant_id)
LEFT JOIN sold s USING (participant_id)
"""


async def _recount(platform: Platform, city: str, style: str | None) -> dict[str, int]:
    from deploy.provision import DATABASE_NAME, admin_on_database

    conn = await asyncpg.connect(admin_on_database(platform.infra.admin_url, DATABASE_NAME))
    try:
        return dict(await conn.fetchrow(RECOUNT, city, style))
    finally:
        await conn.close()


async def _report(client: httpx.AsyncClient, platform: Platform, city: str, headers: dict[str, str],
                  **params: str) -> httpx.Response:
    return await client.get(f"{platform.url('learning')}/cities/{city}/admin/reports/evaluation",
                            headers=headers, params=params)


async def test_rates_match_a_sql_recount_per_city_and_style(platform: Platform) -> None:
    operator = platform.headers("cimahi", "operator")
    async with httpx.AsyncClient(timeout=60) as client:
        for city in ("cimahi", "tegal"):
            r = await _report(client, platform, city, operator)
            assert r.status_code == 200, r.text
            body: dict[str, Any] = r.json()
            styles = [None, *(e["key"] for e in body["by_style"])]
            for style in styles:
                part = body["total"] if style is None else next(e for e in body["by_style"] if e["key"] == style)
                expected = await _recount(platform, city, style)
                got = {k: part["counts"][k] for k in expected}
                print(city, style or "all", got)
                assert got == expected
                c = part["counts"]
                if c["enrolled"]:
                    assert part["rates"]["attended"] == round(c["attended"] / c["enrolled"], 4)
                assert c["enrolled"] > 0 and c["certified"] > 0, (city, style)
            assert body["cohorts"], "certified participants fall into monthly cohorts"
            assert set(body["comparison"]) == {"trained", "never_trained"}


async def test_filters_csv_and_bad_input(platform: Platform) -> None:
    admin = platform.headers("cimahi", "city_admin")
    async with httpx.AsyncClient(timeout=60) as client:
        body = (await _report(client, platform, "cimahi", admin)).json()
        programme = body["by_programme"][0]
        r = await _report(client, platform, "cimahi", admin, programme=programme["key"])
        assert r.status_code == 200
        assert r.json()["total"]["counts"] == {k: programme["counts"][k]
                                               for k in programme["counts"]}
        future = (date.today() + timedelta(days=400)).isoformat()
        r = await _report(client, platform, "cimahi", admin, **{"from": future})
        assert r.json()["total"]["counts"]["enrolled"] == 0

        r = await _report(client, platform, "cimahi", admin, format="csv")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(r.text)))
        assert rows[0][:4] == ["city", "dimension", "key", "enrolled"]
        assert rows[1][1:3] == ["total", "all"] and int(rows[1][3]) == body["total"]["counts"]["enrolled"]

        bad = [({"from": "2026-05-01", "to": "2026-04-01"}, 422, "date-range-backwards"),
               ({"from": "2022-01-01", "to": "2025-01-01"}, 422, "date-range-too-long"),
               ({"programme": "no-such-programme"}, 404, "programme-not-found"),
               ({"from": "kemarin"}, 422, None), ({"programme": "x" * 5000}, 422, None),
               ({"programme": "a\x00b"}, 422, None), ({"style": "telepati"}, 422, None)]
        for params, status, code in bad:
            r = await _report(client, platform, "cimahi", admin, **params)
            assert r.status_code == status, (params, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            if code:
                assert r.json()["type"].endswith("/" + code)
        # a city admin of Cimahi may not see Tegal; a vendor sees nothing; an operator sees both
        r = await _report(client, platform, "tegal", admin)
        assert r.status_code == 403 and r.json()["type"].endswith("/other-city")
        r = await _report(client, platform, "cimahi", platform.headers("cimahi", "vendor", vendor_id="v1"))
        assert r.status_code == 403
        r = await _report(client, platform, "tegal", platform.headers("cimahi", "operator"))
        assert r.status_code == 200


async def test_demo_history_gives_both_styles_non_zero_counts_at_every_step(platform: Platform) -> None:
    """What `make up` does after the seed (deploy/commands/history.py), then the comparison's every step."""
    import asyncio
    import time

    from deploy.commands.history import SalesHistory

    urls = {s: platform.url(s) for s in ("catalog", "orders", "payments")}

    def token(city: str, *, roles: list[str], sub: str, **claims: Any) -> dict[str, str]:
        return platform.headers(city, roles[0], sub=sub, **claims)

    started = time.monotonic()
    sold = await asyncio.to_thread(SalesHistory(urls, token, out=print).run, ["cimahi", "tegal"])
    print(f"demo sales history: {sold} in {time.monotonic() - started:.1f}s")
    again = time.monotonic()
    assert await asyncio.to_thread(SalesHistory(urls, token, out=print).run, ["cimahi", "tegal"]) == sold
    print(f"second run (idempotent): {time.monotonic() - again:.1f}s")
    operator = platform.headers("cimahi", "operator")
    async with httpx.AsyncClient(timeout=60) as client:
        for city, style in (("cimahi", "in_person"), ("tegal", "webinar")):
            async def complete(city: str = city, style: str = style) -> dict[str, Any] | None:
                body = (await _report(client, platform, city, operator)).json()
                part = next(e for e in body["by_style"] if e["key"] == style)
                return body if all(part["counts"][k] > 0 for k in ("first_sale", "repeat_30d")) else None

            from tests.conftest import eventually
            body = await eventually(complete, timeout=60, interval=1, what=f"{city} sales projected")
            part = next(e for e in body["by_style"] if e["key"] == style)
            print(city, style, part["counts"], part["rates"])
            assert all(v > 0 for v in part["counts"].values()), part["counts"]
            expected = await _recount(platform, city, style)
            assert {k: part["counts"][k] for k in expected} == expected
            assert body["comparison"]["never_trained"]["orders"] > 0


def test_portal_evaluation_pages_and_screenshots(platform: Platform) -> None:
    """The comparison (operator only), the city evaluation, the dashboard and the price page at 360 px; the
    screenshots go to test-artifacts/ (docs/img/ with PASARKOTA_UPDATE_DOCS=1)."""
    import os
    from pathlib import Path

    base = platform.url("portal")
    operator = platform.token("cimahi", "operator", sub="eval-operator")
    admin = platform.token("cimahi", "city_admin", sub="eval-admin")
    with httpx.Client(base_url=base, timeout=60) as web:
        r = web.get("/evaluasi", cookies={"pk_token": operator})
        assert r.status_code == 200, r.text[:500]
        assert "Cimahi" in r.text and "Tegal" in r.text and "Webinar" in r.text and "Tatap muka" in r.text
        r = web.get("/evaluasi", cookies={"pk_token": admin})
        assert r.status_code == 403
        r = web.get("/evaluasi", params={"dari": "2026-05-01", "sampai": "2026-04-01"},
                    cookies={"pk_token": operator})
        assert r.status_code == 422 and 'id="f-sampai"' in r.text and "2026-04-01" in r.text
        r = web.get("/kota/cimahi/evaluasi", cookies={"pk_token": admin})
        assert r.status_code == 200 and "Kohort per bulan sertifikat" in r.text
        r = web.get("/kota/cimahi/evaluasi", params={"program": "tidak-ada"}, cookies={"pk_token": admin})
        assert r.status_code == 404 and 'class="error"' in r.text
        r = web.get("/kota/tegal/evaluasi", cookies={"pk_token": admin})
        assert r.status_code == 403
        r = web.get("/kota/cimahi/evaluasi.csv", cookies={"pk_token": admin})
        assert r.status_code == 200 and r.text.startswith("city,dimension,key,enrolled")

    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("no chromium for the screenshots")
    from playwright.sync_api import sync_playwright

    root = Path(__file__).resolve().parents[2]
    shots = root / ("docs/img" if os.environ.get("PASARKOTA_UPDATE_DOCS") == "1" else "test-artifacts/screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    host = base.split("//", 1)[1].split(":")[0]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                     args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            for name, path, token in (("evaluation-compare", "/evaluasi", operator),
                                      ("evaluation-city", "/kota/cimahi/evaluasi", admin),
                                      ("dashboard", "/kota/cimahi/dasbor", admin),
                                      ("prices-city", "/kota/cimahi/harga", None)):
                context = browser.new_context(viewport={"width": 360, "height": 800}, locale="id-ID")
                if token:
                    context.add_cookies([{"name": "pk_token", "value": token, "domain": host, "path": "/"}])
                page = context.new_page()
                response = page.goto(base + path, wait_until="load")
                assert response is not None and response.status == 200, path
                page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
                context.close()
        finally:
            browser.close()
