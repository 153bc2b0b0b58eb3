"""Reconciliation with the acquirer's daily settlement file. Pure: parse, compare, render.

The file (what the simulator produces and a real acquirer's export is mapped to) is CSV, UTF-8, with the
header ``reference,amount,fee,time``: one row per payment the acquirer settled for the city's merchant of
record — its reference (our ``acquirer_reference``), the amount and the MDR fee in whole rupiah, and the
payment time (ISO 8601 with an offset). A bad header, a bad row or a reference twice refuses the whole file
(rows named); nothing is stored for it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.errors import Invalid

HEADER = ["reference", "amount", "fee", "time"]
MAX_ROWS = 200_000


@dataclass(frozen=True)
class SettledPayment:
    reference: str
    amount: int
    fee: int
    time: datetime


def _bad_file(errors: list[str]) -> Invalid:
    shown = "; ".join(errors[:20]) + (f"; … {len(errors) - 20} more" if len(errors) > 20 else "")
    return Invalid("bad-settlement-file", f"Berkas settlement ditolak: {shown}. / Settlement file refused: {shown}.",
                   errors=errors[:200])


def parse_file(text: str) -> list[SettledPayment]:
    """The file's rows, or :class:`Invalid` naming every bad row (line numbers as a spreadsheet shows them)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header] != HEADER:
        raise _bad_file([f"baris 1: header harus '{','.join(HEADER)}' / line 1: the header must be "
                         f"'{','.join(HEADER)}', got {','.join(header or [])!r}"])
    rows: list[SettledPayment] = []
    errors: list[str] = []
    first_line: dict[str, int] = {}
    for number, cells in enumerate(reader, start=2):
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(rows) + len(errors) >= MAX_ROWS:
            errors.append(f"more than {MAX_ROWS} rows")
            break
        if len(cells) != len(HEADER):
            errors.append(f"line {number}: {len(cells)} columns, expected {len(HEADER)}")
            continue
        reference, amount, fee, when = (c.strip() for c in cells)
        problems = []
        if not reference or len(reference) > 64:
            problems.append("reference empty or longer than 64")
        if not amount.isdigit() or int(amount) < 1:
            problems.append(f"amount {amount!r} is not whole rupiah ≥ 1")
        if not fee.isdigit():
            problems.append(f"fee {fee!r} is not whole rupiah ≥ 0")
        try:
            at = datetime.fromisoformat(when)
            if at.tzinfo is None:
                problems.append(f"time {when!r} has no UTC offset")
        except ValueError:
            problems.append(f"time {when!r} is not ISO 8601")
        if reference in first_line:
            problems.append(f"reference {reference!r} already on line {first_line[reference]}")
        if problems:
            errors.append(f"line {number}: " + ", ".join(problems))
            continue
        first_line[reference] = number
        rows.append(SettledPayment(reference, int(amount), int(fee), at))
    if errors:
        raise _bad_file(errors)
    return rows


def reconcile(theirs: Sequence[SettledPayment], ours: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Compare the acquirer's rows with the payments we received (``ours``: acquirer reference → row with
    ``amount``, ``fee``, ``order_id``, ``payment_id``, ``outcome``)."""
    matched: list[dict[str, Any]] = []
    differs: list[dict[str, Any]] = []
    missing_ours: list[dict[str, Any]] = []
    seen = set()
    for row in theirs:
        mine = ours.get(row.reference)
        if mine is None:
            missing_ours.append({"reference": row.reference, "amount": row.amount, "fee": row.fee,
                                 "time": row.time.isoformat()})
            continue
        seen.add(row.reference)
        item = {"reference": row.reference, "order_id": mine["order_id"], "payment_id": str(mine["payment_id"]),
                "outcome": mine["outcome"], "amount": row.amount, "our_amount": int(mine["amount"]),
                "fee": row.fee, "our_fee": int(mine["fee"] or 0)}
        (matched if item["amount"] == item["our_amount"] and item["fee"] == item["our_fee"] else differs).append(item)
    missing_theirs = [{"reference": ref, "order_id": m["order_id"], "payment_id": str(m["payment_id"]),
                       "outcome": m["outcome"], "our_amount": int(m["amount"])}
                      for ref, m in sorted(ours.items()) if ref not in seen]
    return {"matched": len(matched), "differences": len(differs) + len(missing_ours) + len(missing_theirs),
            "amount_differs": differs, "missing_on_our_side": missing_ours, "missing_on_theirs": missing_theirs,
            "totals": {"theirs": sum(r.amount for r in theirs), "ours": sum(int(m["amount"]) for m in ours.values()),
                       "fees_theirs": sum(r.fee for r in theirs)}}


def settlement_file(rows: Sequence[Mapping[str, Any]]) -> str:
    """The file for (reference, amount, fee, paid_at) rows: what the simulator hands out."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for r in rows:
        writer.writerow([r["acquirer_reference"], r["amount"], r["fee"], r["paid_at"].isoformat()])
    return out.getvalue()


REPORT_COLUMNS = ["kind", "reference", "order_id", "payment_id", "amount", "our_amount", "fee", "our_fee", "time"]


def report_csv(report: Mapping[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, REPORT_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for kind in ("amount_differs", "missing_on_our_side", "missing_on_theirs"):
        for row in report[kind]:
            writer.writerow({"kind": kind, **row})
    return out.getvalue()
