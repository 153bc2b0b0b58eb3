"""Programme evaluation (issue #14): the strict funnel with rates, repeat sales, cohorts, a comparison group.

Pure: no IO. ``queries.evaluation_report`` loads the facts (all of them projections of events) and hands
them here. Definitions are in ``docs/evaluation.md``; in short:

- the unit is a **participant** within a group key (style, programme, participant group, RW, city); a person
  in two programmes of one style counts once for that style (their facts OR-ed, their earliest certificate);
- the funnel is **strict**: a step counts only people who also reached the step before, so every rate is
  ``count(step) / count(previous step)`` and never above 100 %;
- sales count from the day of the (earliest) certificate on: training is judged by what came after it.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from shared.errors import Invalid

STEPS = ("enrolled", "attended", "certified", "onboarded", "first_sale",
         "repeat_30d", "repeat_60d", "repeat_90d")
REPEAT_WINDOWS = {"repeat_30d": 30, "repeat_60d": 60, "repeat_90d": 90}
MAX_RANGE = timedelta(days=731)   # "over two years" is refused
DIMENSIONS = ("style", "programme", "group", "kelurahan", "rw")


@dataclass(frozen=True)
class Sale:
    order_id: str
    sold_at: datetime
    total: int          # rupiah; the order's total (0 when the event predates totals in the projection)


@dataclass(frozen=True)
class Journey:
    """One participant in one programme, as the projections know it."""

    participant_id: str
    programme_id: str
    programme_title: str
    style: str
    group: str
    kelurahan: str | None
    rw: str | None
    enrolled_on: date
    enrolled: bool
    attended: bool
    certified_on: date | None
    onboarded: bool
    sales: tuple[Sale, ...] = ()


def check_range(date_from: date | None, date_to: date | None) -> None:
    """A backwards range or one over two years is bad input (the field is named)."""
    if date_from and date_to and date_to < date_from:
        raise Invalid("date-range-backwards", "Tanggal 'to' sebelum 'from'. / 'to' is before 'from'.",
                      field="to")
    if date_from and date_to and date_to - date_from > MAX_RANGE:
        raise Invalid("date-range-too-long",
                      "Rentang tanggal paling lama dua tahun. / The date range may span at most two years.",
                      field="to")


def in_range(day: date, date_from: date | None, date_to: date | None) -> bool:
    return (date_from is None or day >= date_from) and (date_to is None or day <= date_to)


def median(values: Iterable[float]) -> float | None:
    """The median, or None for no values (a median of nothing is not zero)."""
    ordered = sorted(values)
    return float(statistics.median(ordered)) if ordered else None


def rate(numerator: int, denominator: int) -> float | None:
    """A share rounded to four places; None when there is nobody to divide by."""
    return round(numerator / denominator, 4) if denominator else None


def repeated_within(sales: Iterable[Sale], days: int) -> bool:
    """A second completed sale (another order) no later than ``days`` after the first one."""
    ordered = sorted(sales, key=lambda s: s.sold_at)
    return len(ordered) >= 2 and ordered[1].sold_at - ordered[0].sold_at <= timedelta(days=days)


@dataclass
class _Person:
    enrolled: bool = False
    attended: bool = False
    certified_on: date | None = None
    onboarded: bool = False
    sales: dict[str, Sale] = field(default_factory=dict)

    def merge(self, j: Journey) -> None:
        self.enrolled |= j.enrolled
        self.attended |= j.attended
        if j.certified_on and (self.certified_on is None or j.certified_on < self.certified_on):
            self.certified_on = j.certified_on
        self.onboarded |= j.onboarded
        for s in j.sales:
            self.sales[s.order_id] = s

    def sales_after_certificate(self) -> list[Sale]:
        if self.certified_on is None:
            return []
        return sorted((s for s in self.sales.values() if s.sold_at.date() >= self.certified_on),
                      key=lambda s: s.sold_at)

    def steps(self) -> dict[str, bool]:
        reached: dict[str, bool] = {}
        sales = self.sales_after_certificate()
        facts = {"enrolled": self.enrolled, "attended": self.attended, "certified": self.certified_on is not None,
                 "onboarded": self.onboarded, "first_sale": bool(sales),
                 **{k: repeated_within(sales, d) for k, d in REPEAT_WINDOWS.items()}}
        previous = True
        for step in STEPS:
            # strict: each repeat window needs the first sale (not the shorter window: 60 d includes 30 d)
            need = reached.get("first_sale", False) if step in REPEAT_WINDOWS else previous
            reached[step] = bool(facts[step]) and need
            if step not in REPEAT_WINDOWS:
                previous = reached[step]
        return reached


def summarise(journeys: Iterable[Journey]) -> dict[str, object]:
    """Counts, rates (each against the step before; repeats against first sale), median days certificate →
    first sale, and the sales (orders, rupiah) of the group's trained vendors after their certificate."""
    people: dict[str, _Person] = {}
    for j in journeys:
        people.setdefault(j.participant_id, _Person()).merge(j)
    counts = dict.fromkeys(STEPS, 0)
    days: list[float] = []
    orders: dict[str, int] = {}
    for person in people.values():
        reached = person.steps()
        for step in STEPS:
            counts[step] += reached[step]
        sales = person.sales_after_certificate()
        if reached["first_sale"] and person.certified_on is not None:
            days.append((sales[0].sold_at.date() - person.certified_on).days)
            for s in sales:
                orders[s.order_id] = s.total
    rates: dict[str, float | None] = {}
    for i, step in enumerate(STEPS[1:], start=1):
        base = "first_sale" if step in REPEAT_WINDOWS else STEPS[i - 1]
        rates[step] = rate(counts[step], counts[base])
    return {"counts": counts, "rates": rates,
            "median_days_certificate_to_first_sale": median(days),
            "sales_orders": len(orders), "sales_value": sum(orders.values())}


