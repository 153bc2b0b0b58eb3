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
