"""Portal pages against a fake of the services (httpx.MockTransport): sign-in, city scoping, errors, forms."""

from __future__ import annotations

import httpx
import jwt

from portal.cart import CART_COOKIE, Cart
from portal.settings import get_portal_settings
from portal.web import TOKEN_COOKIE
from tests.portal.fakes import CIMAHI_MARKET, HUB, PRODUCT, VENDOR_1, default_services, order, portal_client, problem


def verify(token: str) -> dict[str, object]:
    from tests.tokens import public_jwk

    return dict(jwt.decode(token, jwt.PyJWK(public_jwk()).key, algorithms=["EdDSA"]))


def _secret() -> str:
    return get_portal_settings().cookie_secret


def _cart_cookie(quantity: int = 2) -> str:
    cart = Cart("cimahi")
    cart.add(PRODUCT, quantity)
    return cart.dump(_secret())


def test_every_page_is_indonesian_with_labels_and_no_external_assets() -> None:
    with portal_client(default_services()) as client:
        page = client.get("/masuk")
        assert page.status_code == 200
        html = page.text
        assert '<html lang="id">' in html
        assert 'name="viewport"' in html
        assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "https://" not in html
        # every select/input that a person fills in has a label
        import re

        ids = re.findall(r'<(?:input|select)[^>]*\sid="([^"]+)"', html)
        assert ids and all(f'for="{i}"' in html for i in ids)
        css = client.get("/static/site.css")
        assert css.status_code == 200 and "@media" in css.text


def test_dev_sign_in_lists_demo_users_per_city_and_sets_an_httponly_token() -> None:
    with portal_client(default_services()) as client:
        html = client.get("/masuk").text
        for city in ("Cimahi", "Tegal"):
            assert city in html
        assert VENDOR_1[:8] in html and "Pengelola Pasar Atas Baru" in html and "Admin kota" in html
        response = client.post("/masuk/demo", data={"city": "cimahi", "user": "vendor:1", "next": ""})
        assert response.status_code == 303 and response.headers["location"] == "/kota/cimahi/pedagang"
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
        claims = verify(client.cookies[TOKEN_COOKIE])
        assert claims["city"] == "cimahi" and claims["roles"] == ["vendor"] and claims["vendor_id"] == VENDOR_1
        response = client.post("/masuk/demo", data={"city": "tegal", "user": "market_admin:pasar-pagi"})
        claims = verify(client.cookies[TOKEN_COOKIE])
        assert claims["market_id"] and claims["sub"] == "demo-market-admin-tegal-pasar-pagi"


def test_pasted_token_sign_in_and_a_bad_token_is_a_form_error() -> None:
    from tests.portal.fakes import token

    with portal_client(default_services()) as client:
        bad = client.post("/masuk/token", data={"token": "not-a-token"})
        assert bad.status_code == 400
        assert 'id="e-token"' in bad.text and "Token tidak valid" in bad.text and 'value="not-a-token"' in bad.text
        good = client.post("/masuk/token", data={"token": token("city_admin", "tegal")})
        assert good.status_code == 303 and good.headers["location"] == "/kota/tegal/dasbor"


