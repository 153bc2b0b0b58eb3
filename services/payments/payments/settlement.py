"""Reconciliation: per vendor and local day (the city's time zone), paid, refunded, fees and net — all read
off the ledger's postings — plus every mismatch between the acquirer's notifications and our intents, and
the extra payments returned.

Pure: ``queries.settlement`` loads the day's rows, ``report`` adds them up, ``to_csv`` renders."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from payments.ledger import OTHER
from shared.cities import City


def day_bounds(city: City, day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=city.tz)
    return start, start + timedelta(days=1)


def report(city: City, day: date, payee_rows: Sequence[Mapping[str, Any]], refund_rows: Sequence[Mapping[str, Any]],
           mismatch_rows: Sequence[Mapping[str, Any]], names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``payee_rows``: the day's postings on vendor payables and delivery fees, summed per (vendor id or
    ``_other``, entry kind) with their count."""
    names = names or {}
    vendors: dict[str, dict[str, int]] = defaultdict(lambda: {"paid": 0, "refunded": 0, "fees": 0, "payments": 0,
                                                              "refunds": 0, "paid_out": 0})
    for r in payee_rows:
        t, amount, n = vendors[r["vendor_id"]], int(r["amount"]), int(r["n"])
        if r["kind"] == "payment_received":
            t["paid"] -= amount
            t["payments"] += n
        elif r["kind"] == "refund_decided":
            t["refunded"] += amount
            t["refunds"] += n
        elif r["kind"] == "mdr_fee":
            t["fees"] += amount
        elif r["kind"] == "payout_instructed":
            t["paid_out"] += amount
    returned = []
    for r in refund_rows:  # the vendors' refunds are in the postings; these are the extra payments returned
        if not r["counts_for_vendors"]:
            returned.append({"refund_id": str(r["refund_id"]), "payment_id": str(r["payment_id"]),
                             "order_id": r["order_id"], "amount": r["amount"], "reason": r["reason"],
                             "notification_id": r["notification_id"], "at": r["created_at"].isoformat()})
    rows: list[dict[str, Any]] = [
        {"vendor_id": v, "name": "Ongkos kirim" if v == OTHER else names.get(v), "date": day.isoformat(),
         "paid": t["paid"], "refunded": t["refunded"], "fees": t["fees"], "net": t["paid"] - t["refunded"] - t["fees"],
         "payments": t["payments"], "refunds": t["refunds"], "paid_out": t["paid_out"]}
        for v, t in sorted(vendors.items())]
    totals: dict[str, int] = {k: sum(int(r[k]) for r in rows) for k in ("paid", "refunded", "fees", "paid_out")}
    totals["net"] = totals["paid"] - totals["refunded"] - totals["fees"]
    totals["returned_extra_payments"] = sum(int(r["amount"]) for r in returned)
    mismatches = [{"id": m["id"], "kind": m["kind"], "notification_id": m["notification_id"],
                   "payment_id": str(m["payment_id"]) if m["payment_id"] else None, "order_id": m["order_id"],
                   "bill_number": m["bill_number"], "expected": m["expected"], "notified": m["notified"],
                   "acquirer_reference": m["acquirer_reference"], "detail": m["detail"],
                   "at": m["created_at"].isoformat()} for m in mismatch_rows]
    return {"city": city.slug, "date": day.isoformat(), "timezone": city.timezone, "vendors": rows,
            "totals": totals, "returned_payments": returned, "mismatches": mismatches}


CSV_COLUMNS = ["record", "date", "vendor_id", "paid", "refunded", "net", "name", "fees", "paid_out", "payments",
               "refunds", "kind",
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
