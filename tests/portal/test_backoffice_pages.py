"""Back-office pages (issue #13) against a fake of the services: what they send, bad input refused next to the
field with the input kept (and nothing sent), the service's field errors shown at the field, wrong role and
another city refused, the audit list rendered as *Riwayat perubahan*."""

from __future__ import annotations

from typing import Any

import httpx

from portal.pages_admin_city import admin_history
from tests.portal.fakes import CIMAHI_MARKET, HUB, default_services, order, portal_client, problem

MARKET = {"id": CIMAHI_MARKET, "name": "Pasar Atas Baru", "address": "Jl. Gandawijaya", "kelurahan": "Cimahi",
          "opens_at": "05:00", "closes_at": "14:00", "active": True, "vendors": []}
HUB_ROW = {"id": HUB, "name": "Hub RW 03 Cibabat", "kelurahan": "Cibabat", "rw": "03", "address": "", "active": True,
           "opens_at": "08:00", "closes_at": "21:00", "hall_capacity": 40, "bandwidth_mbps": 50}
AUDIT = [{"id": 2, "at": "2026-12-02T03:00:00+00:00", "actor": "demo-admin-cimahi", "actor_roles": ["city_admin"],
          "entity": "rw_hub", "entity_id": HUB, "action": "edited", "before": {"hall_capacity": 40},
          "after": {"hall_capacity": 60}}]


def city_admin_services() -> Any:
    fake = default_services()
    fake.on("catalog", "GET", r"/cities/cimahi/admin/markets", {"items": [{**MARKET, "vendor_count": 3}]})
    fake.on("catalog", "GET", rf"/cities/cimahi/markets/{CIMAHI_MARKET}", MARKET)
    fake.on("catalog", "GET", rf"/cities/cimahi/markets/{CIMAHI_MARKET}/stalls", {"items": [
        {"id": "s1", "kind": "los", "block": "A", "number": "01", "market_id": CIMAHI_MARKET, "vendor_id": None}]})
    fake.on("catalog", "GET", r"/cities/cimahi/admin/vendors", {"items": []})
    fake.on("catalog", "GET", rf"/cities/cimahi/admin/markets/{CIMAHI_MARKET}/audit", {"items": []})
    fake.on("catalog", "GET", r"/cities/cimahi/admin/rw-hubs", {"items": [HUB_ROW]})
    fake.on("catalog", "GET", rf"/cities/cimahi/rw-hubs/{HUB}", HUB_ROW)
    fake.on("catalog", "GET", r"/cities/cimahi/audit", AUDIT)
    return fake


def test_a_new_rw_hub_with_nonsense_input_is_refused_next_to_each_field_and_nothing_is_sent() -> None:
    fake = city_admin_services()
    with portal_client(fake, "city_admin") as client:
        page = client.post("/kota/cimahi/admin/hub-rw", data={
            "name": "", "kelurahan": "Cibabat", "rw": "abc", "opens_at": "21:00", "closes_at": "08:00",
            "hall_capacity": "-3", "address": "x" * 500, "bandwidth_mbps": "99999999"})
        assert page.status_code == 422
        for name in ("name", "rw", "closes_at", "hall_capacity", "address", "bandwidth_mbps"):
            assert f'id="e-{name}"' in page.text, name
        assert 'value="Cibabat"' in page.text  # the input is kept
        nul = client.post("/kota/cimahi/admin/hub-rw", data={"name": "Hub\x01", "kelurahan": "K", "rw": "4"})
        assert nul.status_code == 422 and 'id="e-name"' in nul.text
        assert not fake.called("catalog", "POST", "/rw-hubs")


