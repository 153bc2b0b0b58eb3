"""Money right to the rupiah for every vendor, on the real stack: the ledger, payouts and reconciliation.

Intents are made by publishing OrderPaymentRequested (as orders does); refunds by RefundRequested /
OrderCancelled; payments by the acquirer simulator. What is checked is what a vendor and the city's finance
officer see over HTTP, and the postings themselves by SQL in the payments schema.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from shared.events.catalog import VendorActivated
from shared.events.orders import OrderCancelled, RefundRequested
from tests.catalog.support import admin_db_url
from tests.conftest import Platform, eventually
from tests.e2e.test_payments_webhook import CITY, Payments, publish

pytestmark = pytest.mark.integration


@pytest.fixture
def pay(platform: Platform) -> Payments:
    return Payments(platform)


def vendor_ids() -> tuple[str, str]:
    return f"v-{uuid.uuid4().hex[:8]}", f"v-{uuid.uuid4().hex[:8]}"


async def balance(pay: Payments, vendor_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        r = await client.get(f"{pay.base}/cities/{CITY}/vendors/{vendor_id}/balance",
                             headers=pay.p.headers(CITY, "vendor", vendor_id=vendor_id))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def settled_balance(pay: Payments, vendor_id: str, expected: int) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        got = await balance(pay, vendor_id)
        return got if got["balance"] == expected else None
    try:
        return await eventually(probe, timeout=30, what=f"{vendor_id} balance {expected}")
    except AssertionError:
        raise AssertionError(f"{vendor_id}: {await balance(pay, vendor_id)} (expected balance {expected})") from None


async def postings(pay: Payments, order_id: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(admin_db_url(pay.p))
    try:
        return list(await conn.fetch(
            "SELECT e.kind, p.account, p.vendor_id, p.amount FROM payments.ledger_postings p"
            " JOIN payments.ledger_entries e USING (entry_id) WHERE e.order_id = $1 ORDER BY p.id", order_id))
    finally:
        await conn.close()


async def ledger_sum(pay: Payments) -> int:
    conn = await asyncpg.connect(admin_db_url(pay.p))
    try:
        return int(await conn.fetchval("SELECT coalesce(sum(amount), 0) FROM payments.ledger_postings"))
    finally:
        await conn.close()


async def paid_order(pay: Payments, vendor_amounts: dict[str, int], fee: int = 10_000) -> dict[str, Any]:
    intent = await pay.create(amount=sum(vendor_amounts.values()) + fee, vendor_amounts=vendor_amounts)
    await pay.simulate(intent["qris"])
    await pay.wait_status(intent["order_id"], "succeeded")
    return intent


async def test_the_vendor_who_rejected_a_line_is_not_paid_for_it(pay: Payments) -> None:
    """The issue's example: A's Rp 92.000 line rejected and refunded, B delivered Rp 37.500."""
    a, b = vendor_ids()
    intent = await paid_order(pay, {a: 92_000, b: 37_500})
    await publish(pay.p, [RefundRequested(order_id=intent["order_id"], amount=92_000, reason="line_rejected",
                                          vendor_amounts={a: 92_000})])
    await pay.wait_status(intent["order_id"], "partially_refunded")
    assert (await settled_balance(pay, a, 0))["refunds_today"] == 92_000
    got_b = await settled_balance(pay, b, 37_500)
    assert got_b["sales_today"] == 37_500 and got_b["refunds_today"] == 0
    rows = await postings(pay, intent["order_id"])
    assert sum(r["amount"] for r in rows) == 0
    by_account: dict[str, int] = {}
    for r in rows:
        key = r["vendor_id"] or r["account"]
        by_account[key] = by_account.get(key, 0) + r["amount"]
    assert by_account[a] == 0 and by_account[b] == -37_500 and by_account["delivery_fees"] == -10_000
    assert await ledger_sum(pay) == 0


async def test_cancel_after_pay_gives_every_vendor_back_exactly_their_part(pay: Payments) -> None:
    a, b = vendor_ids()
    intent = await paid_order(pay, {a: 20_000, b: 7_001})
    await publish(pay.p, [OrderCancelled(order_id=intent["order_id"], reason="buyer_cancelled", paid=True)])
    await pay.wait_status(intent["order_id"], "refunded")
    await settled_balance(pay, a, 0)
    await settled_balance(pay, b, 0)
    rows = await postings(pay, intent["order_id"])
    assert sum(r["amount"] for r in rows) == 0
    assert sum(r["amount"] for r in rows if r["account"] == "delivery_fees") == 0
    assert await ledger_sum(pay) == 0


async def test_late_and_double_payments_are_returned_without_touching_a_vendor(pay: Payments) -> None:
    a, b = vendor_ids()
    late = await pay.create(amount=15_000, vendor_amounts={a: 15_000})
    await pay.simulate(late["qris"], late=True)
    await pay.events(late["order_id"], until="PaymentRefunded")
    twice = await pay.create(amount=12_500, vendor_amounts={b: 12_500})
    await pay.simulate(twice["qris"], twice=True)
    await pay.events(twice["order_id"], until="PaymentRefunded")
    assert (await settled_balance(pay, b, 12_500))["refunds_today"] == 0
    assert (await balance(pay, a))["balance"] == 0

    async def refunds_sent() -> list[asyncpg.Record] | None:
        rows = await postings(pay, late["order_id"]) + await postings(pay, twice["order_id"])
        return rows if sum(1 for r in rows if r["account"] == "refunds_payable") == 4 else None
    rows = await eventually(refunds_sent, what="both returned payments posted and sent")
    assert {r["kind"] for r in rows} == {"returned_late_payment", "returned_duplicate_payment", "refund_sent",
                                         "payment_received"}
    assert sum(r["amount"] for r in rows if r["account"] == "refunds_payable") == 0  # the acquirer sent both
    assert not any(r["vendor_id"] == a for r in rows)
    assert await ledger_sum(pay) == 0


async def test_a_staff_refund_naming_the_vendor_is_taken_from_that_vendor(pay: Payments) -> None:
    a, b = vendor_ids()
    intent = await paid_order(pay, {a: 30_000, b: 30_000}, fee=0)
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{pay.base}/cities/{CITY}/payments/{intent['payment_id']}/refunds",
                              json={"amount": 5_000, "reason": "busuk", "vendor_amounts": {b: 5_000}},
                              headers=pay.staff)
        assert r.status_code == 201, r.text
        bad = await client.post(f"{pay.base}/cities/{CITY}/payments/{intent['payment_id']}/refunds",
                                json={"amount": 5_000, "vendor_amounts": {b: -1}}, headers=pay.staff)
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    await settled_balance(pay, a, 30_000)
    await settled_balance(pay, b, 25_000)


async def test_a_payout_run_pays_each_vendor_once(pay: Payments, platform: Platform) -> None:
    a, b = vendor_ids()
    await publish(platform, [VendorActivated(vendor_id=a, market_id="m-payout", name="Bu Sari Sayur"),
                             VendorActivated(vendor_id=b, market_id="m-payout", name="Pak Dedi Telur")])
    await paid_order(pay, {a: 40_000, b: 11_000})
    await settled_balance(pay, a, 40_000)
    day = datetime.now(UTC).astimezone(pay_tz()).date()
    staff = pay.staff
    async with httpx.AsyncClient() as client:
        account = await client.put(f"{pay.base}/cities/{CITY}/vendors/{a}/payout-account",
                                   json={"bank_code": "BRI", "account_number": "0123456789",
                                         "account_name": "SARI WULANDARI"},
                                   headers=platform.headers(CITY, "vendor", vendor_id=a))
        assert account.status_code == 200, account.text
        other = await client.put(f"{pay.base}/cities/{CITY}/vendors/{a}/payout-account",
                                 json={"bank_code": "BRI", "account_number": "999999", "account_name": "X"},
                                 headers=platform.headers(CITY, "vendor", vendor_id=b))
        assert other.status_code == 404
        first = await client.post(f"{pay.base}/cities/{CITY}/payout-runs", json={"date": day.isoformat()},
                                  headers=staff)
        second = await client.post(f"{pay.base}/cities/{CITY}/payout-runs", json={"date": day.isoformat()},
                                   headers=staff)
        future = await client.post(f"{pay.base}/cities/{CITY}/payout-runs",
                                   json={"date": (day + timedelta(days=2)).isoformat()}, headers=staff)
        sheet = await client.get(f"{pay.base}/cities/{CITY}/payout-runs/{day.isoformat()}",
                                 params={"format": "csv"}, headers=staff)
        forbidden = await client.post(f"{pay.base}/cities/{CITY}/payout-runs", json={},
                                      headers=platform.headers(CITY, "vendor", vendor_id=a))
    assert first.status_code in (200, 201), first.text
    assert future.status_code == 422 and forbidden.status_code == 403
    assert second.status_code == 200 and second.json()["created"] is False and second.json()["new_payouts"] == 0
    run = second.json()["run"]
    mine = {p["vendor_id"]: p for p in run["payouts"] if p["vendor_id"] in (a, b)}
    if first.status_code == 201:  # this test made the day's run: both vendors are in it
        assert mine[a]["amount"] == 40_000 and mine[a]["name"] == "Bu Sari Sayur"
        assert mine[b]["amount"] == 11_000 and mine[b]["name"] == "Pak Dedi Telur"
        assert len({p["vendor_id"] for p in run["payouts"]}) == len(run["payouts"])  # one per vendor
        assert f"BRI,0123456789,SARI WULANDARI,40000,IDR,{mine[a]['payout_id']},Bu Sari Sayur,{a}" in sheet.text
        after = await balance(pay, a)
        assert after["balance"] == 0 and after["payouts"][0]["amount"] == 40_000
        async with httpx.AsyncClient() as client:
            paid = [await client.post(f"{pay.base}/cities/{CITY}/payouts/{mine[a]['payout_id']}/paid",
                                      json={"bank_reference": "BRI-TRX-1"}, headers=staff) for _ in range(2)]
        assert [p.json()["status"] for p in paid] == ["paid", "paid"]
        kinds = [r["kind"] for r in await payout_postings(pay, mine[a]["payout_id"])]
        assert kinds.count("payout_paid") == 2  # one entry of two postings: never twice
    assert await ledger_sum(pay) == 0


def pay_tz() -> Any:
    from shared.cities import get_city
    return get_city(CITY).tz


async def payout_postings(pay: Payments, payout_id: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(admin_db_url(pay.p))
    try:
        return list(await conn.fetch(
            "SELECT e.kind, p.amount FROM payments.ledger_postings p JOIN payments.ledger_entries e USING (entry_id)"
            " WHERE e.payout_id = $1", uuid.UUID(payout_id)))
    finally:
        await conn.close()


async def test_the_simulators_settlement_file_reconciles_and_an_edited_one_lists_each_difference(
        pay: Payments) -> None:
    # a day of its own (payments replayed at a past time), so other tests' payments are not in it
    day = date(2020, 1, 1) + timedelta(days=uuid.uuid4().int % 2000)
    at = datetime(day.year, day.month, day.day, 3, 0, tzinfo=UTC)  # 10:00 WIB
    a, _ = vendor_ids()
    intents = [await pay.create(amount=amount, vendor_amounts={a: amount}) for amount in (10_000, 20_000, 600_000)]
    for intent in intents:
        await pay.simulate(intent["qris"], paid_at=at.isoformat())
    for intent in intents:
        await pay.wait_status(intent["order_id"], "succeeded")
    async with httpx.AsyncClient() as client:
        file = (await client.get(f"{pay.base}/simulator/{CITY}/settlement-file",
                                 params={"date": day.isoformat()})).text
        lines = file.strip().split("\n")
        assert lines[0] == "reference,amount,fee,time" and len(lines) == 4
        fees = {int(line.split(",")[1]): int(line.split(",")[2]) for line in lines[1:]}
        assert fees == {10_000: 0, 20_000: 0, 600_000: 1_800}  # 0,3 % MDR above Rp 500.000 only
        ok = await client.post(f"{pay.base}/cities/{CITY}/reconciliations", params={"date": day.isoformat()},
                               content=file, headers={**pay.staff, "Content-Type": "text/csv"})
        assert ok.status_code == 201, ok.text
        assert ok.json()["matched"] == 3 and ok.json()["differences"] == 0

        changed = lines[1].split(",")
        changed[1] = str(int(changed[1]) + 1)
        dropped = lines[3].split(",")[0]
        edited = "\n".join([lines[0], ",".join(changed), lines[2], "SIM-NOT-OURS,5000,0," + at.isoformat()])
        report = await client.post(f"{pay.base}/cities/{CITY}/reconciliations", params={"date": day.isoformat()},
                                   content=edited, headers={**pay.staff, "Content-Type": "text/csv"})
        stored = await client.get(f"{pay.base}/cities/{CITY}/reconciliations/{day.isoformat()}",
                                  params={"format": "csv"}, headers=pay.staff)
        bad_header = await client.post(f"{pay.base}/cities/{CITY}/reconciliations",
                                       params={"date": day.isoformat()}, content="ref,amt\nx,1\n",
                                       headers={**pay.staff, "Content-Type": "text/csv"})
        duplicated = await client.post(f"{pay.base}/cities/{CITY}/reconciliations",
                                       params={"date": day.isoformat()}, content=file + lines[1] + "\nbad,x,0,y\n",
                                       headers={**pay.staff, "Content-Type": "text/csv"})
    got = report.json()
    assert got["matched"] == 1 and got["differences"] == 3
    assert [d["reference"] for d in got["amount_differs"]] == [changed[0]]
    assert [d["reference"] for d in got["missing_on_our_side"]] == ["SIM-NOT-OURS"]
    assert [d["reference"] for d in got["missing_on_theirs"]] == [dropped]
    assert stored.text.count("\n") == 4  # header + the three differences
    for refused in (bad_header, duplicated):
        assert refused.status_code == 422 and refused.headers["content-type"].startswith("application/problem+json")
    assert "line 5" in duplicated.text and "line 6" in duplicated.text