def _key(j: Journey, dimension: str) -> str:
    if dimension == "style":
        return j.style
    if dimension == "programme":
        return j.programme_id
    if dimension == "group":
        return j.group
    if dimension == "kelurahan":
        return j.kelurahan or "-"
    return f"{j.kelurahan or '-'} RW {j.rw or '-'}"


def cohorts(journeys: Iterable[Journey]) -> list[dict[str, object]]:
    """Certified participants by month of their earliest certificate in a style, per style."""
    journeys = list(journeys)
    earliest: dict[tuple[str, str], date] = {}
    for j in journeys:
        k = (j.style, j.participant_id)
        if j.certified_on and (k not in earliest or j.certified_on < earliest[k]):
            earliest[k] = j.certified_on
    by: dict[tuple[str, str], list[Journey]] = {}
    for j in journeys:
        first = earliest.get((j.style, j.participant_id))
        if first is not None:
            by.setdefault((j.style, first.strftime("%Y-%m")), []).append(j)
    return [{"style": style, "month": month, **summarise(group)} for (style, month), group in sorted(by.items())]


def comparison(trained: Iterable[tuple[str, int, int]], untrained: Iterable[tuple[str, int, int]]
               ) -> dict[str, object]:
    """Sales per vendor of trained vendors against never-trained ones; rows are (vendor_id, orders, rupiah)."""
    def block(rows: Iterable[tuple[str, int, int]]) -> dict[str, object]:
        rows = list(rows)
        vendors, orders, value = len(rows), sum(r[1] for r in rows), sum(r[2] for r in rows)
        return {"vendors": vendors, "orders": orders, "sales_value": value,
                "orders_per_vendor": round(orders / vendors, 2) if vendors else None,
                "sales_value_per_vendor": value // vendors if vendors else None}
    return {"trained": block(trained), "never_trained": block(untrained)}


def report(journeys: list[Journey], *, programmes: dict[str, str]) -> dict[str, object]:
    """The whole report: total, one entry per key of every dimension, cohorts."""
    out: dict[str, object] = {"steps": list(STEPS), "total": summarise(journeys)}
    for dimension in DIMENSIONS:
        groups: dict[str, list[Journey]] = {}
        for j in journeys:
            groups.setdefault(_key(j, dimension), []).append(j)
        entries = []
        for key, group in sorted(groups.items()):
            entry: dict[str, object] = {"key": key, **summarise(group)}
            if dimension == "programme":
                entry["title"] = programmes.get(key, key)
                entry["style"] = group[0].style
            entries.append(entry)
        out[f"by_{dimension}"] = entries
    out["cohorts"] = cohorts(journeys)
    return out


CSV_HEADER = ["city", "dimension", "key", *STEPS, *(f"rate_{s}" for s in STEPS[1:]),
              "median_days_certificate_to_first_sale", "sales_orders", "sales_value"]


def csv_rows(city: str, rep: dict[str, object]) -> list[list[str]]:
    """The CSV download: one row per (dimension, key) and per cohort (dimension ``cohort``, key style/month)."""
    def line(dimension: str, key: str, s: dict[str, object]) -> list[str]:
        counts, rates = s["counts"], s["rates"]
        assert isinstance(counts, dict) and isinstance(rates, dict)
        med = s["median_days_certificate_to_first_sale"]
        return [city, dimension, key, *(str(counts[x]) for x in STEPS),
                *("" if rates[x] is None else str(rates[x]) for x in STEPS[1:]),
                "" if med is None else str(med), str(s["sales_orders"]), str(s["sales_value"])]

    total = rep["total"]
    assert isinstance(total, dict)
    rows = [CSV_HEADER, line("total", "all", total)]
    for dimension in DIMENSIONS:
        entries = rep[f"by_{dimension}"]
        assert isinstance(entries, list)
        rows.extend(line(dimension, str(e["key"]), e) for e in entries)
    cohort_list = rep["cohorts"]
    assert isinstance(cohort_list, list)
    rows.extend(line("cohort", f"{c['style']}/{c['month']}", c) for c in cohort_list)
    return rows