def test_a_good_rw_hub_is_sent_with_its_hours_and_capacity_and_the_service_refusal_lands_at_the_field() -> None:
    fake = city_admin_services()
    fake.on("catalog", "POST", r"/cities/cimahi/rw-hubs", lambda r, m: httpx.Response(201, json={**HUB_ROW}))
    with portal_client(fake, "city_admin") as client:
        done = client.post("/kota/cimahi/admin/hub-rw", data={
            "name": "Hub RW 03 Cibabat", "kelurahan": "Cibabat", "rw": "3", "opens_at": "8.00", "closes_at": "21:00",
            "hall_capacity": "40"})
        assert done.status_code == 303 and done.headers["location"].startswith(f"/kota/cimahi/admin/hub-rw/{HUB}")
        assert fake.called("catalog", "POST", "/rw-hubs")[-1][3] == {
            "name": "Hub RW 03 Cibabat", "address": "", "kelurahan": "Cibabat", "rw": "3", "opens_at": "08:00",
            "closes_at": "21:00", "hall_capacity": 40}
        fake.on("catalog", "POST", r"/cities/cimahi/rw-hubs", lambda r, m: problem(
            409, "Hub RW ini sudah terdaftar. / This RW hub exists already.", "rw-hub-exists"))
        again = client.post("/kota/cimahi/admin/hub-rw", data={"name": "Hub", "kelurahan": "Cibabat", "rw": "3"})
        assert again.status_code == 422 and 'id="e-rw"' in again.text and "sudah terdaftar" in again.text
        page = client.get(f"/kota/cimahi/admin/hub-rw/{HUB}").text
        assert "Riwayat perubahan" in page and "Kapasitas aula" in page and "<del>40</del>" in page


def test_market_hours_and_closing_need_sense_and_a_confirmation() -> None:
    fake = city_admin_services()
    fake.on("catalog", "PATCH", rf"/cities/cimahi/markets/{CIMAHI_MARKET}", {**MARKET, "active": False})
    with portal_client(fake, "city_admin") as client:
        bad = client.post(f"/kota/cimahi/admin/pasar/{CIMAHI_MARKET}", data={
            "name": "Pasar Atas Baru", "opens_at": "14:00", "closes_at": "05:00"})
        assert bad.status_code == 422 and "Jam tutup harus setelah jam buka" in bad.text
        unticked = client.post(f"/kota/cimahi/admin/pasar/{CIMAHI_MARKET}/status", data={"active": "0"})
        assert unticked.status_code == 422 and 'id="e-confirm"' in unticked.text
        assert not fake.called("catalog", "PATCH")
        closed = client.post(f"/kota/cimahi/admin/pasar/{CIMAHI_MARKET}/status", data={"active": "0", "confirm": "1"})
        assert closed.status_code == 303 and fake.called("catalog", "PATCH")[-1][3] == {"active": False}
        slug = client.post("/kota/cimahi/admin/pasar", data={"name": "Pasar", "slug": "Pasar Baru!",
                                                             "opens_at": "05:00", "closes_at": "12:00"})
        assert slug.status_code == 422 and 'id="e-slug"' in slug.text


def test_only_a_city_admin_of_this_city_reaches_the_city_back_office() -> None:
    fake = city_admin_services()
    for role, kw in (("market_admin", {"market_id": CIMAHI_MARKET}), ("vendor", {"vendor_id": "v1"}),
                     ("buyer", {})):
        with portal_client(fake, role, **kw) as client:
            assert client.get("/kota/cimahi/admin/hub-rw").status_code == 403
            assert client.post("/kota/cimahi/admin/hub-rw", data={"name": "x"}).status_code == 403
    with portal_client(fake, "city_admin", city="tegal") as client:
        assert client.get("/kota/cimahi/admin/pasar").status_code == 403
        assert client.post(f"/kota/cimahi/admin/pasar/{CIMAHI_MARKET}/status",
                           data={"active": "0", "confirm": "1"}).status_code == 403
    assert not fake.called("catalog", "POST") and not fake.called("catalog", "PATCH")


