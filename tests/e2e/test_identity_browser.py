"""Real people in a real browser (Debian's chromium): a new phone number signs up as a buyer with a one-time code,
buys and pays; the market's admin invites the vendor by phone; the vendor signs in with a code and sees the order.

Codes come from tests/codes.py (what identity sealed for the notifications service), never from a demo shortcut.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

import tests.e2e.test_portal_browser as portal_browser
from shared.ids import demo_id
from tests.codes import code_from_simulator, read_code_sync

pytestmark = pytest.mark.integration
browser = portal_browser.browser  # the module's chromium fixture
Person, poll = portal_browser.Person, portal_browser.poll
CITY = "cimahi"
MARKET_SLUGS = portal_browser.MARKET_SLUGS
USED: set[str] = set()  # sign-in messages already used: each sign-in reads its own, newer code


def enter_code(person: Any, platform: Any, phone: str) -> None:
    """On the code page: read the code sent to ``phone`` and sign in with it."""
    assert person.page.locator("#f-code").count(), person.page.content()[:2000]
    # as the person does: the WhatsApp message notifications delivered (here, to its simulator)
    code = code_from_simulator(platform.url("notifications"), phone, seen=USED)
    person.page.fill("#f-code", code)
    person.page.get_by_role("button", name="Masuk", exact=True).click()
    person.page.wait_for_load_state("load")


def test_new_buyer_signs_up_pays_and_the_invited_vendor_signs_in_with_a_code(platform: Any, browser: Any) -> None:
    base, catalog = platform.url("portal"), platform.url("catalog")

    def pick() -> dict[str, Any] | None:
        items = httpx.get(f"{catalog}/cities/{CITY}/products", params={"page_size": 100}, timeout=10).json()["items"]
        ok = [p for p in items if p.get("available_now") and (p.get("stock") is None or p["stock"] >= 5)
              and p.get("min_per_order", 1) == 1
              and p["market_id"] in {demo_id("market", CITY, s) for s in MARKET_SLUGS}]
        return ok[-1] if ok else None

    product = poll(pick, what="a demo product on sale in catalog")
    market_slug = next(s for s in MARKET_SLUGS if demo_id("market", CITY, s) == product["market_id"])

    # -- a resident with a phone the platform has never seen signs up as a buyer ----------------------------
    buyer_phone = "0817" + str(uuid.uuid4().int)[:8]
    buyer = Person(browser, base, "new buyer")
    buyer.go("/daftar")
    buyer.page.check("input[name=sign_up_as][value=buyer]")
    buyer.page.select_option("#f-city", CITY)
    buyer.page.fill("#f-name", "Ibu Warga Baru")
    buyer.page.fill("#f-phone", buyer_phone[:4] + "-" + buyer_phone[4:8] + "-" + buyer_phone[8:])
    buyer.page.get_by_role("button", name="Kirim kode").click()
    buyer.page.wait_for_load_state("load")
    assert "Masukkan kode" in buyer.page.content()
    buyer.shot("identity-01-kode")
    enter_code(buyer, platform, buyer_phone)
    assert buyer.page.url.endswith(f"/kota/{CITY}"), buyer.page.url
    assert "Pesanan saya" in buyer.page.content()  # signed in, as a buyer

    # -- buys and pays --------------------------------------------------------------------------------------
    buyer.go(f"/kota/{CITY}/produk/{product['id']}")
    buyer.page.fill("#f-quantity", "1")
    buyer.page.get_by_role("button", name="Masukkan keranjang").click()
    buyer.page.wait_for_load_state("load")
    buyer.page.get_by_role("link", name="Lanjut ke checkout").click()
    buyer.page.wait_for_load_state("load")

    def place() -> bool:
        buyer.page.check("input[name=fulfilment][value=pickup_stall]")
        buyer.page.get_by_role("button", name=re.compile("Buat pesanan")).click()
        buyer.page.wait_for_load_state("load")
        return "/bayar" in buyer.page.url

    poll(place, interval=2.0, what="checkout accepted by orders")
    order_id = buyer.page.url.rstrip("/").split("/")[-2]
    buyer.page.wait_for_function(
        "() => { const b = document.getElementById('qr-box'); return b && !b.hidden; }", timeout=90_000)
    buyer.page.get_by_role("button", name="Bayar dengan simulator").click()
    buyer.page.wait_for_function("() => document.getElementById('status').textContent.includes('Dibayar')",
                                 timeout=60_000)

    # -- the market's admin invites the vendor by phone -------------------------------------------------------
    vendor_phone = "0818" + str(uuid.uuid4().int)[:8]
    admin = Person(browser, base, "market admin")
    admin.sign_in_demo("market_admin", f"market_admin:{market_slug}")

    def invited() -> bool:
        admin.go(f"/kota/{CITY}/staf")
        admin.page.fill("#f-phone", vendor_phone)
        admin.page.fill("#f-name", "Pedagang Diundang")
        admin.page.select_option("#f-vendor_id", product["vendor_id"])
        admin.page.fill("#f-reason", "pemilik lapak")
        admin.page.get_by_role("button", name="Undang").click()
        admin.page.wait_for_load_state("load")
        return "diundang" in admin.flash()

    poll(invited, interval=2.0, what="identity accepts the market admin's invitation")  # it learns vendors' markets
    admin.shot("identity-02-undang-pedagang")                                          # from catalog's events
    assert "Pedagang Diundang" in admin.page.content()

    # -- the vendor signs in with a code and sees the paid order ------------------------------------------------
    vendor = Person(browser, base, "invited vendor")
    vendor.go("/masuk")
    vendor.page.select_option("#f-city", CITY)
    vendor.page.fill("#f-phone", vendor_phone)
    vendor.page.get_by_role("button", name="Kirim kode").click()
    vendor.page.wait_for_load_state("load")
    enter_code(vendor, platform, vendor_phone)
    assert vendor.page.url.endswith(f"/kota/{CITY}/pedagang"), vendor.page.url
    vendor.page.locator(f"[data-testid=order-{order_id}]").wait_for(timeout=30_000)
    vendor.shot("identity-03-pedagang-melihat-pesanan")

    # -- signing out revokes the session: the refresh cookie no longer renews anything ---------------------------
    cookies = {c["name"]: c["value"] for c in vendor.context.cookies()}
    city, _, refresh_token = cookies["pk_refresh"].partition(":")
    vendor.page.get_by_role("button", name="Keluar").click()
    vendor.page.wait_for_load_state("load")
    refused = httpx.post(f"{platform.url('identity')}/cities/{city}/tokens/refresh",
                         json={"refresh_token": refresh_token}, timeout=10)
    assert refused.status_code == 401


def test_a_participant_signs_up_downloads_their_data_and_deletes_the_account(platform: Any) -> None:
    """*Daftar* as a participant through the portal (plain HTTP, cookies as a browser keeps them)."""
    base, learning = platform.url("portal"), platform.url("learning")
    phone = "0822" + str(uuid.uuid4().int)[:8]
    with httpx.Client(base_url=base, timeout=30, follow_redirects=False) as browser_like:
        page = browser_like.post("/daftar", data={"sign_up_as": "participant", "city": CITY, "name": "Rina Daftar",
                                                  "phone": phone, "group": "pelaku_usaha", "rw": "4",
                                                  "kelurahan": "Cibabat"})
        assert page.status_code == 200 and "Masukkan kode" in page.text
        challenge_id = re.search(r'name="challenge_id" value="([^"]+)"', page.text)
        assert challenge_id
        form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        code = read_code_sync(platform.infra.bootstrap, challenge_id=challenge_id.group(1))
        wrong = browser_like.post("/masuk/verifikasi", data={**form, "code": f"{(int(code) + 1) % 1_000_000:06d}"})
        assert wrong.status_code == 400 and "Kode salah" in wrong.text and "Sisa percobaan: 4" in wrong.text
        done = browser_like.post("/masuk/verifikasi", data={**form, "code": code})
        assert done.status_code == 303 and done.headers["location"] == f"/kota/{CITY}/pelatihan", done.text
        token = browser_like.cookies["pk_token"]
        me = httpx.get(f"{learning}/cities/{CITY}/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert me.status_code == 200 and me.json()["rw"] == "04" and me.json()["name"] == "Rina Daftar"
        account = browser_like.get(f"/kota/{CITY}/akun")
        assert account.status_code == 200 and phone in account.text
        data = browser_like.get(f"/kota/{CITY}/akun/data.json")
        assert data.status_code == 200 and "attachment" in data.headers["content-disposition"]
        body = data.json()
        assert body["identity"]["account"]["phone"] == phone and body["learning"]["participant"]
        deleted = browser_like.post(f"/kota/{CITY}/akun/hapus", data={"confirm": "HAPUS"})
        assert deleted.status_code == 303 and deleted.headers["location"].startswith("/?pesan=")
        assert "pk_token" not in browser_like.cookies
