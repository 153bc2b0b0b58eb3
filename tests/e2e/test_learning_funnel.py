"""The funnel end to end: a business owner trained in person at an RW hub → certificate → catalog's vendor draft
(or Terlatih badge) → active vendor → first sale → repeat sale, counted at every step, in the right style and RW.

The funnel is fed only by events. Where catalog or orders do not (yet) produce an event this flow needs, the
test publishes it the way that service would, on that service's topic; when catalog's HTTP API exposes vendors
the test insists that catalog itself reacts to the certificate.
"""

from __future__ import annotations

import uuid
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.events.catalog import RwHubRegistered, VendorActivated, VendorDraftOpened
from shared.events.orders import OrderCompleted
from shared.ids import demo_id, new_id
from tests.conftest import Platform, eventually
from tests.learning.kafka_tools import publish, read_topic

pytestmark = pytest.mark.integration

CITY = "cimahi"


async def _catalog_paths(client: httpx.AsyncClient, platform: Platform) -> set[str]:
    """The HTTP paths catalog offers now (it is built alongside; parts may not exist yet)."""
    try:
        spec = (await client.get(platform.url("catalog") + "/openapi.json")).json()
    except (httpx.HTTPError, ValueError):
        return set()
    return set(spec.get("paths", {}))


async def _paths(client: httpx.AsyncClient, platform: Platform, service: str) -> set[str]:
    try:
        return set((await client.get(platform.url(service) + "/openapi.json")).json().get("paths", {}))
    except (httpx.HTTPError, ValueError):
        return set()


async def _sell_for_real(client: httpx.AsyncClient, platform: Platform, vendor: dict[str, str], market_id: str,
                         product_id: str) -> None:
    """A buyer orders from the vendor, pays by QRIS (simulator), the vendor prepares, the buyer picks up → Selesai."""
    orders, payments = platform.url("orders"), platform.url("payments")
    buyer = platform.headers(CITY, "buyer", sub=f"test-buyer-{uuid.uuid4().hex[:8]}")

    async def placed() -> dict[str, Any] | None:   # orders learns the new product from catalog's events
        r = await client.post(f"{orders}/cities/{CITY}/orders", headers=buyer,
                              json={"market_id": market_id, "items": [{"product_id": product_id, "quantity": 2}],
                                    "fulfilment": {"type": "pickup_stall"}})
        return r.json() if r.status_code == 201 else None

    order = await eventually(placed, timeout=60, interval=1, what="order placed")
    order_url = f"{orders}/cities/{CITY}/orders/{order['order_id']}"

    async def state(*statuses: str) -> dict[str, Any] | None:
        body = (await client.get(order_url, headers=buyer)).json()
        return body if body.get("status") in statuses else None

    awaiting = await eventually(lambda: state("awaiting_payment"), timeout=60, interval=0.5, what="QRIS issued")
    r = await client.post(f"{payments}/simulator/{CITY}/pay", json={"qris": awaiting["payment"]["qris"]})
    assert r.status_code == 200, r.text
    await eventually(lambda: state("paid"), timeout=60, interval=0.5, what="order paid")
    r = await client.post(f"{orders}/cities/{CITY}/vendor/orders/{order['order_id']}/prepared", headers=vendor)
    assert r.status_code == 200, r.text
    ready = await eventually(lambda: state("ready"), timeout=60, interval=0.5, what="order ready")
    r = await client.post(f"{order_url}/pickup", headers=vendor, json={"code": ready["pickup_code"]})
    assert r.status_code == 200, r.text
    await eventually(lambda: state("completed"), timeout=60, interval=0.5, what="order completed")


def _row(report: dict[str, Any], kelurahan: str) -> dict[str, Any] | None:
    return next((r for r in report["by_rw"] if r["kelurahan"] == kelurahan), None)


