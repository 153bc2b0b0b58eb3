"""The portal's notification pieces against a fake of the services: "Chat penjual" / "Chat pembeli" wa.me links
where a buyer and a vendor share an order (and pages that never fail for them), and the dev-only /dev/pesan."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.portal.fakes import VENDOR_1, default_services, order, portal_client

BUYER_LINK = "https://wa.me/6281255501001?text=Halo%20Lapak%20Bu%20Sri"
CHAT = {"order_id": "o-1", "contacts": [{"role": "vendor", "vendor_id": VENDOR_1, "name": "Lapak Bu Sri",
                                         "label": "Chat penjual", "wa_link": BUYER_LINK},
                                        {"role": "vendor", "name": "Jahat", "label": "Chat penjual",
                                         "wa_link": "javascript:alert(1)"}]}


def test_the_buyer_sees_chat_links_to_the_vendors_of_the_order() -> None:
    fake = default_services()
    fake.on("notifications", "GET", r"/cities/cimahi/orders/o-1/contacts", CHAT)
    with portal_client(fake, "buyer") as client:
        page = client.get("/kota/cimahi/pesanan/o-1").text
    assert "Chat penjual · Lapak Bu Sri" in page and BUYER_LINK in page
    assert "javascript:" not in page  # only wa.me links are ever rendered
    assert fake.called("notifications", "GET", "/orders/o-1/contacts")[0][4]["authorization"].startswith("Bearer ")


def test_the_order_page_works_without_notifications() -> None:
    fake = default_services()
    fake.down.add("notifications")
    with portal_client(fake, "buyer") as client:
        r = client.get("/kota/cimahi/pesanan/o-1")
    assert r.status_code == 200 and "Chat penjual" not in r.text and "Menunggu Pembayaran" in r.text


def test_the_vendor_sees_a_chat_link_to_the_buyer() -> None:
    fake = default_services()
    paid = order("paid", vendor_total=90000)
    fake.on("orders", "GET", r"/cities/cimahi/vendor/orders", {"orders": [paid]})
    fake.on("catalog", "GET", r"/cities/cimahi/me/vendor", {"id": VENDOR_1, "name": "Lapak Bu Sri", "trained": True})
    fake.on("notifications", "GET", r"/cities/cimahi/orders/o-1/contacts", {"order_id": "o-1", "contacts": [
        {"role": "buyer", "name": "Pembeli", "label": "Chat pembeli", "wa_link": "https://wa.me/6281300000001"}]})
    with portal_client(fake, "vendor", vendor_id=VENDOR_1) as client:
        page = client.get("/kota/cimahi/pedagang").text
    assert "Chat pembeli" in page and "https://wa.me/6281300000001" in page


def test_dev_pesan_lists_the_simulators_messages_per_phone() -> None:
    fake = default_services()
    fake.on("notifications", "GET", r"/dev/messages", {"messages": [
        {"message_id": "m-1", "city": "cimahi", "phone": "081300000001", "channel": "whatsapp",
         "template": "order_ready", "text": "Pesanan O-1 siap diambil.\nKode pengambilan: 482913",
         "received_at": "2026-12-02T03:00:00+00:00"}]})
    with portal_client(fake) as client:
        page = client.get("/dev/pesan", params={"hp": "0813-0000-0001"})
        bad = client.get("/dev/pesan", params={"hp": "12"})
    assert page.status_code == 200 and "Kode pengambilan: 482913" in page.text and "WHATSAPP" in page.text
    assert fake.called("notifications", "GET", "/dev/messages")[0][2] == "/dev/messages"
    assert bad.status_code == 422 and "Nomor HP tidak valid" in bad.text


def test_dev_pesan_does_not_exist_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    from portal.settings import PortalSettings

    monkeypatch.setattr(PortalSettings, "dev_mode", property(lambda self: False))
    with portal_client(default_services()) as client:
        assert client.get("/dev/pesan").status_code == 404


def test_a_person_opts_out_and_back_in_on_their_settings_page() -> None:
    fake = default_services()
    state = {"opted_out": False}

    def current(_r: httpx.Request, _m: re.Match[str]) -> httpx.Response:
        return httpx.Response(200, json={"channel": "whatsapp", "fallback": "sms", **state})

    def change(r: httpx.Request, _m: re.Match[str]) -> httpx.Response:
        state["opted_out"] = json.loads(r.content)["opted_out"]
        return httpx.Response(200, json={"channel": "whatsapp", "fallback": "sms", **state})

    fake.on("notifications", "GET", r"/cities/cimahi/me/notifications", current)
    fake.on("notifications", "PUT", r"/cities/cimahi/me/notifications", change)
    with portal_client(fake, "buyer") as client:
        page = client.get("/kota/cimahi/pengaturan-pesan")
        assert page.status_code == 200 and "Berhenti menerima pesan" in page.text and "BERHENTI" in page.text
        done = client.post("/kota/cimahi/pengaturan-pesan", data={"berhenti": "1"})
        assert done.status_code == 303 and state["opted_out"] is True
        assert 'data-testid="opted-out"' in client.get("/kota/cimahi/pengaturan-pesan").text
        client.post("/kota/cimahi/pengaturan-pesan", data={"berhenti": "0"})
        assert state["opted_out"] is False