def test_demo_sign_in_is_refused_in_production(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from portal.settings import PortalSettings

    monkeypatch.setattr(PortalSettings, "dev_mode", property(lambda self: False))
    with portal_client(default_services()) as client:
        page = client.get("/masuk").text
        assert "pengguna demo" not in page and "Masuk dengan token" in page
        assert client.post("/masuk/demo", data={"city": "cimahi", "user": "buyer:1"}).status_code == 404


def test_a_user_never_sees_another_citys_data() -> None:
    fake = default_services()
    with portal_client(fake, "buyer", "cimahi") as client:
        for path in ("/kota/tegal", "/kota/tegal/cari?q=ikan", "/kota/tegal/pesanan", "/kota/tegal/keranjang"):
            page = client.get(path)
            assert page.status_code == 403, path
            assert "Bukan kota Anda" in page.text
        assert not [c for c in fake.calls if "/tegal/" in c[2]]   # the services were never asked
        assert client.get("/kota/cimahi").status_code == 200


def test_signed_out_buyer_pages_redirect_to_sign_in_and_wrong_role_is_refused() -> None:
    with portal_client(default_services()) as client:
        response = client.get("/kota/cimahi/pesanan")
        assert response.status_code == 303 and response.headers["location"] == "/masuk?next=/kota/cimahi/pesanan"
    with portal_client(default_services(), "trainer") as client:
        page = client.get("/kota/cimahi/dasbor")
        assert page.status_code == 403 and "Admin kota" in page.text


def test_a_down_service_shows_a_friendly_page_with_retry_never_a_stack_trace() -> None:
    fake = default_services()
    fake.down.add("catalog")
    with portal_client(fake) as client:
        page = client.get("/kota/cimahi/cari?q=cabai")
        assert page.status_code == 503
        assert "Layanan sedang tidak tersedia" in page.text and "Katalog pasar" in page.text
        assert 'href="/kota/cimahi/cari?q=cabai"' in page.text and "Coba lagi" in page.text
        assert "Traceback" not in page.text and "ConnectError" not in page.text
    fake = default_services()
    fake.on("catalog", "GET", r"/cities/cimahi/markets", lambda r, m: httpx.Response(500, text="boom"))
    with portal_client(fake) as client:
        page = client.get("/kota/cimahi")
        assert page.status_code == 503 and "boom" not in page.text


def test_unknown_pages_and_cities_are_indonesian_404s() -> None:
    with portal_client(default_services()) as client:
        assert "Halaman tidak ditemukan" in client.get("/tidak-ada").text
        page = client.get("/kota/atlantis")
        assert page.status_code == 404 and "Kota tidak ditemukan" in page.text


def test_search_and_market_page_show_rupiah_and_the_daily_price_list() -> None:
    fake = default_services()
    fake.on("catalog", "GET", rf"/cities/cimahi/markets/{CIMAHI_MARKET}",
            {"id": CIMAHI_MARKET, "name": "Pasar Atas Baru", "address": "Jl. Gandawijaya", "opens_at": "05:00",
             "closes_at": "14:00", "vendors": []})
    fake.on("catalog", "GET", rf"/cities/cimahi/markets/{CIMAHI_MARKET}/prices",
            {"date": "2026-11-27", "items": [{"product_id": "p-cabai", "name": "Cabai rawit", "unit": "kg",
                                              "vendor_name": "Lapak Bu Sri", "price": 45000, "change": 5000}]})
    with portal_client(fake) as client:
        page = client.get("/kota/cimahi/cari?q=cabai")
        assert page.status_code == 200 and "Cabai rawit" in page.text and "Rp 45.000" in page.text
        assert fake.called("catalog", "GET", "/products")[-1][2] == "/cities/cimahi/products"
        market = client.get(f"/kota/cimahi/pasar/{CIMAHI_MARKET}").text
        assert "Daftar harga hari ini" in market and "Jumat, 27 Nov 2026" in market and "▲ Rp 5.000" in market


def test_quantity_error_is_shown_next_to_the_field_and_keeps_the_typed_value() -> None:
    with portal_client(default_services(), "buyer") as client:
        page = client.post("/kota/cimahi/keranjang", data={"product_id": "p-cabai", "quantity": "25"})
        assert page.status_code == 422
        assert 'id="e-quantity"' in page.text and "Maksimal 10" in page.text
        assert 'value="25"' in page.text and 'aria-invalid="true"' in page.text
        ok = client.post("/kota/cimahi/keranjang", data={"product_id": "p-cabai", "quantity": "2"})
        assert ok.status_code == 303 and CART_COOKIE in ok.headers["set-cookie"]
        assert "Rp 90.000" in client.get("/kota/cimahi/keranjang").text


def test_checkout_sends_an_idempotency_key_per_form_and_maps_problem_errors_to_fields() -> None:
    fake = default_services()
    fake.on("orders", "POST", r"/cities/cimahi/orders", lambda r, m: problem(
        422, "Periksa kembali isian Anda. / Please check the submitted data.", "validation-error",
        errors=[{"field": "fulfilment.street", "message": "String should have at most 200 characters",
                 "type": "string_too_long"}]))
    with portal_client(fake, "buyer") as client:
        client.cookies.set(CART_COOKIE, _cart_cookie())
        form = client.get("/kota/cimahi/checkout").text
        import re

        key = re.search(r'name="idempotency_key" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        assert "Hub RW 03 Cibabat" in form
        # the portal's own check first: RW hub chosen but no hub
        page = client.post("/kota/cimahi/checkout", data={"fulfilment": "pickup_rw_hub", "rw_hub_id": "",
                                                          "idempotency_key": key})
        assert page.status_code == 422 and 'id="e-rw_hub_id"' in page.text and not fake.called("orders", "POST")
        # the service's refusal lands next to the field, with what the buyer typed kept
        assert "Cibabat (+Rp 8.000)" in form  # the kelurahan with their fees, the slots on offer
        typed = "Jl. Melati No. 5, RT 02"
        page = client.post("/kota/cimahi/checkout", data={
            "fulfilment": "delivery", "street": typed, "phone": "0812 1111 2222", "kelurahan": "Cibabat",
            "rw": "03", "slot": "2026-12-03|10:00-12:00", "idempotency_key": key})
        assert page.status_code == 422
        assert 'id="e-street"' in page.text and "Terlalu panjang." in page.text
        assert f'value="{typed}"' in page.text and "Periksa kembali isian Anda." in page.text
        sent = fake.called("orders", "POST", "/orders")[-1]
        assert sent[4]["idempotency-key"] == key
        assert sent[3] == {"market_id": CIMAHI_MARKET, "fulfilment": {
            "type": "delivery", "street": typed, "phone": "0812 1111 2222", "kelurahan": "Cibabat", "rw": "03",
            "note": None, "slot_date": "2026-12-03", "slot_window": "10:00-12:00"},
            "items": [{"product_id": "p-cabai", "quantity": 2}]}
        missing = client.post("/kota/cimahi/checkout", data={"fulfilment": "delivery", "street": "Jl. Melati 5",
                                                             "idempotency_key": key})
        assert missing.status_code == 422 and 'id="e-phone"' in missing.text and 'id="e-slot"' in missing.text


def test_checkout_with_rw_hub_pickup_goes_to_the_payment_page_and_empties_the_cart() -> None:
    fake = default_services()
    fake.on("orders", "POST", r"/cities/cimahi/orders", lambda r, m: httpx.Response(201, json=order("placed")))
    with portal_client(fake, "buyer") as client:
        client.cookies.set(CART_COOKIE, _cart_cookie())
        response = client.post("/kota/cimahi/checkout", data={"fulfilment": "pickup_rw_hub", "rw_hub_id": HUB,
                                                              "idempotency_key": "k-1"})
        assert response.status_code == 303 and response.headers["location"] == "/kota/cimahi/pesanan/o-1/bayar"
        assert fake.called("orders", "POST")[-1][3]["fulfilment"] == {"type": "pickup_rw_hub", "rw_hub_id": HUB}


def test_payment_page_shows_qris_amount_merchant_countdown_and_polls_status() -> None:
    fake = default_services()
    with portal_client(fake, "buyer") as client:
        page = client.get("/kota/cimahi/pesanan/o-1/bayar").text
        assert "Rp 90.000" in page and "Menunggu Pembayaran" in page
        assert 'src="/kota/cimahi/pesanan/o-1/qris.png"' in page and 'id="countdown"' in page
        assert "20.15" in page           # expiry shown in WIB
        assert "Bayar dengan simulator" in page
        status = client.get("/kota/cimahi/pesanan/o-1/status.json").json()
        assert status["awaiting"] is True and status["paid"] is False
        fake.on("orders", "GET", r"/cities/cimahi/orders/o-1", order("paid"))
        status = client.get("/kota/cimahi/pesanan/o-1/status.json").json()
        assert status["paid"] is True and status["label"] == "Dibayar"
        # the QR comes from payments' image when it has one, drawn from the payload otherwise
        png = client.get("/kota/cimahi/pesanan/o-1/qris.png")
        assert png.status_code == 200 and png.content[:4] == b"\x89PNG"


def test_simulator_button_asks_payments_to_pay_the_qris() -> None:
    fake = default_services()
    fake.on("payments", "POST", r"/simulator/cimahi/pay", {"status": "sent"})
    with portal_client(fake, "buyer") as client:
        response = client.post("/kota/cimahi/pesanan/o-1/simulasi-bayar", headers={"Accept": "application/json"})
        assert response.status_code == 200 and "Simulator sudah membayar" in response.json()["message"]
        assert fake.called("payments", "POST", "/simulator/cimahi/pay")[-1][3] == {"qris": order()["payment"]["qris"]}


def test_my_orders_show_status_words_and_pickup_code() -> None:
    fake = default_services()
    fake.on("orders", "GET", r"/cities/cimahi/orders", {"orders": [order("ready"), order("awaiting_payment",
                                                                                         order_id="o-2")]})
    with portal_client(fake, "buyer") as client:
        page = client.get("/kota/cimahi/pesanan").text
        assert "Siap Diambil" in page and "482913" in page and "Menunggu Pembayaran" in page


def test_vendor_pages_prepare_and_report_errors_in_indonesian() -> None:
    fake = default_services()
    paid = order("paid", vendor_total=90000)
    fake.on("orders", "GET", r"/cities/cimahi/vendor/orders", {"orders": [paid]})
    fake.on("catalog", "GET", r"/cities/cimahi/me/vendor", {"id": VENDOR_1, "name": "Lapak Bu Sri", "trained": True})
    fake.on("orders", "POST", r"/cities/cimahi/vendor/orders/o-1/prepared", paid)
    fake.on("orders", "POST", r"/cities/cimahi/vendor/orders/o-1/lines/l-1/accept",
            lambda r, m: problem(409, "Baris ini sudah diproses. / Already handled.", "order-state-conflict"))
    with portal_client(fake, "vendor", vendor_id=VENDOR_1) as client:
        page = client.get("/kota/cimahi/pedagang").text
        assert "Lapak Bu Sri" in page and "Terlatih" in page and "Rp 90.000" in page and "Sudah dikemas" in page
        done = client.post("/kota/cimahi/pedagang/pesanan/o-1/siap")
        assert done.status_code == 303 and "dikemas" in done.headers["location"]
        refused = client.post("/kota/cimahi/pedagang/pesanan/o-1/terima", data={"line_id": "l-1"})
        assert "sudah" in refused.headers["location"].lower()


def test_dashboard_draws_the_funnel_and_order_volumes_as_svg_and_proxies_csv() -> None:
    fake = default_services()
    steps = ["enrolled", "attended", "certified", "became_vendor", "first_sale", "repeat_sale_30d"]
    row = dict(zip(steps, [40, 31, 25, 6, 4, 2], strict=True))
    fake.on("learning", "GET", r"/cities/cimahi/admin/reports/funnel", lambda r, m: (
        httpx.Response(200, text="dimension,key\ntotal,all\n", headers={"content-type": "text/csv"})
        if r.url.params.get("format") == "csv" else httpx.Response(200, json={
            "steps": steps, "total": row, "by_style": [{"style": "in_person", **row}],
            "by_group": [{"group": "pelaku_usaha", **row}], "by_rw": [{"kelurahan": "Cibabat", "rw": "03", **row}]})))
    fake.on("orders", "GET", r"/cities/cimahi/orders", {"orders": [order("paid", paid_amount=90000), order()]})
    with portal_client(fake, "city_admin") as client:
        page = client.get("/kota/cimahi/dasbor").text
        assert page.count("<svg") >= 4 and "Tatap muka" in page and "Bersertifikat" in page
        assert 'data-step="certified">25<' in page and "porsi QRIS 50%" in page
        csv = client.get("/kota/cimahi/dasbor/unduh/corong.csv")
        assert csv.status_code == 200 and csv.text.startswith("dimension,key")
        assert "attachment" in csv.headers["content-disposition"]
        assert client.get("/kota/cimahi/dasbor/unduh/pesanan.csv").text.startswith("order_id,")
        assert client.get("/kota/cimahi/dasbor/unduh/rahasia.csv").status_code == 404
    # one panel's service down: the rest of the dashboard still shows
    fake.down.add("learning")
    with portal_client(fake, "city_admin") as client:
        page = client.get("/kota/cimahi/dasbor")
        assert page.status_code == 200 and "Data pelatihan tidak tersedia" in page.text and "porsi QRIS" in page.text


def test_public_certificate_verification() -> None:
    fake = default_services()
    fake.on("learning", "GET", r"/certificates/CMH-AB12", {
        "valid": True, "code": "CMH-AB12", "name": "Siti Rahma", "programme": "Jualan Online untuk PKK",
        "programme_style": "in_person", "partner": None, "city": "cimahi", "city_name": "Cimahi",
        "issued_on": "2026-11-20"})
    with portal_client(fake) as client:
        ok = client.get("/sertifikat?kode=CMH-AB12").text
        assert "Sertifikat asli" in ok and "Siti Rahma" in ok and "Jumat, 20 Nov 2026" in ok
        missing = client.get("/sertifikat?kode=XXXX-0000")
        assert missing.status_code == 404 and 'id="e-kode"' in missing.text and 'value="XXXX-0000"' in missing.text


def test_participant_check_in_error_is_next_to_the_code_field() -> None:
    fake = default_services()
    fake.on("learning", "GET", r"/cities/cimahi/me/enrolments", {"enrolments": [
        {"enrolment_id": "e1", "session_id": "s1", "status": "booked"}]})
    fake.on("learning", "POST", r"/cities/cimahi/sessions/s1/check-in",
            lambda r, m: problem(422, "Kode presensi salah atau kedaluwarsa. / Wrong code.", "wrong-code"))
    with portal_client(fake, "participant") as client:
        page = client.post("/kota/cimahi/pelatihan/hadir", data={"session_id": "s1", "code": "123456"})
        assert page.status_code == 422 and 'id="e-code"' in page.text
        assert "Kode presensi salah" in page.text and 'value="123456"' in page.text


def test_checkout_refusal_codes_land_on_their_field() -> None:
    fake = default_services()
    fake.on("orders", "POST", r"/cities/cimahi/orders", lambda r, m: problem(
        422, "Hub RW tidak dikenal. / Unknown RW hub.", "unknown-rw-hub"))
    with portal_client(fake, "buyer") as client:
        client.cookies.set(CART_COOKIE, _cart_cookie())
        page = client.post("/kota/cimahi/checkout", data={"fulfilment": "pickup_rw_hub", "rw_hub_id": HUB,
                                                          "idempotency_key": "k"})
        assert page.status_code == 422 and 'id="e-rw_hub_id"' in page.text and "Hub RW tidak dikenal." in page.text


def test_market_admin_verifies_a_draft_into_their_market_and_suspends_with_a_reason() -> None:
    fake = default_services()
    fake.on("catalog", "GET", r"/cities/cimahi/admin/vendors", lambda r, m: httpx.Response(200, json={"items": [
        {"id": f"v-{r.url.params.get('status', 'active')}", "name": f"Lapak {r.url.params.get('status', 'active')}",
         "owner_name": "Bu Sri", "categories": ["sayur"]}]}))
    fake.on("catalog", "GET", r"/cities/cimahi/admin/vendor-drafts", {"items": [
        {"id": "v-draft", "name": "Draf Rina", "owner_name": "Rina", "categories": []}]})
    fake.on("orders", "GET", r"/cities/cimahi/orders", {"orders": [order("ready")]})
    fake.on("catalog", "POST", r"/cities/cimahi/vendors/v-draft/verify", {"id": "v-draft", "status": "pending"})
    fake.on("catalog", "POST", r"/cities/cimahi/vendors/v-active/suspend", {"id": "v-active", "status": "suspended"})
    with portal_client(fake, "market_admin", market_id=CIMAHI_MARKET) as client:
        page = client.get("/kota/cimahi/pengelola").text
        assert "Draf Rina" in page and "Verifikasi ke pasar ini" in page and "Lapak pending" in page
        assert "Pesanan o-1" in page          # ready at the hub: the admin confirms the buyer's code
        response = client.post("/kota/cimahi/pengelola/pedagang/v-draft", data={"action": "verify"})
        assert response.status_code == 303 and "diverifikasi" in response.headers["location"]
        assert fake.called("catalog", "POST", "/verify")[-1][3] == {"market_id": CIMAHI_MARKET}
        # suspending: a reason and a confirmation step (issue #13); without them nothing is sent
        unconfirmed = client.post("/kota/cimahi/pengelola/pedagang/v-active",
                                  data={"action": "suspend", "reason": "Lapak tutup"})
        assert unconfirmed.status_code == 422 and 'id="e-confirm"' in unconfirmed.text
        assert not fake.called("catalog", "POST", "/suspend")
        client.post("/kota/cimahi/pengelola/pedagang/v-active", data={"action": "suspend", "reason": "Lapak tutup",
                                                                     "confirm": "1"})
        assert fake.called("catalog", "POST", "/suspend")[-1][3] == {"reason": "Lapak tutup"}
        assert client.post("/kota/cimahi/pengelola/pedagang/v-active", data={"action": "hapus"}).status_code == 404


def test_trainer_qr_opens_the_portal_check_in_form_with_the_current_code() -> None:
    import zxingcpp  # type: ignore[import-not-found]
    from PIL import Image

    fake = default_services()
    fake.on("learning", "GET", r"/cities/cimahi/trainer/sessions/s1/check-in-code", {
        "session_id": "s1", "code": "493021", "valid_until": "2026-11-27T13:16:00+00:00",
        "rotates_every_seconds": 60, "check_in_open": True, "check_in_opens_at": "2026-11-27T12:45:00+00:00",
        "check_in_closes_at": "2026-11-27T15:00:00+00:00"})
    fake.on("learning", "GET", r"/cities/cimahi/trainer/sessions/s1/roster", {
        "session": {"session_id": "s1", "title": "Foto produk", "starts_at": "2026-11-27T13:00:00+00:00"},
        "roster": [{"enrolment_id": "e1", "name": "Rina", "group": "pkk", "rw": "03", "status": "booked",
                    "attendance": None}]})
    with portal_client(fake, "trainer") as client:
        page = client.get("/kota/cimahi/pelatih/sesi/s1").text
        assert "493021" in page and "Rina" in page and "Tandai Rina hadir" in page
        png = client.get("/kota/cimahi/pelatih/sesi/s1/kode.png")
        import io

        decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
        assert decoded and decoded[0].text == "http://testserver/kota/cimahi/pelatihan/hadir?sesi=s1&kode=493021"


def test_participant_enrolment_into_a_full_class_says_waitlist() -> None:
    fake = default_services()
    fake.on("learning", "POST", r"/cities/cimahi/sessions/s1/enrolments",
            lambda r, m: httpx.Response(201, json={"enrolment_id": "e1", "status": "waitlisted", "position": 3}))
    with portal_client(fake, "participant") as client:
        response = client.post("/kota/cimahi/pelatihan/sesi/s1/daftar")
        from urllib.parse import unquote

        assert "daftar tunggu nomor 3" in unquote(response.headers["location"])


def test_a_method_the_page_does_not_take_is_405_with_allow() -> None:
    with portal_client(default_services()) as client:
        response = client.request("DELETE", "/masuk")
        assert response.status_code == 405
        assert "GET" in response.headers["allow"]
        assert "tidak didukung" in response.text


def test_a_product_from_another_market_asks_before_replacing_the_cart() -> None:
    fake = default_services()
    fake.on("catalog", "GET", r"/cities/cimahi/products/p-ikan",
            {**PRODUCT, "id": "p-ikan", "name": "Ikan mas", "market_id": "m-lain", "market_name": "Pasar Lain"})
    with portal_client(fake, "buyer") as client:
        client.cookies.set(CART_COOKIE, _cart_cookie())
        asked = client.post("/kota/cimahi/keranjang", data={"product_id": "p-ikan", "quantity": "1"})
        assert asked.status_code == 409 and 'data-testid="replace-cart"' in asked.text
        assert 'name="replace" value="ya"' in asked.text and "set-cookie" not in asked.headers  # cart untouched
        assert "Cabai rawit" in client.get("/kota/cimahi/keranjang").text
        replaced = client.post("/kota/cimahi/keranjang", data={"product_id": "p-ikan", "quantity": "1",
                                                               "replace": "ya"})
        assert replaced.status_code == 303 and "diganti" in replaced.headers["location"].replace("%20", " ")


def test_a_refusal_is_shown_in_the_error_style() -> None:
    with portal_client(default_services(), "buyer") as client:
        refused = client.get("/kota/cimahi/keranjang?pesan=Kode%20salah&galat=1").text
        ok = client.get("/kota/cimahi/keranjang?pesan=Keranjang%20diperbarui.").text
    assert 'class="alert" role="alert" data-testid="refused">Kode salah' in refused
    assert 'class="flash" role="status">Keranjang diperbarui.' in ok


def test_the_portal_publishes_no_api_document() -> None:
    """The portal's routes are HTML forms for people; the APIs other teams build on are the services' documents."""
    from fastapi.testclient import TestClient

    from portal.app import app

    with TestClient(app) as client:
        assert client.get("/openapi.json").status_code == 404
        assert client.get("/docs").status_code == 404
