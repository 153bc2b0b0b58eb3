"""What people are told, end to end on the real platform (every service its own process, real Kafka and Postgres,
the built-in WhatsApp simulator as everybody's phone).

Closes issue 12's first "done when": a purchase leaves, in the simulator, exactly the expected messages for the
buyer and each vendor, in order, with the real pickup code; a participant gets the reminder with the meeting
link of a webinar session, and the certificate with its public verification link.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.phone import normalise_phone
from tests.conftest import Platform, eventually
from tests.notifications.support import inbox, new_phone, sign_up, wait_inbox
from tests.orders.e2e_support import CITY, Shop

pytestmark = pytest.mark.integration


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as c:
        yield c


def _ref(order_id: str) -> str:
    return order_id[-8:].upper()


async def _vendor_phone(client: httpx.AsyncClient, platform: Platform, vendor_id: str) -> str:
    r = await client.get(platform.url("catalog") + f"/cities/{CITY}/vendors/{vendor_id}")
    assert r.status_code == 200, r.text
    phone = normalise_phone(r.json()["whatsapp"])
    assert phone, r.text
    return phone


async def test_a_purchase_tells_the_buyer_and_each_vendor_exactly_what_they_wait_for(
        platform: Platform, client: httpx.AsyncClient) -> None:
    buyer_sub, buyer_phone = f"buyer-{uuid.uuid4().hex[:10]}", new_phone()
    await sign_up(platform, buyer_sub, buyer_phone)
    shop = Shop(platform, client, buyer=buyer_sub)
    market_id, (a, b) = await shop.pick(vendors=2, stock=40)
    hub_id = await shop.hub_id()
    hub = (await client.get(platform.url("catalog") + f"/cities/{CITY}/rw-hubs/{hub_id}")).json()

    order = await shop.checkout(market_id, [(a, 2), (b, 1)], {"type": "pickup_rw_hub", "rw_hub_id": hub_id})
    order_id, ref = order["order_id"], _ref(order["order_id"])
    order = await shop.wait(order_id, "awaiting_payment")
    await shop.pay(order["payment"]["qris"])
    order = await shop.wait(order_id, "paid")
    await shop.prepare_all(order)
    code = (await shop.order(order_id))["pickup_code"]
    done = await shop.pickup(order_id, code)
    assert done.status_code == 200, done.text

    got = await wait_inbox(client, platform, buyer_phone, 4, "the buyer's four messages")
    assert [m["template"] for m in got] == ["order_awaiting_payment", "order_paid", "order_ready", "order_completed"]
    assert all(ref in m["text"] and m["channel"] == "whatsapp" for m in got)
    placed, paid, ready, completed = (m["text"] for m in got)
    total = "Rp " + f"{order['total']:,}".replace(",", ".")
    assert total in placed and f"/kota/{CITY}/pesanan/{order_id}/bayar" in placed and "WIB" in placed
    assert total in paid
    assert f"Kode pengambilan: {code}" in ready and hub["name"] in ready  # the real pickup code and place
    assert "selesai" in completed.lower()

    for product, quantity in ((a, 2), (b, 1)):
        phone = await _vendor_phone(client, platform, product["vendor_id"])

        async def vendor_messages(phone: str = phone) -> list[dict[str, Any]] | None:
            mine = [m for m in await inbox(client, platform, phone) if ref in m["text"]]
            return mine or None

        mine = await eventually(vendor_messages, timeout=60, what=f"the vendor {product['vendor_id']}'s message")
        assert [m["template"] for m in mine] == ["vendor_new_order"]
        assert f"- {quantity} {product['unit']} {product['name']}" in mine[0]["text"]
        assert "diambil di hub RW" in mine[0]["text"]
        other = b if product is a else a
        if other["vendor_id"] != product["vendor_id"]:
            assert other["name"] not in mine[0]["text"]  # each vendor sees only their own lines
    # nothing more arrives for the buyer (the completed order is the last word)
    assert len(await inbox(client, platform, buyer_phone)) == 4

    # "Chat penjual" / "Chat pembeli": wa.me links between the two sides of this order, for nobody else
    contacts = platform.url("notifications") + f"/cities/{CITY}/orders/{order_id}/contacts"
    mine = (await client.get(contacts, headers=shop.buyer)).json()["contacts"]
    phones = {await _vendor_phone(client, platform, p["vendor_id"]) for p in (a, b)}
    assert {c["wa_link"].split("?")[0] for c in mine} == {"https://wa.me/62" + ph[1:] for ph in phones}
    vendor_side = (await client.get(contacts, headers=shop.vendor(a["vendor_id"]))).json()["contacts"]
    assert [c["wa_link"].split("?")[0] for c in vendor_side] == ["https://wa.me/62" + buyer_phone[1:]]
    stranger = await client.get(contacts, headers=platform.headers(CITY, "buyer", sub="someone-else"))
    assert stranger.status_code == 404
    page = await client.get(platform.url("portal") + f"/kota/{CITY}/pesanan/{order_id}",
                            cookies={"pk_token": shop.buyer["Authorization"].split()[1]})
    assert page.status_code == 200 and "Chat penjual" in page.text
    dev = await client.get(platform.url("portal") + "/dev/pesan", params={"hp": buyer_phone})
    assert dev.status_code == 200 and f"Kode pengambilan: {code}" in dev.text


async def _register_participant(client: httpx.AsyncClient, platform: Platform, phone: str) -> dict[str, Any]:
    r = await client.post(platform.url("learning") + f"/cities/{CITY}/participants/register",
                          json={"name": "Peserta Pesan", "phone": phone, "group": "pelaku_usaha", "rw": "03",
                                "kelurahan": "Cibabat"})
    assert r.status_code == 201, r.text
    body = dict(r.json())
    body["headers"] = platform.headers(CITY, "participant", sub=body["participant"]["subject"])  # as identity signs
    return body


async def test_a_participant_is_reminded_with_the_meeting_link_and_gets_the_certificate_link(
        platform: Platform, client: httpx.AsyncClient) -> None:
    url, admin = platform.url("learning"), platform.headers(CITY, "city_admin")
    trainer_sub = f"trainer-{uuid.uuid4().hex[:8]}"
    r = await client.post(f"{url}/cities/{CITY}/admin/trainers", headers=admin,
                          json={"name": "Pelatih Pesan", "subject": trainer_sub})
    assert r.status_code == 201, r.text
    trainer_id = r.json()["trainer_id"]
    r = await client.post(f"{url}/cities/{CITY}/admin/programmes", headers=admin,
                          json={"title": f"Webinar QRIS {uuid.uuid4().hex[:6]}", "style": "webinar",
                                "partner": "Bank Indonesia", "modules": ["Literasi digital & QRIS"]})
    assert r.status_code == 201, r.text
    programme = r.json()
    link = f"https://meet.example.id/qris-{uuid.uuid4().hex[:8]}"
    starts = datetime.now(UTC) + timedelta(minutes=10)  # within the hour: the hour-before reminder is due
    r = await client.post(f"{url}/cities/{CITY}/admin/programmes/{programme['programme_id']}/sessions",
                          headers=admin, json={"title": "Bayar pakai QRIS", "starts_at": starts.isoformat(),
                                               "ends_at": (starts + timedelta(hours=1)).isoformat(), "capacity": 5,
                                               "meeting_link": link, "trainer_id": trainer_id})
    assert r.status_code == 201, r.text
    session_id = r.json()["session_id"]
    phone = new_phone()
    participant = await _register_participant(client, platform, phone)
    r = await client.post(f"{url}/cities/{CITY}/sessions/{session_id}/enrolments", headers=participant["headers"])
    assert r.status_code in (200, 201), r.text
    enrolment_id = r.json()["enrolment_id"]

    got = await wait_inbox(client, platform, phone, 2, "booking and reminder")
    assert [m["template"] for m in got] == ["enrolment_booked", "session_reminder_hour"]
    assert all(link in m["text"] and "Bayar pakai QRIS" in m["text"] for m in got)
    assert "WIB" in got[1]["text"]

    trainer = platform.headers(CITY, "trainer", sub=trainer_sub)
    r = await client.post(f"{url}/cities/{CITY}/trainer/sessions/{session_id}/attendance", headers=trainer,
                          json={"enrolment_id": enrolment_id, "attended": True})
    assert r.status_code == 200 and r.json()["certificate_code"], r.text
    code = r.json()["certificate_code"]
    got = await wait_inbox(client, platform, phone, 3, "the certificate")
    assert [m["template"] for m in got] == ["enrolment_booked", "session_reminder_hour", "certificate_issued"]
    assert f"/sertifikat?kode={code}" in got[2]["text"] and programme["title"] in got[2]["text"]
    # the link in the message is the portal's public verification page, and it verifies
    verify = await client.get(platform.url("portal") + f"/sertifikat?kode={code}")
    assert verify.status_code == 200 and code in verify.text
