"""Back office in a real browser at 360 px (issue #13): a market admin adds a vendor by phone; the vendor signs in
with the code WhatsApp brought (the notifications simulator) and lists a product; a buyer's pickup locked by wrong
codes is unlocked by the market admin after checking the buyer, and completed. A city admin creates an RW hub (and
a market with a stall) through the pages. Each page is photographed into test-artifacts/screenshots/ (and, with
PASARKOTA_UPDATE_DOCS=1, into docs/img/, listed in docs/portal.md).
"""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

import tests.e2e.test_portal_browser as portal_browser
from shared.ids import demo_id
from tests.e2e.test_identity_browser import enter_code
from tests.e2e.test_portal_browser import SHOTS, UPDATE_DOCS

pytestmark = pytest.mark.integration
browser = portal_browser.browser  # the module's chromium fixture
Person, poll = portal_browser.Person, portal_browser.poll
CITY = "cimahi"
MARKET_SLUG = "pasar-cimindi"
MARKET = demo_id("market", CITY, MARKET_SLUG)
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


def doc_shot(person: Any, name: str, *, full_page: bool = True) -> None:
    """A 360 px-wide screenshot into test-artifacts/screenshots/ (and, with PASARKOTA_UPDATE_DOCS=1, docs/img/ for
    docs/portal.md)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    person.page.screenshot(path=str(path), full_page=full_page)
    if UPDATE_DOCS:
        shutil.copy(path, DOCS_IMG / f"{name}.png")


def error_next_to(person: Any, name: str) -> str:
    loc = person.page.locator(f"#e-{name}")
    return str(loc.inner_text()) if loc.count() else ""


def test_market_admin_adds_a_vendor_who_signs_in_lists_a_product_and_a_locked_pickup_is_unlocked(
        platform: Any, browser: Any) -> None:
    base, cat, orders, idn = (platform.url(s) for s in ("portal", "catalog", "orders", "identity"))
    phone = "0819" + str(uuid.uuid4().int)[:8]
    shop_name = "Toko Sayur Bu Euis " + uuid.uuid4().hex[:4]

    # -- the market admin adds the vendor (bad input first: the error next to the field, the input kept) ---------
    admin = Person(browser, base, "market admin")
    admin.sign_in_demo("market_admin", f"market_admin:{MARKET_SLUG}")
    admin.go(f"/kota/{CITY}/pengelola")
    admin.page.fill("#f-name", shop_name)
    admin.page.fill("#f-owner_name", "Euis")
    admin.page.fill("#f-phone", "bukan-nomor")
    admin.page.get_by_role("button", name="Tambah pedagang").click()
    admin.page.wait_for_load_state("load")
    assert "Nomor HP" in error_next_to(admin, "phone"), admin.page.content()[:3000]
    assert admin.page.input_value("#f-name") == shop_name  # kept
    admin.page.fill("#f-phone", phone[:4] + "-" + phone[4:8] + "-" + phone[8:])
    admin.page.get_by_role("button", name="Tambah pedagang").click()
    admin.page.wait_for_load_state("load")
    assert "ditambahkan dan aktif" in admin.flash(), admin.page.content()[:3000]

    mine = platform.headers(CITY, "market_admin", sub="demo-check", market_id=MARKET)
    vendors = httpx.get(f"{cat}/cities/{CITY}/admin/vendors", headers=mine, params={"status": "active"},
                        timeout=10).json()["items"]
    vendor = next(v for v in vendors if v["name"] == shop_name)
    city_admin = platform.headers(CITY, "city_admin", sub="demo-check")

    def granted() -> bool:
        items = httpx.get(f"{idn}/cities/{CITY}/grants", headers=city_admin, timeout=10).json()["items"]
        return any(g["role"] == "vendor" and g["scope"] == vendor["id"] for g in items)

    poll(granted, what="identity grants `vendor` to the phone (VendorActivated)")

    def welcomed() -> str | None:  # the invitation through notifications (its WhatsApp simulator)
        r = httpx.get(f"{platform.url('notifications')}/dev/messages", params={"phone": phone}, timeout=10)
        texts = [m["text"] for m in r.json()["messages"] if m["template"] == "vendor_welcome"]
        return texts[0] if texts else None

    welcome = poll(welcomed, what="the vendor's welcome message")
    assert shop_name in welcome and "Pasar Cimindi" in welcome and "/masuk" in welcome, welcome

    # -- the vendor signs in with their phone and lists a product -------------------------------------------------
    seller = Person(browser, base, "new vendor")
    seller.go("/masuk")
    seller.page.select_option("#f-city", CITY)
    seller.page.fill("#f-phone", phone)
    seller.page.get_by_role("button", name="Kirim kode").click()
    seller.page.wait_for_load_state("load")
    enter_code(seller, platform, phone)
    assert seller.page.url.endswith(f"/kota/{CITY}/pedagang"), seller.page.url
    seller.go(f"/kota/{CITY}/pedagang/produk")
    seller.page.fill("#f-name", "Bayam Segar Ikat")
    seller.page.select_option("#f-category", "sayur")
    seller.page.select_option("#f-unit", "ikat")
    seller.page.fill("#f-price", "4000")
    seller.page.fill("#f-stock", "30")
    seller.page.get_by_role("button", name="Tambah", exact=True).click()
    seller.page.wait_for_load_state("load")
    assert "Produk baru ditambahkan" in seller.flash(), seller.page.content()[:3000]
    product = httpx.get(f"{cat}/cities/{CITY}/products", params={"vendor": vendor["id"]}, timeout=10).json()["items"][0]
    assert product["name"] == "Bayam Segar Ikat" and product["price"] == 4000

    # -- a buyer orders it, pays, the vendor packs it; five wrong codes lock the pickup --------------------------------
    buyer = platform.headers(CITY, "buyer", sub="bo-browser-buyer-" + uuid.uuid4().hex[:6])
    body = {"market_id": MARKET, "fulfilment": {"type": "pickup_stall"},
            "items": [{"product_id": product["id"], "quantity": 2}]}

    def placed() -> dict[str, Any] | None:
        r = httpx.post(f"{orders}/cities/{CITY}/orders", json=body, headers=buyer, timeout=10)
        return r.json() if r.status_code == 201 else None

    order_id = poll(placed, interval=0.5, what="orders knows the new product")["order_id"]

    def order_in(*statuses: str) -> dict[str, Any] | None:
        o = httpx.get(f"{orders}/cities/{CITY}/orders/{order_id}", headers=buyer, timeout=10).json()
        return o if o["status"] in statuses else None

    qris = poll(lambda: order_in("awaiting_payment"), what="the QRIS of the order")["payment"]["qris"]
    assert httpx.post(f"{platform.url('payments')}/simulator/{CITY}/pay", json={"qris": qris},
                      timeout=10).status_code == 200
    poll(lambda: order_in("paid"), what="the order paid")
    as_vendor = platform.headers(CITY, "vendor", sub="v-" + vendor["id"], vendor_id=vendor["id"])
    r = httpx.post(f"{orders}/cities/{CITY}/vendor/orders/{order_id}/prepared", headers=as_vendor, timeout=10)
    assert r.status_code == 200, r.text
    code = poll(lambda: order_in("ready"), what="Siap Diambil")["pickup_code"]
    wrong = "000000" if code != "000000" else "111111"
    answers = [httpx.post(f"{orders}/cities/{CITY}/orders/{order_id}/pickup", json={"code": wrong},
                          headers=as_vendor, timeout=10).status_code for _ in range(5)]
    assert answers[-1] == 409, answers  # locked

    # -- the market admin checks the buyer in person, unlocks, and completes the pickup with the code -----------
    admin.go(f"/kota/{CITY}/pengelola")
    card = admin.page.locator(f"[data-testid=ready-{order_id}]")
    assert "Terkunci" in card.inner_text()
    card.scroll_into_view_if_needed()
    doc_shot(admin, "backoffice-pickup-locked", full_page=False)  # the viewport: the locked order
    card.get_by_role("button", name="Buka kunci").click()  # without ticking "checked in person": refused
    admin.page.wait_for_load_state("load")
    assert admin.page.locator("[data-testid=refused]").count()
    card = admin.page.locator(f"[data-testid=ready-{order_id}]")
    card.locator("input[name=confirm]").check()
    card.locator("input[name=checked]").fill("KTP dan pesanan di HP pembeli dicek")
    card.get_by_role("button", name="Buka kunci").click()
    admin.page.wait_for_load_state("load")
    assert "Kunci dibuka" in admin.flash(), admin.page.content()[:3000]
    card = admin.page.locator(f"[data-testid=ready-{order_id}]")
    card.locator("input[name=code]").fill(code)
    card.get_by_role("button", name="Konfirmasi").click()
    admin.page.wait_for_load_state("load")
    assert "Pesanan selesai" in admin.flash(), admin.page.content()[:3000]
    assert order_in("completed")
    history = admin.page.locator("#riwayat").inner_text()
    assert "Kunci pengambilan dibuka" in history and "Pedagang ditambahkan" in history and shop_name in history

    # -- suspending needs a reason and a confirmation -------------------------------------------------------------
    admin.page.locator(f"[data-testid=vendor-{vendor['id']}]").get_by_role("link", name="Bekukan").click()
    admin.page.wait_for_load_state("load")
    admin.page.get_by_role("button", name="Bekukan").click()
    admin.page.wait_for_load_state("load")
    assert "alasan" in error_next_to(admin, "reason").lower() and error_next_to(admin, "confirm")
    doc_shot(admin, "backoffice-suspend-confirm")
    admin.page.fill("#f-reason", "Uji: lapak tutup sementara")
    admin.page.check("#f-confirm")
    admin.page.get_by_role("button", name="Bekukan").click()
    admin.page.wait_for_load_state("load")
    assert "dibekukan" in admin.flash(), admin.page.content()[:3000]
    history = admin.page.locator("#riwayat").inner_text()
    assert "Pedagang dibekukan" in history and "Uji: lapak tutup sementara" in history, history
    doc_shot(admin, "backoffice-market-admin")


def test_city_admin_sets_up_an_rw_hub_and_a_market_through_the_pages(platform: Any, browser: Any) -> None:
    base, cat = platform.url("portal"), platform.url("catalog")
    admin = Person(browser, base, "city admin")
    admin.sign_in_demo("city_admin", "city_admin:1")
    admin.go(f"/kota/{CITY}/admin")
    doc_shot(admin, "backoffice-city-admin")

    # -- an RW hub: nonsense hours are refused next to the field, the input kept ----------------------------------
    rw = str(100 + int(time.time()) % 800)
    admin.go(f"/kota/{CITY}/admin/hub-rw")
    admin.page.fill("#f-name", f"Hub RW {rw} Cigugur Tengah")
    admin.page.fill("#f-address", "Balai RW, Jl. Kolonel Masturi")
    admin.page.fill("#f-kelurahan", "Cigugur Tengah")
    admin.page.fill("#f-rw", rw)
    admin.page.fill("#f-opens_at", "20:00")
    admin.page.fill("#f-closes_at", "08:00")
    admin.page.fill("#f-hall_capacity", "banyak")
    admin.page.get_by_role("button", name="Tambah hub").click()
    admin.page.wait_for_load_state("load")
    assert "setelah jam buka" in error_next_to(admin, "closes_at"), admin.page.content()[:3000]
    assert "angka" in error_next_to(admin, "hall_capacity")
    assert admin.page.input_value("#f-kelurahan") == "Cigugur Tengah"
    doc_shot(admin, "backoffice-rw-hub-error")
    admin.page.fill("#f-opens_at", "8.00")  # as it is often written: 08:00
    admin.page.fill("#f-closes_at", "21:00")
    admin.page.fill("#f-hall_capacity", "40")
    admin.page.get_by_role("button", name="Tambah hub").click()
    admin.page.wait_for_load_state("load")
    assert "ditambahkan" in admin.flash(), admin.page.content()[:3000]
    hub_id = admin.page.url.rstrip("/").split("/")[-1]
    hub = httpx.get(f"{cat}/cities/{CITY}/rw-hubs/{hub_id}", timeout=10).json()
    assert (hub["opens_at"], hub["closes_at"], hub["hall_capacity"], hub["rw"]) == ("08:00", "21:00", 40, rw.zfill(2))
    admin.page.fill("#f-hall_capacity", "60")
    admin.page.get_by_role("button", name="Simpan").click()
    admin.page.wait_for_load_state("load")
    history = admin.page.locator("#riwayat").inner_text()
    assert "Kapasitas aula" in history and "40" in history and "60" in history, history
    doc_shot(admin, "backoffice-rw-hub")

    # -- a market with opening hours and a stall -----------------------------------------------------------------
    slug = "pasar-uji-" + uuid.uuid4().hex[:6]
    admin.go(f"/kota/{CITY}/admin/pasar")
    admin.page.fill("#f-name", "Pasar Uji Peramban")
    admin.page.fill("#f-slug", slug)
    admin.page.fill("#f-opens_at", "05:00")
    admin.page.fill("#f-closes_at", "13:00")
    admin.page.get_by_role("button", name="Buka pasar").click()
    admin.page.wait_for_load_state("load")
    assert "dibuka" in admin.flash(), admin.page.content()[:3000]
    admin.page.select_option("#f-kind", "los")
    admin.page.fill("#f-block", "B")
    admin.page.fill("#f-number", "07")
    admin.page.get_by_role("button", name="Tambah lapak").click()
    admin.page.wait_for_load_state("load")
    assert "Lapak ditambahkan" in admin.flash(), admin.page.locator("#lapak").inner_text()
    admin.page.fill("#f-closes_at", "04:00")
    admin.page.get_by_role("button", name="Simpan", exact=True).click()
    admin.page.wait_for_load_state("load")
    assert "setelah jam buka" in error_next_to(admin, "closes_at")
    admin.page.fill("#f-closes_at", "12:00")
    admin.page.get_by_role("button", name="Simpan", exact=True).click()
    admin.page.wait_for_load_state("load")
    history = admin.page.locator("#riwayat").inner_text()
    assert "Pasar dibuka" in history and "Los B-07" in history and "12:00" in history, history
    doc_shot(admin, "backoffice-market")
    admin.go(f"/kota/{CITY}/admin/pasar")
    doc_shot(admin, "backoffice-markets")

    # -- staff and roles: the existing Staf page, with identity's audit list -------------------------------------
    admin.go(f"/kota/{CITY}/staf")
    admin.page.fill("#f-phone", "0857" + str(uuid.uuid4().int)[:8])
    admin.page.fill("#f-name", "Pelatih Uji")
    admin.page.select_option("#f-role", "trainer")
    admin.page.fill("#f-reason", "narasumber literasi digital")
    admin.page.get_by_role("button", name="Undang").click()
    admin.page.wait_for_load_state("load")
    assert "diundang" in admin.flash(), admin.page.content()[:3000]
    history = admin.page.locator("#riwayat").inner_text()
    assert "Peran diberikan" in history and "Pelatih Uji" in history, history
    doc_shot(admin, "backoffice-staff")

    # -- another city's admin sees nothing of it ------------------------------------------------------------------
    other = Person(browser, base, "tegal admin")
    other.go("/masuk")
    form = other.page.locator("form:has(#u-tegal-city_admin)")
    form.locator("select").select_option("city_admin:1")
    form.locator("button").click()
    other.page.wait_for_load_state("load")
    r = other.page.goto(base + f"/kota/{CITY}/admin/hub-rw/{hub_id}")
    assert r is not None and r.status == 403
