from datetime import UTC, date, datetime

from portal import charts
from portal.cart import Cart, load_cart
from portal.client import field_errors_of
from portal.filters import jam, rupiah, status_label, tanggal, tanggal_jam


def test_rupiah_uses_dots_and_no_decimals() -> None:
    assert rupiah(15000) == "Rp 15.000"
    assert rupiah(1250000) == "Rp 1.250.000"
    assert rupiah(0) == "Rp 0"
    assert rupiah(-2500) == "-Rp 2.500"
    assert rupiah(None) == "—"
    assert rupiah("abc") == "—"


def test_times_are_shown_in_jakarta() -> None:
    instant = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)      # 00:30 the next day in Jakarta
    assert tanggal_jam(instant) == "28 Nov 2026 00.30 WIB"
    assert tanggal_jam("2026-11-27T13:15:00Z") == "27 Nov 2026 20.15 WIB"
    assert jam("2026-11-27T13:15:00+00:00") == "20.15"
    assert tanggal(date(2026, 11, 27)) == "Jumat, 27 Nov 2026"
    assert tanggal("2026-08-17") == "Senin, 17 Agu 2026"
    assert tanggal_jam(None) == "—" and tanggal_jam("not a date") == "—"


def test_status_words_are_the_marketplace_ones() -> None:
    assert status_label("awaiting_payment") == "Menunggu Pembayaran"
    assert status_label("paid") == "Dibayar"
    assert status_label("ready") == "Siap Diambil"
    assert status_label("ready", "delivery") == "Siap Dikirim"
    assert status_label("payment_expired") == "Waktu Pembayaran Habis"
    assert status_label("refunded") == "Dana Dikembalikan"


def test_problem_errors_map_to_form_field_names() -> None:
    body = {"detail": "Periksa kembali isian Anda. / Please check.", "errors": [
        {"field": "fulfilment.rw_hub_id", "message": "Field required", "type": "missing"},
        {"field": "items.0.quantity", "message": "Input should be greater than or equal to 1",
         "type": "greater_than_equal"}]}
    assert field_errors_of(body) == {"rw_hub_id": "Wajib diisi.", "quantity": "Nilainya terlalu kecil."}
    assert field_errors_of({"detail": "Kode salah. / Wrong.", "field": "code"}) == {"code": "Kode salah."}
    assert field_errors_of("nonsense") == {}


def test_cart_cookie_is_signed_and_city_bound() -> None:
    cart = Cart("cimahi")
    cart.add({"id": "p1", "market_id": "m1", "name": "Tempe", "unit": "papan", "price": 5000}, 2)
    cart.add({"id": "p1", "market_id": "m1", "name": "Tempe", "unit": "papan", "price": 5000}, 1)
    raw = cart.dump("secret")
    again = load_cart(raw, "secret", "cimahi")
    assert [(li.product_id, li.quantity) for li in again.lines] == [("p1", 3)] and again.subtotal == 15000
    assert load_cart(raw, "other-secret", "cimahi").lines == []          # forged
    assert load_cart(raw, "secret", "tegal").lines == []                 # another city's cart
    assert load_cart(raw[:-3] + "abc", "secret", "cimahi").lines == []   # tampered
    # another market's product starts a new cart: orders are per market
    assert again.add({"id": "p9", "market_id": "m2", "name": "Ikan", "unit": "kg", "price": 30000}, 1) is True
    assert [li.product_id for li in again.lines] == ["p9"]


def test_svg_charts_carry_labels_and_values() -> None:
    svg = str(charts.funnel_chart("Corong", [("Mendaftar", 40), ("Hadir", 30), ("Bersertifikat", 0)]))
    assert svg.startswith("<svg") and 'role="img"' in svg and "<title>Corong</title>" in svg
    assert "Hadir (75%)" in svg and ">30<" in svg and ">0<" in svg
    grouped = str(charts.grouped_funnel("Per gaya", [("Tatap muka", [3, 2]), ("Webinar", [5, 1])], ["A", "B"]))
    assert grouped.count("<rect") >= 6 and "Webinar" in grouped
    assert "Belum ada data" in str(charts.bar_chart("Kosong", []))
    assert "&lt;script&gt;" in str(charts.bar_chart("x", [("<script>", 1)]))
