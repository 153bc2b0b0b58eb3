"""Back office for city and market admins (issue #13) over the real platform: every change is on its service's
audit list with the actor and before → after (catalog, orders, identity), and the refusals: another city, another
market, nonsense hours, empty names, huge or NUL input (422 naming the field).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shared.events.catalog import MARKET as MARKET_TOPIC
from shared.ids import demo_id
from tests.catalog.support import catalog_events
from tests.conftest import Platform, eventually
from tests.orders.e2e_support import Shop

pytestmark = pytest.mark.integration

CITY, OTHER = "cimahi", "tegal"


def audit(c: httpx.Client, platform: Platform, service: str, entity: str, entity_id: str) -> list[dict[str, Any]]:
    r = c.get(platform.url(service) + f"/cities/{CITY}/audit", params={"entity": entity, "entity_id": entity_id},
              headers=platform.headers(CITY, "city_admin", sub="auditor"))
    assert r.status_code == 200, r.text
    return list(r.json())


def field_of(r: httpx.Response) -> set[str]:
    body = r.json()
    fields = {str(e.get("field", "")).split(".")[-1] for e in body.get("errors") or []}
    if body.get("field"):
        fields.add(body["field"])
    return fields


# ---- catalog -------------------------------------------------------------------------------------------

def test_city_admin_markets_stalls_and_rw_hubs_are_audited(platform: Platform) -> None:
    cat = platform.url("catalog")
    admin = platform.headers(CITY, "city_admin", sub="admin-kota-1")
    slug = "pasar-uji-" + uuid.uuid4().hex[:8]
    with httpx.Client(base_url=cat, timeout=10) as c:
        r = c.post(f"/cities/{CITY}/markets", headers=admin,
                   json={"slug": slug, "name": "Pasar Uji", "opens_at": "05:00", "closes_at": "12:00"})
        assert r.status_code == 201, r.text
        market = r.json()
        # nonsense hours: closing before opening → 422 next to closes_at
        bad = c.patch(f"/cities/{CITY}/markets/{market['id']}", headers=admin, json={"closes_at": "04:00"})
        assert bad.status_code == 422 and "closes_at" in field_of(bad), bad.text
        bad = c.patch(f"/cities/{CITY}/markets/{market['id']}", headers=admin, json={"opens_at": "25:00"})
        assert bad.status_code == 422 and "opens_at" in field_of(bad), bad.text
        for junk in ({"name": ""}, {"name": "   "}, {"name": "x" * 5000}, {"name": "Pasar\x00"}, {"active": "ya?"}):
            bad = c.patch(f"/cities/{CITY}/markets/{market['id']}", headers=admin, json=junk)
            assert bad.status_code == 422, (junk, bad.text)
        ok = c.patch(f"/cities/{CITY}/markets/{market['id']}", headers=admin,
                     json={"opens_at": "06:00", "closes_at": "13:30"})
        assert ok.status_code == 200 and ok.json()["closes_at"] == "13:30", ok.text
        closed = c.patch(f"/cities/{CITY}/markets/{market['id']}", headers=admin, json={"active": False})
        assert closed.status_code == 200 and closed.json()["active"] is False
        entries = audit(c, platform, "catalog", "market", market["id"])
        assert [e["action"] for e in entries] == ["closed", "edited", "opened"]
        assert all(e["actor"] == "admin-kota-1" and "city_admin" in e["actor_roles"] for e in entries)
        assert entries[1]["before"] == {"opens_at": "05:00", "closes_at": "12:00"}
        assert entries[1]["after"] == {"opens_at": "06:00", "closes_at": "13:30"}
        assert entries[0]["before"] == {"active": True} and entries[0]["after"] == {"active": False}

        # stalls: add, edit (audited), a duplicate is 409
        stall = c.post(f"/cities/{CITY}/markets/{market['id']}/stalls", headers=admin,
                       json={"kind": "los", "block": "A", "number": "01"})
        assert stall.status_code == 201, stall.text
        sid = stall.json()["id"]
        edited = c.patch(f"/cities/{CITY}/markets/{market['id']}/stalls/{sid}", headers=admin, json={"number": "02"})
        assert edited.status_code == 200 and edited.json()["number"] == "02", edited.text
        c.post(f"/cities/{CITY}/markets/{market['id']}/stalls", headers=admin,
               json={"kind": "los", "block": "A", "number": "03"})
        dup = c.patch(f"/cities/{CITY}/markets/{market['id']}/stalls/{sid}", headers=admin, json={"number": "03"})
        assert dup.status_code == 409, dup.text
        assert [e["action"] for e in audit(c, platform, "catalog", "stall", sid)] == ["edited", "created"]
        assert audit(c, platform, "catalog", "stall", sid)[0]["before"] == {"number": "01"}

        # RW hubs: the city's internet point with opening hours and the hall's capacity
        rw = str(100 + uuid.uuid4().int % 800)
        hub = c.post(f"/cities/{CITY}/rw-hubs", headers=admin, json={
            "kelurahan": "Uji Coba", "rw": rw, "name": "Hub RW Uji", "address": "Jl. Uji 1", "opens_at": "08:00",
            "closes_at": "21:00", "hall_capacity": 40, "bandwidth_mbps": 50})
        assert hub.status_code == 201, hub.text
        hid = hub.json()["id"]
        assert hub.json()["hall_capacity"] == 40 and hub.json()["opens_at"] == "08:00"
        for junk in ({"hall_capacity": 0}, {"hall_capacity": 10**9}, {"closes_at": "07:00"}, {"rw": "abcd"},
                     {"name": ""}, {"address": "y" * 10_000}):
            bad = c.patch(f"/cities/{CITY}/rw-hubs/{hid}", headers=admin, json=junk)
            assert bad.status_code == 422, (junk, bad.text)
            assert field_of(bad) & set(junk), (junk, bad.text)
        ok = c.patch(f"/cities/{CITY}/rw-hubs/{hid}", headers=admin, json={"hall_capacity": 60, "closes_at": "22:00"})
        assert ok.status_code == 200, ok.text
        entries = audit(c, platform, "catalog", "rw_hub", hid)
        assert [e["action"] for e in entries] == ["edited", "created"]
        assert entries[0]["before"] == {"hall_capacity": 40, "closes_at": "21:00"}
        assert entries[0]["after"] == {"hall_capacity": 60, "closes_at": "22:00"}
        assert entries[1]["after"]["name"] == "Hub RW Uji" and entries[1]["actor"] == "admin-kota-1"
        # the other services learn the hub's hours and hall (learning: a training venue)
        async def edited_on_the_wire() -> dict[str, Any] | None:  # once the outbox relay has published the edit
            events = await catalog_events(platform.infra.bootstrap, MARKET_TOPIC, hid)
            found = [e["payload"] for e in events if e["event_type"] == "RwHubRegistered"]
            return found[-1] if found and found[-1]["hall_capacity"] == 60 else None

        last = asyncio.run(eventually(edited_on_the_wire, timeout=30, what="the edited RwHubRegistered"))
        assert (last["opens_at"], last["closes_at"], last["hall_capacity"]) == ("08:00", "22:00", 60)

        # another city's admin: refused; a market admin cannot set up markets or hubs
        tegal = platform.headers(OTHER, "city_admin", sub="admin-tegal")
        assert c.patch(f"/cities/{CITY}/markets/{market['id']}", headers=tegal, json={"name": "X"}).status_code == 403
        assert c.patch(f"/cities/{OTHER}/markets/{market['id']}", headers=tegal,
                       json={"name": "X"}).status_code == 404
        assert c.post(f"/cities/{CITY}/rw-hubs", headers=tegal, json={"kelurahan": "A", "rw": "1"}).status_code == 403
        madmin = platform.headers(CITY, "market_admin", sub="pengelola-x", market_id=market["id"])
        assert c.patch(f"/cities/{CITY}/rw-hubs/{hid}", headers=madmin, json={"name": "X"}).status_code == 403


def test_market_admin_adds_a_vendor_by_phone_identity_grants_it_and_it_is_audited(platform: Platform) -> None:
    cat, idn = platform.url("catalog"), platform.url("identity")
    admin = platform.headers(CITY, "city_admin", sub="admin-kota-2")
    slug = "pasar-vendor-" + uuid.uuid4().hex[:8]
    phone = "0813" + str(uuid.uuid4().int)[:8]
    with httpx.Client(base_url=cat, timeout=10) as c:
        market = c.post(f"/cities/{CITY}/markets", headers=admin, json={"slug": slug, "name": "Pasar Vendor"}).json()
        mid = market["id"]
        s1 = c.post(f"/cities/{CITY}/markets/{mid}/stalls", headers=admin, json={"kind": "kios", "number": "1"}).json()
        s2 = c.post(f"/cities/{CITY}/markets/{mid}/stalls", headers=admin, json={"kind": "kios", "number": "2"}).json()
        mine = platform.headers(CITY, "market_admin", sub="pengelola-1", market_id=mid)

        # bad input first: no phone for an active vendor, empty name, NUL, a huge name
        for body, fieldname in (({"name": "Toko A", "owner_name": "Bu A", "activate": True}, "phone"),
                                ({"name": "", "owner_name": "Bu A", "phone": phone}, "name"),
                                ({"name": "Toko\x00", "owner_name": "Bu A", "phone": phone}, ""),  # kernel: whole body
                                ({"name": "T" * 100_000, "owner_name": "Bu A", "phone": phone}, "name"),
                                ({"name": "Toko A", "owner_name": "Bu A", "phone": "bukan nomor"}, "phone")):
            bad = c.post(f"/cities/{CITY}/markets/{mid}/vendors", headers=mine, json=body)
            assert bad.status_code == 422 and (not fieldname or fieldname in field_of(bad)), (body, bad.text[:300])

        r = c.post(f"/cities/{CITY}/markets/{mid}/vendors", headers=mine, json={
            "name": "Toko Bu Ani", "owner_name": "Ani", "phone": phone, "stall_id": s1["id"], "activate": True})
        assert r.status_code == 201, r.text
        vendor = r.json()
        assert vendor["status"] == "active" and vendor["stall_id"] == s1["id"]

        # another market's admin, and another city's, cannot touch it
        other = platform.headers(CITY, "market_admin", sub="pengelola-2",
                                 market_id=demo_id("market", CITY, "pasar-atas-baru"))
        assert c.post(f"/cities/{CITY}/markets/{mid}/vendors", headers=other,
                      json={"name": "X", "owner_name": "Y"}).status_code == 403
        assert c.post(f"/cities/{CITY}/vendors/{vendor['id']}/suspend", headers=other,
                      json={"reason": "x"}).status_code == 403
        assert c.put(f"/cities/{CITY}/vendors/{vendor['id']}/stall", headers=other,
                     json={"stall_id": s2["id"]}).status_code == 403
        assert c.get(f"/cities/{CITY}/admin/markets/{mid}/audit", headers=other).status_code == 403
        tegal = platform.headers(OTHER, "market_admin", sub="pengelola-t", market_id=mid)
        assert c.post(f"/cities/{CITY}/markets/{mid}/vendors", headers=tegal,
                      json={"name": "X", "owner_name": "Y"}).status_code == 403

        # a second vendor cannot take the first one's stall; assigning another stall is audited
        taken = c.post(f"/cities/{CITY}/markets/{mid}/vendors", headers=mine,
                       json={"name": "Toko Lain", "owner_name": "Lain", "stall_id": s1["id"]})
        assert taken.status_code == 409 and "stall_id" in field_of(taken), taken.text
        moved = c.put(f"/cities/{CITY}/vendors/{vendor['id']}/stall", headers=mine, json={"stall_id": s2["id"]})
        assert moved.status_code == 200 and moved.json()["stall_id"] == s2["id"], moved.text
        assert c.put(f"/cities/{CITY}/vendors/{vendor['id']}/stall", headers=mine,
                     json={"stall_id": "no-such"}).status_code == 422

        # suspend needs a reason
        no_reason = c.post(f"/cities/{CITY}/vendors/{vendor['id']}/suspend", headers=mine, json={"reason": "  "})
        assert no_reason.status_code == 422 and "reason" in field_of(no_reason), no_reason.text
        sus = c.post(f"/cities/{CITY}/vendors/{vendor['id']}/suspend", headers=mine,
                     json={"reason": "Lapak tutup 3 bulan"})
        assert sus.status_code == 200 and sus.json()["status"] == "suspended", sus.text

        entries = audit(c, platform, "catalog", "vendor", vendor["id"])
        assert [e["action"] for e in entries] == ["suspended", "stall_assigned", "added"]
        assert all(e["actor"] == "pengelola-1" and e["actor_roles"] == ["market_admin"] for e in entries)
        assert entries[0]["before"] == {"status": "active", "suspended_reason": None}
        assert entries[0]["after"] == {"status": "suspended", "suspended_reason": "Lapak tutup 3 bulan"}
        assert entries[1]["before"] == {"stall_id": s1["id"]} and entries[1]["after"] == {"stall_id": s2["id"]}
        assert entries[2]["before"] is None and entries[2]["after"]["status"] == "active"
        # the market admin reads their market's audit list (vendors, stalls, the market) on their page
        own = c.get(f"/cities/{CITY}/admin/markets/{mid}/audit", headers=mine)
        assert own.status_code == 200, own.text
        assert {(e["entity"], e["action"]) for e in own.json()["items"]} >= {
            ("vendor", "added"), ("vendor", "suspended"), ("stall", "created"), ("market", "opened")}

    # identity granted `vendor` to the phone from VendorActivated.phone
    async def granted() -> bool:
        async with httpx.AsyncClient(timeout=10) as ac:
            r = await ac.get(f"{idn}/cities/{CITY}/grants", headers=admin)
            return any(g["role"] == "vendor" and g["scope"] == vendor["id"] for g in r.json()["items"])

    asyncio.run(eventually(granted, timeout=60, what="identity's vendor grant from VendorActivated"))


# ---- orders --------------------------------------------------------------------------------------------

@pytest.fixture
async def shop(platform: Platform) -> AsyncIterator[Shop]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield Shop(platform, client, buyer="bo-buyer-" + uuid.uuid4().hex[:6])


async def test_a_locked_pickup_is_unlocked_by_its_market_admin_audited(shop: Shop, platform: Platform) -> None:
    market_id, (a,) = await shop.pick(vendors=1, stock=50)
    order = await shop.checkout(market_id, [(a, 1)], fulfilment={"type": "pickup_stall"})
    order = await shop.wait(order["order_id"], "awaiting_payment")
    await shop.pay(order["payment"]["qris"])
    await shop.wait(order["order_id"], "paid")
    await shop.prepare_all(order)
    oid = order["order_id"]
    code = (await shop.order(oid))["pickup_code"]
    wrong = "000000" if code != "000000" else "111111"
    vendor = shop.vendor(a["vendor_id"])
    url = platform.url("orders") + f"/cities/{CITY}"
    statuses = [(await shop.c.post(f"{url}/orders/{oid}/pickup", json={"code": wrong}, headers=vendor)).status_code
                for _ in range(6)]
    assert statuses == [422] * 4 + [409, 409], statuses  # the fifth wrong code locks
    locked = await shop.c.post(f"{url}/orders/{oid}/pickup", json={"code": code}, headers=vendor)
    assert locked.status_code == 409 and locked.json()["type"].endswith("pickup-locked"), locked.text
    assert (await shop.order(oid))["pickup_locked"] is True

    mine = platform.headers(CITY, "market_admin", sub="pengelola-ambil", market_id=market_id)
    other = platform.headers(CITY, "market_admin", sub="pengelola-lain", market_id="pasar-lain")
    tegal = platform.headers(OTHER, "market_admin", sub="pengelola-tegal", market_id=market_id)
    assert (await shop.c.post(f"{url}/orders/{oid}/pickup/unlock", headers=other)).status_code == 404
    assert (await shop.c.post(f"{url}/orders/{oid}/pickup/unlock", headers=tegal)).status_code == 403
    assert (await shop.c.post(f"{url}/orders/{oid}/pickup/unlock", headers=shop.vendor(a["vendor_id"]))
            ).status_code == 403
    assert (await shop.c.post(f"{url}/orders/{oid}/pickup/unlock", headers=mine,
                              json={"checked": "x" * 1000})).status_code == 422
    assert (await shop.c.post(f"{url}/orders/{oid}/pickup/unlock", headers=mine,
                              json={"checked": "a\x00b"})).status_code == 422
    r = await shop.c.post(f"{url}/orders/{oid}/pickup/unlock", headers=mine,
                          json={"checked": "KTP dan pesanan di HP dicek"})
    assert r.status_code == 200 and r.json()["pickup_locked"] is False, r.text

    entries = (await shop.c.get(f"{url}/audit", params={"entity": "order", "entity_id": oid},
                                headers=platform.headers(CITY, "city_admin", sub="auditor"))).json()
    assert [e["action"] for e in entries] == ["pickup_unlocked"]
    assert entries[0]["actor"] == "pengelola-ambil" and entries[0]["actor_roles"] == ["market_admin"]
    assert entries[0]["before"] == {"pickup_attempts": 5, "pickup_locked": True}
    assert entries[0]["after"]["pickup_attempts"] == 0
    assert entries[0]["after"]["checked"] == "KTP dan pesanan di HP dicek"
    own = await shop.c.get(f"{url}/markets/{market_id}/audit", headers=mine)
    assert own.status_code == 200 and [e["entity_id"] for e in own.json()["items"]][:1] == [oid]
    assert (await shop.c.get(f"{url}/markets/{market_id}/audit", headers=other)).status_code == 403

    done = await shop.c.post(f"{url}/orders/{oid}/pickup", json={"code": code}, headers=mine)
    assert done.status_code == 200 and done.json()["status"] == "completed", done.text


# ---- identity ------------------------------------------------------------------------------------------

def test_staff_grants_and_revocations_are_audited_and_city_bound(platform: Platform) -> None:
    idn = platform.url("identity")
    admin = platform.headers(CITY, "city_admin", sub="admin-kota-3")
    phone = "0852" + str(uuid.uuid4().int)[:8]
    with httpx.Client(base_url=idn, timeout=10) as c:
        for body in ({"phone": "123", "role": "trainer"}, {"phone": phone, "role": "raja"},
                     {"phone": phone, "role": "trainer", "reason": "r" * 5000},
                     {"phone": phone, "role": "trainer", "name": "A\x00"}):
            bad = c.post(f"/cities/{CITY}/grants", headers=admin, json=body)
            assert bad.status_code == 422, (body, bad.text)
        r = c.post(f"/cities/{CITY}/grants", headers=admin,
                   json={"phone": phone, "role": "trainer", "name": "Pak Pelatih", "reason": "narasumber BI"})
        assert r.status_code == 201, r.text
        gid = r.json()["grant"]["grant_id"]
        tegal = platform.headers(OTHER, "city_admin", sub="admin-tegal")
        assert c.post(f"/cities/{CITY}/grants/{gid}/revoke", headers=tegal, json={}).status_code == 403
        assert c.post(f"/cities/{OTHER}/grants/{gid}/revoke", headers=tegal, json={}).status_code == 404
        assert c.post(f"/cities/{CITY}/grants", headers=platform.headers(CITY, "market_admin", sub="m", market_id="x"),
                      json={"phone": phone, "role": "city_admin"}).status_code == 403
        rv = c.post(f"/cities/{CITY}/grants/{gid}/revoke", headers=admin, json={"reason": "kontrak selesai"})
        assert rv.status_code == 200, rv.text
        entries = audit(c, platform, "identity", "grant", gid)
    assert [e["action"] for e in entries] == ["revoked", "granted"]
    assert all(e["actor"] == "admin-kota-3" for e in entries)
    assert entries[1]["after"]["role"] == "trainer" and entries[1]["after"]["name"] == "Pak Pelatih"
    assert phone not in str(entries)  # the phone is kept masked
    assert entries[0]["before"] == {"revoked": False, "reason": "narasumber BI"}
    assert entries[0]["after"] == {"revoked": True, "reason": "kontrak selesai"}


async def test_a_trained_draft_verified_with_a_stall_and_activated_is_audited(platform: Platform) -> None:
    from tests.catalog.support import publish
    from tests.e2e.test_catalog_http import certificate

    cat = platform.url("catalog")
    admin = platform.headers(CITY, "city_admin", sub="admin-kota-4")
    async with httpx.AsyncClient(base_url=cat, timeout=10) as c:
        market = (await c.post(f"/cities/{CITY}/markets", headers=admin, json={
            "slug": "pasar-draf-" + uuid.uuid4().hex[:8], "name": "Pasar Draf"})).json()
        stall = (await c.post(f"/cities/{CITY}/markets/{market['id']}/stalls", headers=admin,
                              json={"kind": "los", "block": "C", "number": "3"})).json()
        cert = certificate(participant_phone="0821" + str(uuid.uuid4().int)[:8])
        await publish(platform.infra.bootstrap, [cert], CITY)
        mine = platform.headers(CITY, "market_admin", sub="pengelola-draf", market_id=market["id"])

        async def draft() -> dict[str, Any] | None:
            items = (await c.get(f"/cities/{CITY}/admin/vendor-drafts", headers=mine)).json()["items"]
            return next((v for v in items if v["participant_id"] == cert.participant_id), None)

        d = await eventually(draft, what="the draft opened by the certificate")
        other = platform.headers(CITY, "market_admin", sub="pengelola-lain", market_id="pasar-lain")
        assert (await c.post(f"/cities/{CITY}/vendors/{d['id']}/verify", headers=other,
                             json={"market_id": market["id"]})).status_code == 403
        r = await c.post(f"/cities/{CITY}/vendors/{d['id']}/verify", headers=mine, json={"stall_id": stall["id"]})
        assert r.status_code == 200 and r.json()["market_id"] == market["id"], r.text
        assert (await c.post(f"/cities/{CITY}/vendors/{d['id']}/activate", headers=mine)).status_code == 200
        entries = (await c.get(f"/cities/{CITY}/audit", params={"entity": "vendor", "entity_id": d["id"]},
                               headers=admin)).json()
    assert [e["action"] for e in entries] == ["activated", "verified"]
    assert all(e["actor"] == "pengelola-draf" for e in entries)
    assert entries[1]["before"]["status"] == "draft" and entries[1]["before"]["market_id"] is None
    assert entries[1]["after"] == {"status": "pending", "market_id": market["id"], "stall_id": stall["id"]}
    assert entries[0]["after"] == {"status": "active"}


def test_a_market_admin_sees_the_audit_of_their_markets_vendor_grants_only(platform: Platform) -> None:
    idn = platform.url("identity")
    atas_baru = demo_id("market", CITY, "pasar-atas-baru")
    mine = platform.headers(CITY, "market_admin", sub="pengelola-atas", market_id=atas_baru)
    other = platform.headers(CITY, "market_admin", sub="pengelola-cimindi",
                             market_id=demo_id("market", CITY, "pasar-cimindi"))
    phone = "0858" + str(uuid.uuid4().int)[:8]
    with httpx.Client(base_url=idn, timeout=10) as c:
        def invited() -> httpx.Response | None:
            r = c.post(f"/cities/{CITY}/grants", headers=mine, json={
                "phone": phone, "role": "vendor", "scope": demo_id("vendor", CITY, "vendor-01"),
                "name": "Anak Bu Sri", "reason": "membantu di lapak"})
            return r if r.status_code == 201 else None

        gid = asyncio.run(eventually(lambda: asyncio.to_thread(invited), timeout=60,
                                     what="identity knows the demo vendor's market"))
        gid = gid.json()["grant"]["grant_id"]
        own = c.get(f"/cities/{CITY}/grants/audit", headers=mine)
        assert own.status_code == 200, own.text
        newest = own.json()["items"][0]
        assert (newest["entity_id"], newest["action"], newest["actor"]) == (gid, "granted", "pengelola-atas")
        assert gid not in {e["entity_id"] for e in c.get(f"/cities/{CITY}/grants/audit",
                                                          headers=other).json()["items"]}
        assert c.get(f"/cities/{CITY}/grants/audit",
                     headers=platform.headers(OTHER, "market_admin", sub="t", market_id=atas_baru)).status_code == 403
        assert c.get(f"/cities/{CITY}/grants/audit", headers=platform.headers(CITY, "vendor", sub="v",
                                                                                vendor_id="x")).status_code == 403
        assert c.get(f"/cities/{CITY}/audit", headers=mine).status_code == 403  # the whole list: city staff only


async def test_two_admins_giving_one_stall_at_once_one_wins_the_other_is_told(platform: Platform) -> None:
    admin = platform.headers(CITY, "city_admin", sub="admin-kota-5")
    async with httpx.AsyncClient(base_url=platform.url("catalog"), timeout=20) as c:
        market = (await c.post(f"/cities/{CITY}/markets", headers=admin, json={
            "slug": "pasar-rebut-" + uuid.uuid4().hex[:8], "name": "Pasar Rebutan"})).json()
        stall = (await c.post(f"/cities/{CITY}/markets/{market['id']}/stalls", headers=admin,
                              json={"kind": "kios", "number": "9"})).json()
        vendors = [(await c.post(f"/cities/{CITY}/markets/{market['id']}/vendors", headers=admin,
                                 json={"name": f"Toko {n}", "owner_name": f"Pemilik {n}"})).json() for n in (1, 2)]
        answers = await asyncio.gather(*(c.put(f"/cities/{CITY}/vendors/{v['id']}/stall", headers=admin,
                                               json={"stall_id": stall["id"]}) for v in vendors))
        assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
        stalls = (await c.get(f"/cities/{CITY}/markets/{market['id']}/stalls")).json()["items"]
        winner = next(r.json()["id"] for r in answers if r.status_code == 200)
        assert stalls[0]["vendor_id"] == winner
