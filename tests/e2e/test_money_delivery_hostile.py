"""Bad input on the doors added for delivery and money: NUL bytes, huge bodies, another city, a wrong role →
a 4xx problem+json, never a 5xx, nothing changed."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.conftest import Platform

pytestmark = pytest.mark.integration
CITY = "cimahi"


def is_problem(r: httpx.Response, *statuses: int) -> bool:
    return r.status_code in statuses and r.headers["content-type"].startswith("application/problem+json")


async def test_courier_payout_and_reconciliation_doors_refuse_bad_input(platform: Platform) -> None:
    orders, payments = platform.url("orders"), platform.url("payments")
    courier = platform.headers(CITY, "courier", sub="kurir-x", market_id="m-x")
    admin = platform.headers(CITY, "city_admin")
    oid = str(uuid.uuid4())
    async with httpx.AsyncClient(timeout=30) as c:
        checks = {
            "NUL in the courier's name": (await c.post(f"{orders}/cities/{CITY}/courier/orders/{oid}/claim",
                                                       headers=courier, content=b'{"name": "A\\u0000", "phone":'
                                                       b' "081211112222"}'), (422,)),
            "a buyer on the courier's door": (await c.get(f"{orders}/cities/{CITY}/courier/orders",
                                                          headers=platform.headers(CITY, "buyer")), (403,)),
            "another city's courier": (await c.get(f"{orders}/cities/tegal/courier/orders", headers=courier),
                                       (403,)),
            "not a phone": (await c.post(f"{orders}/cities/{CITY}/courier/orders/{oid}/claim", headers=courier,
                                         json={"name": "Asep", "phone": "bukan nomor HP"}), (422,)),
            "someone else's order": (await c.post(f"{orders}/cities/{CITY}/courier/orders/{oid}/dispatched",
                                                  headers=courier), (404,)),
            "a 10 000-character street": (await c.post(f"{orders}/cities/{CITY}/orders",
                                                       headers=platform.headers(CITY, "buyer"), json={
                "market_id": "m", "items": [{"product_id": "p", "quantity": 1}],
                "fulfilment": {"type": "delivery", "street": "x" * 10_000}}), (422,)),
            "a slot that is not a date": (await c.post(f"{orders}/cities/{CITY}/orders",
                                                       headers=platform.headers(CITY, "buyer"), json={
                "market_id": "m", "items": [{"product_id": "p", "quantity": 1}],
                "fulfilment": {"type": "delivery", "slot_date": "besok"}}), (422,)),
            "another city's settlement file": (await c.post(f"{payments}/cities/tegal/reconciliations",
                                                            params={"date": "2026-12-01"}, headers=admin,
                                                            content="reference,amount,fee,time\n"), (403,)),
            "a NUL in a settlement file": (await c.post(f"{payments}/cities/{CITY}/reconciliations",
                                                        params={"date": "2026-12-01"}, headers=admin,
                                                        content=b"reference,amount,fee,time\nA\x00,1,0,x\n"),
                                           (422,)),
            "not UTF-8": (await c.post(f"{payments}/cities/{CITY}/reconciliations", params={"date": "2026-12-01"},
                                       headers=admin, content=b"\xff\xfe\xfa"), (422,)),
            "a vendor running payouts": (await c.post(f"{payments}/cities/{CITY}/payout-runs", json={},
                                                      headers=platform.headers(CITY, "vendor", vendor_id="v-x")),
                                         (403,)),
            "a payout id that is not one": (await c.post(f"{payments}/cities/{CITY}/payouts/not-a-uuid/paid",
                                                         headers=admin, json={"bank_reference": "X"}), (404,)),
            "a refund attribution to nobody": (await c.post(
                f"{payments}/cities/{CITY}/payments/{uuid.uuid4()}/refunds", headers=admin,
                json={"amount": 1, "vendor_amounts": {"": 1}}), (422,)),
        }
    wrong = {name: (r.status_code, r.text[:200]) for name, (r, ok) in checks.items() if not is_problem(r, *ok)}
    assert not wrong, wrong
    # a settlement file declared at 9 MiB is refused before a byte of it is read (the limit is 8 MiB)
    head = await declared_only(payments, f"/cities/{CITY}/reconciliations?date=2026-12-01", 9 * 1024 * 1024,
                               admin["Authorization"])
    assert head.startswith(b"HTTP/1.1 413"), head


async def declared_only(base: str, path: str, length: int, authorization: str) -> bytes:
    """Send only the headers of a POST declaring ``length`` bytes; the status line of the answer."""
    import asyncio
    from urllib.parse import urlsplit

    url = urlsplit(base)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write((f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: text/csv\r\n"
                      f"Authorization: {authorization}\r\nContent-Length: {length}\r\n\r\n").encode())
        await writer.drain()
        return await asyncio.wait_for(reader.readuntil(b"\r\n"), timeout=10)
    finally:
        writer.close()