def market_admin_services() -> Any:
    fake = default_services()
    fake.on("catalog", "GET", r"/cities/cimahi/admin/vendors", {"items": []})
    fake.on("catalog", "GET", r"/cities/cimahi/admin/vendor-drafts", {"items": []})
    fake.on("orders", "GET", r"/cities/cimahi/orders", {"orders": [order("ready", pickup_locked=True)]})
    fake.on("catalog", "GET", rf"/cities/cimahi/markets/{CIMAHI_MARKET}/stalls", {"items": []})
    fake.on("catalog", "GET", rf"/cities/cimahi/admin/markets/{CIMAHI_MARKET}/audit", {"items": []})
    fake.on("orders", "GET", rf"/cities/cimahi/markets/{CIMAHI_MARKET}/audit", {"items": [
        {"id": 1, "at": "2026-12-02T03:00:00+00:00", "actor": "pengelola", "actor_roles": ["market_admin"],
         "entity": "order", "entity_id": "o-1", "action": "pickup_unlocked",
         "before": {"pickup_attempts": 5, "pickup_locked": True},
         "after": {"pickup_attempts": 0, "pickup_locked": False, "market_id": CIMAHI_MARKET, "checked": "KTP"}}]})
    return fake


def test_market_admin_adds_a_vendor_by_phone_and_bad_input_stays_on_the_page() -> None:
    fake = market_admin_services()
    fake.on("catalog", "POST", rf"/cities/cimahi/markets/{CIMAHI_MARKET}/vendors",
            lambda r, m: httpx.Response(201, json={"id": "v-new", "name": "Toko Bu Ani", "status": "active"}))
    with portal_client(fake, "market_admin", market_id=CIMAHI_MARKET) as client:
        page = client.get("/kota/cimahi/pengelola").text
        assert "Tambah pedagang" in page and "Terkunci" in page and "Buka kunci" in page
        assert "Kunci pengambilan dibuka" in page and "KTP" in page  # orders' audit list on the page
        bad = client.post("/kota/cimahi/pengelola/tambah", data={"name": "Toko Bu Ani", "owner_name": "",
                                                                 "phone": "nomor saya"})
        assert bad.status_code == 422 and 'id="e-owner_name"' in bad.text and 'id="e-phone"' in bad.text
        assert 'value="Toko Bu Ani"' in bad.text
        huge = client.post("/kota/cimahi/pengelola/tambah", data={"name": "T" * 1000, "owner_name": "Ani",
                                                                  "phone": "081234567890"})
        assert huge.status_code == 422 and 'id="e-name"' in huge.text
        assert not fake.called("catalog", "POST", "/vendors")
        done = client.post("/kota/cimahi/pengelola/tambah", data={"name": "Toko Bu Ani", "owner_name": "Ani",
                                                                  "phone": "0812-3456-7890"})
        assert done.status_code == 303 and "ditambahkan" in done.headers["location"]
        assert fake.called("catalog", "POST", "/vendors")[-1][3] == {
            "name": "Toko Bu Ani", "owner_name": "Ani", "phone": "0812-3456-7890", "stall_id": None, "activate": True}
        fake.on("catalog", "POST", rf"/cities/cimahi/markets/{CIMAHI_MARKET}/vendors", lambda r, m: problem(
            409, "Lapak ini sudah dipakai pedagang lain. / Another vendor has this stall.", "stall-taken",
            field="stall_id"))
        taken = client.post("/kota/cimahi/pengelola/tambah", data={"name": "Toko", "owner_name": "Ani",
                                                                   "phone": "081234567890", "stall_id": "s1"})
        assert taken.status_code == 422 and 'id="e-stall_id"' in taken.text


