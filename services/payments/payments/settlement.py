"""Reconciliation: per vendor and local day (the city's time zone), paid, refunded and net, plus every
mismatch between the acquirer's notifications and our intents, and the extra payments returned.

Pure: ``queries.settlement`` loads the day's rows, ``report`` adds them up, ``to_csv`` renders."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from payments.domain import allocation
from shared.cities import City


def day_bounds(city: City, day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=city.tz)
    return start, start + timedelta(days=1)


def report(city: City, day: date, paid_rows: Sequence[Mapping[str, Any]], refund_rows: Sequence[Mapping[str, Any]],
           mismatch_rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    vendors: dict[str, dict[str, int]] = defaultdict(lambda: {"paid": 0, "refunded": 0, "payments": 0,
                                                              "refunds": 0})
    for r in paid_rows:
        for vendor, amount in allocation(r["amount"], r["vendor_amounts"]).items():
            vendors[vendor]["paid"] += amount
            vendors[vendor]["payments"] += 1
    returned = []
    for r in refund_rows:
        if r["counts_for_vendors"]:
            for vendor, amount in r["vendor_amounts"].items():
                vendors[vendor]["refunded"] += int(amount)
                vendors[vendor]["refunds"] += 1
        else:
            returned.append({"refund_id": str(r["refund_id"]), "payment_id": str(r["payment_id"]),
                             "order_id": r["order_id"], "amount": r["amount"], "reason": r["reason"],
                             "notification_id": r["notification_id"], "at": r["created_at"].isoformat()})
    rows: list[dict[str, Any]] = [
        {"vendor_id": v, "date": day.isoformat(), "paid": t["paid"], "refunded": t["refunded"],
         "net": t["paid"] - t["refunded"], "payments": t["payments"], "refunds": t["refunds"]}
        for v, t in sorted(vendors.items())]
    totals: dict[str, int] = {"paid": sum(int(r["paid"]) for r in rows),
                              "refunded": sum(int(r["refunded"]) for r in rows)}
    totals["net"] = totals["paid"] - totals["refunded"]
    totals["returned_extra_payments"] = sum(int(r["amount"]) for r in returned)
    mismatches = [{"id": m["id"], "kind": m["kind"], "notification_id": m["notification_id"],
                   "payment_id": str(m["payment_id"]) if m["payment_id"] else None, "order_id": m["order_id"],
                   "bill_number": m["bill_number"], "expected": m["expected"], "notified": m["notified"],
                   "acquirer_reference": m["acquirer_reference"], "detail": m["detail"],
                   "at": m["created_at"].isoformat()} for m in mismatch_rows]
    return {"city": city.slug, "date": day.isoformat(), "timezone": city.timezone, "vendors": rows,
            "totals": totals, "returned_payments": returned, "mismatches": mismatches}


CSV_COLUMNS = ["record", "date", "vendor_id", "paid", "refunded", "net", "payments", "refunds", "kind",
               "payment_id", "order_id", "bill_number", "expected", "notified", "amount", "acquirer_reference", "at"]


def to_csv(report: dict[str, Any]) -> str:
    """One table; ``record`` says what a row is: vendor, total, returned_payment or mismatch."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in report["vendors"]:
        writer.writerow({"record": "vendor", **row})
    writer.writerow({"record": "total", "date": report["date"], **report["totals"]})
    for r in report["returned_payments"]:
        writer.writerow({"record": "returned_payment", "date": report["date"], "kind": r["reason"], **r})
    for m in report["mismatches"]:
        writer.writerow({"record": "mismatch", "date": report["date"], **m})
    return out.getvalue()
