"""The pure parts of the evaluation report: strict funnel, rates, repeat windows, medians, cohorts, ranges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from learning import evaluation as ev
from shared.errors import Invalid

T0 = datetime(2026, 9, 1, 3, tzinfo=UTC)


def journey(pid: str, *, style: str = "in_person", attended: bool = True, cert: date | None = date(2026, 9, 1),
            onboarded: bool = True, sales_days: tuple[int, ...] = (), programme: str = "p1",
            enrolled_on: date = date(2026, 8, 20)) -> ev.Journey:
    return ev.Journey(pid, programme, "Prog", style, "pkk", "Cibabat", "05", enrolled_on, True, attended, cert,
                      onboarded, tuple(ev.Sale(f"{pid}-o{d}", T0 + timedelta(days=d), 10_000) for d in sales_days))


def test_strict_funnel_rates_and_counts_behind_them() -> None:
    s = ev.summarise([journey("a", sales_days=(2, 20)), journey("b", sales_days=(5, 50)),
                      journey("c", sales_days=(10,)), journey("d", onboarded=False),
                      journey("e", attended=False, cert=None)])
    assert s["counts"] == {"enrolled": 5, "attended": 4, "certified": 4, "onboarded": 3, "first_sale": 3,
                           "repeat_30d": 1, "repeat_60d": 2, "repeat_90d": 2}
    assert s["rates"]["attended"] == 0.8 and s["rates"]["onboarded"] == 0.75
    assert s["rates"]["repeat_30d"] == round(1 / 3, 4)     # repeats are against first sale
    assert s["median_days_certificate_to_first_sale"] == 5.0
    assert s["sales_orders"] == 5 and s["sales_value"] == 50_000


def test_a_sale_before_the_certificate_or_a_skipped_step_does_not_count() -> None:
    s = ev.summarise([journey("a", sales_days=(-3,)), journey("b", onboarded=False, sales_days=(1,))])
    assert s["counts"]["first_sale"] == 0 and s["sales_value"] == 0
    assert s["median_days_certificate_to_first_sale"] is None


def test_one_person_in_two_programmes_counts_once_with_the_earliest_certificate() -> None:
    s = ev.summarise([journey("a", programme="p1", cert=date(2026, 9, 10), sales_days=(12,)),
                      journey("a", programme="p2", cert=date(2026, 9, 1))])
    assert s["counts"]["enrolled"] == 1 and s["median_days_certificate_to_first_sale"] == 12.0


def test_rates_of_nobody_are_none_not_zero() -> None:
    assert ev.rate(0, 0) is None and ev.median([]) is None and ev.median([1, 2, 3, 10]) == 2.5


def test_cohorts_by_month_of_earliest_certificate_per_style() -> None:
    c = ev.cohorts([journey("a", cert=date(2026, 8, 30)), journey("a", programme="p2", cert=date(2026, 9, 2)),
                    journey("b", cert=date(2026, 9, 3)), journey("c", style="webinar", cert=date(2026, 9, 3)),
                    journey("d", cert=None)])
    assert [(x["style"], x["month"], x["counts"]["certified"]) for x in c] == [
        ("in_person", "2026-08", 1), ("in_person", "2026-09", 1), ("webinar", "2026-09", 1)]


def test_comparison_per_vendor() -> None:
    c = ev.comparison([("v1", 3, 30_000), ("v2", 1, 10_000)], [("v3", 1, 5_000)])
    assert c["trained"] == {"vendors": 2, "orders": 4, "sales_value": 40_000, "orders_per_vendor": 2.0,
                            "sales_value_per_vendor": 20_000}
    assert ev.comparison([], [])["never_trained"]["orders_per_vendor"] is None


@pytest.mark.parametrize(("a", "b", "code"), [(date(2026, 2, 1), date(2026, 1, 1), "date-range-backwards"),
                                              (date(2023, 1, 1), date(2025, 6, 1), "date-range-too-long")])
def test_bad_ranges(a: date, b: date, code: str) -> None:
    with pytest.raises(Invalid) as e:
        ev.check_range(a, b)
    assert e.value.code == code


def test_report_and_csv_have_every_dimension() -> None:
    rep = ev.report([journey("a", sales_days=(1, 2)), journey("b", style="webinar")], programmes={"p1": "Prog"})
    rows = ev.csv_rows("cimahi", rep)
    assert rows[0] == ev.CSV_HEADER
    assert {r[1] for r in rows[1:]} == {"total", "style", "programme", "group", "kelurahan", "rw", "cohort"}