def test_unlocking_a_pickup_needs_the_in_person_tick() -> None:
    fake = market_admin_services()
    fake.on("orders", "POST", r"/cities/cimahi/orders/o-1/pickup/unlock", order("ready"))
    with portal_client(fake, "market_admin", market_id=CIMAHI_MARKET) as client:
        refused = client.post("/kota/cimahi/pengelola/buka-kunci", data={"order_id": "o-1"})
        assert refused.status_code == 303 and "galat=1" in refused.headers["location"]
        assert not fake.called("orders", "POST", "/unlock")
        done = client.post("/kota/cimahi/pengelola/buka-kunci", data={"order_id": "o-1", "confirm": "1",
                                                                      "checked": "KTP dicek"})
        assert done.status_code == 303 and "galat" not in done.headers["location"]
        assert fake.called("orders", "POST", "/unlock")[-1][3] == {"checked": "KTP dicek"}


def test_the_history_shows_who_when_and_before_after_in_indonesian() -> None:
    shown = admin_history([{**AUDIT[0], "entity": "vendor", "action": "suspended",
                            "before": {"status": "active", "suspended_reason": None},
                            "after": {"status": "suspended", "suspended_reason": "Tutup"}}], {HUB: "Toko A"})
    assert shown[0]["what"] == "Pedagang dibekukan · Pedagang" and shown[0]["label"] == "Toko A"
    assert shown[0]["who"].startswith("Admin kota")
    assert {"field": "Status", "before": "Aktif", "after": "Dibekukan"} in shown[0]["changes"]
    assert {"field": "Alasan pembekuan", "before": None, "after": "Tutup"} in shown[0]["changes"]


def test_a_stall_is_renumbered_and_handed_from_one_vendor_to_another() -> None:
    fake = city_admin_services()
    fake.on("catalog", "GET", rf"/cities/cimahi/markets/{CIMAHI_MARKET}/stalls", {"items": [
        {"id": "s1", "kind": "los", "block": "A", "number": "01", "market_id": CIMAHI_MARKET, "vendor_id": "v-old"}]})
    fake.on("catalog", "PATCH", rf"/cities/cimahi/markets/{CIMAHI_MARKET}/stalls/s1", {"id": "s1"})
    fake.on("catalog", "PUT", r"/cities/cimahi/vendors/(?P<v>[^/]+)/stall", lambda r, m: httpx.Response(
        200, json={"id": m["v"]}))
    with portal_client(fake, "city_admin") as client:
        bad = client.post(f"/kota/cimahi/admin/pasar/{CIMAHI_MARKET}/lapak/s1", data={"kind": "gudang", "number": ""})
        assert bad.status_code == 422 and not fake.called("catalog", "PATCH")
        done = client.post(f"/kota/cimahi/admin/pasar/{CIMAHI_MARKET}/lapak/s1", data={
            "kind": "kios", "block": "B", "number": "02", "vendor_id": "v-new"})
        assert done.status_code == 303, done.text
        assert fake.called("catalog", "PATCH", "/stalls/s1")[-1][3] == {"kind": "kios", "block": "B", "number": "02"}
        puts = [(c[2], c[3]) for c in fake.called("catalog", "PUT", "/stall")]
        assert puts == [("/cities/cimahi/vendors/v-old/stall", {"stall_id": None}),
                        ("/cities/cimahi/vendors/v-new/stall", {"stall_id": "s1"})]


def test_market_admin_assigns_a_stall_and_a_refusal_is_shown_as_one() -> None:
    fake = market_admin_services()
    fake.on("catalog", "PUT", r"/cities/cimahi/vendors/v1/stall", lambda r, m: problem(
        409, "Lapak ini sudah dipakai pedagang lain. / Another vendor has this stall.", "stall-taken"))
    with portal_client(fake, "market_admin", market_id=CIMAHI_MARKET) as client:
        r = client.post("/kota/cimahi/pengelola/pedagang/v1/lapak", data={"stall_id": "s9"})
        where = r.headers["location"]
        assert r.status_code == 303 and "galat=1" in where and "sudah%20dipakai" in where
        assert fake.called("catalog", "PUT", "/v1/stall")[-1][3] == {"stall_id": "s9"}