async def test_trained_business_owner_flows_through_the_funnel(platform: Platform) -> None:
    url, bootstrap = platform.url("learning"), platform.infra.bootstrap
    admin = platform.headers(CITY, "city_admin")
    kelurahan = f"Kelurahan Uji {uuid.uuid4().hex[:6]}"

    async with httpx.AsyncClient(timeout=30) as client:
        catalog = await _catalog_paths(client, platform)
        if "/cities/{city}/rw-hubs" in catalog:   # the city registers a new RW hub in catalog
            r = await client.post(f"{platform.url('catalog')}/cities/{CITY}/rw-hubs", headers=admin,
                                  json={"kelurahan": kelurahan, "rw": "9", "address": "Jl. Uji No. 9"})
            assert r.status_code == 201, r.text
            hub_id = r.json().get("rw_hub_id") or r.json()["id"]
        else:
            hub_id = new_id()
            await publish(bootstrap, RwHubRegistered(rw_hub_id=hub_id, name=f"Balai RW 09 {kelurahan}",
                                                     kelurahan=kelurahan, rw="09", address="Jl. Uji No. 9"), city=CITY)

        async def hub_known() -> bool:
            hubs = (await client.get(f"{url}/cities/{CITY}/admin/rw-hubs", headers=admin)).json()["rw_hubs"]
            return any(h["rw_hub_id"] == hub_id for h in hubs)

        await eventually(hub_known, timeout=60, interval=0.5, what="RW hub projected from catalog.market.v1")

        subject = f"trainer-{uuid.uuid4().hex[:8]}"
        trainer_id = (await client.post(f"{url}/cities/{CITY}/admin/trainers", headers=admin,
                                        json={"name": "Bu Pelatih", "subject": subject})).json()["trainer_id"]
        trainer = platform.headers(CITY, "trainer", sub=subject)
        r = await client.post(f"{url}/cities/{CITY}/admin/programmes", headers=admin,
                              json={"title": "Pelatihan Jualan Online (uji)", "style": "in_person",
                                    "modules": ["Pemasaran online", "Foto produk"]})
        programme_id = r.json()["programme_id"]
        start = datetime.now(UTC) + timedelta(minutes=2)
        sessions = []
        # back to back (the hub and the trainer cannot hold two sessions at once), both open for attendance now
        for i, title in enumerate(("Pemasaran online", "Foto produk")):
            starts = start + timedelta(minutes=10 * i)
            r = await client.post(f"{url}/cities/{CITY}/admin/programmes/{programme_id}/sessions", headers=admin,
                                  json={"title": title, "starts_at": starts.isoformat(),
                                        "ends_at": (starts + timedelta(minutes=10)).isoformat(), "capacity": 20,
                                        "rw_hub_id": hub_id, "trainer_id": trainer_id})
            assert r.status_code == 201, r.text
            assert r.json()["venue"]["rw_hub"]["kelurahan"] == kelurahan
            sessions.append(r.json()["session_id"])
        # an unknown hub is refused
        r = await client.post(f"{url}/cities/{CITY}/admin/programmes/{programme_id}/sessions", headers=admin,
                              json={"title": "Di mana?", "starts_at": start.isoformat(),
                                    "ends_at": (start + timedelta(hours=2)).isoformat(), "capacity": 20,
                                    "rw_hub_id": new_id()})
        assert r.status_code == 422

        reg = (await client.post(f"{url}/cities/{CITY}/participants/register",
                                 json={"name": "Pak Usaha Uji", "phone": "0858" + str(uuid.uuid4().int)[:8],
                                       "group": "pelaku_usaha", "rw": "RW 9", "kelurahan": kelurahan})).json()
        participant_id = reg["participant"]["participant_id"]
        assert reg["participant"]["rw"] == "09"
        me = platform.headers(CITY, "participant", sub=reg["participant"]["subject"])
        enrolments = []
        for sid in sessions:
            r = await client.post(f"{url}/cities/{CITY}/sessions/{sid}/enrolments", headers=me)
            assert r.status_code == 201 and r.json()["status"] == "booked"
            enrolments.append(r.json()["enrolment_id"])

        async def funnel(style: str | None = "in_person") -> dict[str, Any]:
            params = {"style": style} if style else {}
            r = await client.get(f"{url}/cities/{CITY}/admin/reports/funnel", headers=admin, params=params)
            assert r.status_code == 200, r.text
            return r.json()

        assert _row(await funnel(), kelurahan) == {
            "kelurahan": kelurahan, "rw": "09", "enrolled": 1, "attended": 0, "certified": 0, "became_vendor": 0,
            "first_sale": 0, "repeat_sale_30d": 0}

        code = (await client.get(f"{url}/cities/{CITY}/trainer/sessions/{sessions[0]}/check-in-code",
                                 headers=trainer)).json()["code"]
        r = await client.post(f"{url}/cities/{CITY}/sessions/{sessions[0]}/check-in", headers=me, json={"code": code})
        assert r.status_code == 200, r.text
        r = await client.post(f"{url}/cities/{CITY}/trainer/sessions/{sessions[1]}/attendance", headers=trainer,
                              json={"enrolment_id": enrolments[1]})
        assert r.status_code == 200 and r.json()["certificate_code"], r.text
        row = _row(await funnel(), kelurahan)
        assert row is not None and (row["attended"], row["certified"], row["became_vendor"]) == (1, 1, 0)

        # The certificate reaches catalog, which opens a vendor draft for this business owner.
        catalog_ready = "/cities/{city}/admin/vendor-drafts" in catalog

        async def draft_opened() -> dict[str, Any] | None:
            envs = await read_topic(bootstrap, "catalog.vendor.v1")
            return next((e for e in envs if e["event_type"] in ("VendorDraftOpened", "VendorTrainedBadgeGranted")
                         and e["payload"].get("participant_id") == participant_id), None)

        if catalog_ready:
            draft = await eventually(draft_opened, timeout=60, interval=1, what="catalog reacts to the certificate")
            vendor_id = draft["payload"]["vendor_id"]
            drafts = (await client.get(f"{platform.url('catalog')}/cities/{CITY}/admin/vendor-drafts",
                                       headers=admin)).json()["items"]
            assert any(d.get("participant_id") == participant_id for d in drafts), drafts
        else:   # catalog not built yet: play its part as agreed in the cross-service flow
            warnings.warn("catalog does not react to certificates yet: VendorDraftOpened published by the test",
                          stacklevel=1)
            vendor_id = new_id()
            await publish(bootstrap, VendorDraftOpened(vendor_id=vendor_id, participant_id=participant_id,
                                                       owner_name="Pak Usaha Uji"), city=CITY)

        async def linked() -> dict[str, Any] | None:
            me_now = (await client.get(f"{url}/cities/{CITY}/me", headers=me)).json()
            return me_now if me_now["vendor_id"] == vendor_id else None

        await eventually(linked, timeout=60, interval=0.5, what="participant linked to the vendor")
        row = _row(await funnel(), kelurahan)
        assert row is not None and row["became_vendor"] == 0   # a draft is not a vendor yet

        # The market admin activates the vendor; it sells once, then again (within 30 days).
        market_id = demo_id("market", CITY, "pasar-atas-baru")
        if "/cities/{city}/vendors/{vendor_id}/{action}" in catalog and catalog_ready:
            for action in ("verify", "activate"):   # a draft is verified into a market, then activated
                r = await client.post(f"{platform.url('catalog')}/cities/{CITY}/vendors/{vendor_id}/{action}",
                                      headers=admin, json={"market_id": market_id})
                assert r.status_code == 200, r.text
        else:
            await publish(bootstrap, VendorActivated(vendor_id=vendor_id, market_id=new_id(), name="Warung Uji",
                                                     participant_id=participant_id), city=CITY)

        async def step(name: str, value: int) -> dict[str, Any] | None:
            current = _row(await funnel(), kelurahan)
            return current if current and current[name] == value else None

        await eventually(lambda: step("became_vendor", 1), timeout=60, interval=0.5, what="became a vendor")

        # Sales: through the real buying flow when catalog, orders and payments offer it; else orders' event.
        buying = (catalog_ready and "/cities/{city}/products" in catalog
                  and "/cities/{city}/orders/{order_id}/pickup" in await _paths(client, platform, "orders")
                  and "/simulator/{city}/pay" in await _paths(client, platform, "payments"))
        if buying:
            vendor = platform.headers(CITY, "vendor", sub=f"vendor-{vendor_id}", vendor_id=vendor_id)
            r = await client.post(f"{platform.url('catalog')}/cities/{CITY}/products", headers=vendor,
                                  json={"name": "Kue Balok Uji", "category": "kue", "unit": "pcs", "price": 15000,
                                        "stock": 100})
            assert r.status_code == 201, r.text
            product_id = r.json().get("product_id") or r.json()["id"]
            await _sell_for_real(client, platform, vendor, market_id, product_id)
        else:
            warnings.warn("orders/payments buying flow not available: OrderCompleted published by the test",
                          stacklevel=1)
            await publish(bootstrap, OrderCompleted(order_id=new_id(), buyer_id="demo-buyer-cimahi-1",
                                                    vendor_ids=[vendor_id, new_id()], total=45000), city=CITY)
        row = await eventually(lambda: step("first_sale", 1), timeout=60, interval=0.5, what="first sale")
        assert row["repeat_sale_30d"] == 0
        if buying:
            await _sell_for_real(client, platform, vendor, market_id, product_id)
        else:
            order_id = new_id()
            for _ in range(2):   # a duplicate delivery of the same completed order counts once
                await publish(bootstrap, OrderCompleted(order_id=order_id, buyer_id="demo-buyer-cimahi-2",
                                                        vendor_ids=[vendor_id], total=12000), city=CITY)
        row = await eventually(lambda: step("repeat_sale_30d", 1), timeout=60, interval=0.5, what="repeat sale")
        assert row == {"kelurahan": kelurahan, "rw": "09", "enrolled": 1, "attended": 1, "certified": 1,
                       "became_vendor": 1, "first_sale": 1, "repeat_sale_30d": 1}

        # counted in its style only, and in the city's breakdowns; CSV carries the same row
        assert _row(await funnel("webinar"), kelurahan) is None
        everything = await funnel(None)
        assert _row(everything, kelurahan) == row
        in_person = next(s for s in everything["by_style"] if s["style"] == "in_person")
        assert in_person["repeat_sale_30d"] >= 1 and in_person["certified"] >= 1
        csv_text = (await client.get(f"{url}/cities/{CITY}/admin/reports/funnel", headers=admin,
                                     params={"format": "csv"})).text
        assert f"rw,{kelurahan} RW 09,1,1,1,1,1,1" in csv_text
        # another city's admin sees nothing of it
        r = await client.get(f"{url}/cities/{CITY}/admin/reports/funnel", headers=platform.headers("tegal",
                                                                                                    "city_admin"))
        assert r.status_code == 403
