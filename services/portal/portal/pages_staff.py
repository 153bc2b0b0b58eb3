"""Vendor, market admin and city admin pages."""

from __future__ import annotations

import asyncio
import csv
import io
from collections import Counter
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from portal import charts
from portal.client import ApiError, ServiceUnavailable, items_of
from portal.filters import GROUP_LABELS, STYLE_LABELS, status_label, to_jakarta
from portal.web import PageError, Refusal, api, chat_links, form_dict, need, redirect, render, to_int
from shared.logging import get_logger

router = APIRouter()
log = get_logger(__name__)

TO_PREPARE = ("paid", "preparing")
SOLD = ("paid", "preparing", "ready", "out_for_delivery", "completed")


# ------------------------------------------------------------------------------------------------ vendor

def _when(order: dict[str, Any]) -> date | None:
    """The Jakarta day an order was paid (or placed), when orders sends a time with it."""
    dt = to_jakarta(order.get("paid_at") or order.get("created_at"))
    return dt.date() if dt else None


async def _money_of(client: Any, city: str, vendor_id: str | None, token: str) -> Any:
    """The vendor's balance from payments' ledger; the page still works (without it) when payments is down."""
    try:
        return await client.get("payments", f"/cities/{city}/vendors/{vendor_id}/balance", token=token)
    except (ServiceUnavailable, ApiError) as exc:
        log.warning("vendor balance unavailable", error=repr(exc)[:200])
        return None


@router.get("/kota/{city}/pedagang", response_class=HTMLResponse)
async def vendor_home(request: Request, city: str) -> Response:
    c, who, token = need(request, city, "vendor")
    client = api(request)
    orders_data, vendor, money = await asyncio.gather(
        client.get("orders", f"/cities/{city}/vendor/orders", token=token, params={"limit": 100}),
        client.get("catalog", f"/cities/{city}/me/vendor", token=token),
        _money_of(client, city, who.vendor_id, token))
    # an order whose every line of this vendor was rejected is neither to prepare nor a sale of theirs
    orders = [o for o in items_of(orders_data, "orders") if not o.get("vendor_all_rejected")]
    prepare = [o for o in orders if o.get("status") in TO_PREPARE]
    ready = [o for o in orders if o.get("status") == "ready"]
    sold = [o for o in orders if o.get("status") in SOLD]
    today_only = any(_when(o) for o in sold)
    if today_only:  # orders that carry a time: count today's (Jakarta) only
        sold = [o for o in sold if _when(o) == datetime.now(c.tz).date()]
    sales = {"orders": len(sold), "amount": sum(int(o.get("vendor_total") or 0) for o in sold),
             "completed": sum(1 for o in sold if o.get("status") == "completed"), "today_only": today_only}
    shown = [o["order_id"] for o in prepare + ready][:20]
    links = await asyncio.gather(*(chat_links(request, city, order_id, token) for order_id in shown))
    return render(request, "vendor.html", {"city": c, "vendor": vendor, "prepare": prepare, "ready": ready,
                                           "sales": sales, "vendor_id": who.vendor_id, "money": money,
                                           "contacts": dict(zip(shown, links, strict=True))})


@router.post("/kota/{city}/pedagang/pesanan/{order_id}/{action}")
async def vendor_order_action(request: Request, city: str, order_id: str, action: str) -> Response:
    _, _, token = need(request, city, "vendor")
    form = form_dict(await request.form())
    line_id = form.get("line_id", "")
    paths = {"terima": (f"/lines/{line_id}/accept", None, "Barang diterima untuk disiapkan."),
             "tolak": (f"/lines/{line_id}/reject", {"reason": form.get("reason") or "unavailable"},
                       "Barang ditolak; dana pembeli untuk barang itu dikembalikan."),
             "siap": ("/prepared", None, "Pesanan ditandai sudah dikemas.")}
    if action not in paths or (action in ("terima", "tolak") and not line_id):
        raise PageError(404, "Tindakan tidak dikenal", "Tindakan ini tidak ada.")
    suffix, body, ok = paths[action]
    try:
        await api(request).post("orders", f"/cities/{city}/vendor/orders/{order_id}{suffix}", token=token,
                                json=body)
        message = ok
    except ApiError as exc:
        message = Refusal(exc.message)
    return redirect(f"/kota/{city}/pedagang", message)


async def _confirm_pickup(request: Request, city: str, token: str, back: str) -> Response:
    form = form_dict(await request.form())
    order_id, code = form.get("order_id", "").strip(), form.get("code", "").strip()
    if not code:
        return redirect(back, Refusal("Masukkan kode pengambilan dari pembeli."))
    try:
        await api(request).post("orders", f"/cities/{city}/orders/{order_id}/pickup", token=token,
                                json={"code": code})
        message = "Kode benar. Pesanan selesai."
    except ApiError as exc:
        message = Refusal(exc.message)
    return redirect(back, message)


@router.post("/kota/{city}/pedagang/ambil")
async def vendor_pickup(request: Request, city: str) -> Response:
    _, _, token = need(request, city, "vendor")
    return await _confirm_pickup(request, city, token, f"/kota/{city}/pedagang")


@router.get("/kota/{city}/pedagang/produk", response_class=HTMLResponse)
async def vendor_products(request: Request, city: str) -> Response:
    c, _, token = need(request, city, "vendor")
    client = api(request)
    products, options = await asyncio.gather(client.get("catalog", f"/cities/{city}/me/products", token=token),
                                             client.get("catalog", f"/cities/{city}/product-options"))
    return render(request, "vendor_products.html", {"city": c, "products": items_of(products), "options": options,
                                                    "form": {}, "errors": {}})


@router.post("/kota/{city}/pedagang/produk/{product_id}")
async def vendor_edit_product(request: Request, city: str, product_id: str) -> Response:
    c, _, token = need(request, city, "vendor")
    form = form_dict(await request.form())
    client = api(request)
    errors: dict[str, str] = {}
    price = to_int(form.get("price"))
    if price is None or price < 1:
        errors["price"] = "Harga harus angka bulat rupiah, minimal 1."
    stock_raw = form.get("stock", "").strip()
    stock = to_int(stock_raw) if stock_raw else None
    if stock_raw and (stock is None or stock < 0):
        errors["stock"] = "Stok harus angka bulat 0 atau lebih (kosongkan untuk barang segar)."
    if not errors:
        try:
            if form.get("old_price") != str(price):
                await client.put("catalog", f"/cities/{city}/products/{product_id}/price", token=token,
                                 json={"price": price})
            await client.put("catalog", f"/cities/{city}/products/{product_id}/stock", token=token,
                             json={"stock": stock, "available": form.get("available") == "1"})
            return redirect(f"/kota/{city}/pedagang/produk", "Produk diperbarui.")
        except ApiError as exc:
            errors = dict(exc.field_errors) or {"_form": exc.message}
            errors.setdefault("_form", exc.message)
    products, options = await asyncio.gather(client.get("catalog", f"/cities/{city}/me/products", token=token),
                                             client.get("catalog", f"/cities/{city}/product-options"))
    return render(request, "vendor_products.html", {"city": c, "products": items_of(products), "options": options,
                                                    "edit_id": product_id, "form": form, "errors": errors},
                  status_code=422)


@router.post("/kota/{city}/pedagang/produk")
async def vendor_new_product(request: Request, city: str) -> Response:
    c, _, token = need(request, city, "vendor")
    form = form_dict(await request.form())
    client = api(request)
    errors: dict[str, str] = {}
    price = to_int(form.get("price"))
    if not form.get("name", "").strip():
        errors["name"] = "Nama produk wajib diisi."
    if price is None or price < 1:
        errors["price"] = "Harga harus angka bulat rupiah, minimal 1."
    stock_raw = form.get("stock", "").strip()
    stock = to_int(stock_raw) if stock_raw else None
    if stock_raw and (stock is None or stock < 0):
        errors["stock"] = "Stok harus angka bulat 0 atau lebih."
    if not errors:
        body = {"name": form.get("name", "").strip(), "category": form.get("category"), "unit": form.get("unit"),
                "price": price, "stock": stock, "description": form.get("description", "").strip()}
        try:
            await client.post("catalog", f"/cities/{city}/products", token=token, json=body)
            return redirect(f"/kota/{city}/pedagang/produk", "Produk baru ditambahkan.")
        except ApiError as exc:
            errors = dict(exc.field_errors)
            errors["_form"] = exc.message
    products, options = await asyncio.gather(client.get("catalog", f"/cities/{city}/me/products", token=token),
                                             client.get("catalog", f"/cities/{city}/product-options"))
    return render(request, "vendor_products.html", {"city": c, "products": items_of(products), "options": options,
                                                    "new": True, "form": form, "errors": errors}, status_code=422)


# ------------------------------------------------------------------------------------------------ market admin

@router.get("/kota/{city}/pengelola", response_class=HTMLResponse)
async def market_admin_home(request: Request, city: str) -> Response:
    return await market_admin_page(request, city)


async def _market_admin_lists(request: Request, city: str) -> dict[str, Any]:
    """The vendor lists and ready orders of the page (``market_admin_page`` adds the back office)."""
    c, who, token = need(request, city, "market_admin", "city_admin")
    client = api(request)
    pending, active, suspended, drafts, orders = await asyncio.gather(
        client.get("catalog", f"/cities/{city}/admin/vendors", token=token, params={"status": "pending"}),
        client.get("catalog", f"/cities/{city}/admin/vendors", token=token, params={"status": "active"}),
        client.get("catalog", f"/cities/{city}/admin/vendors", token=token, params={"status": "suspended"}),
        client.get("catalog", f"/cities/{city}/admin/vendor-drafts", token=token),
        client.get("orders", f"/cities/{city}/orders", token=token, params={"mine": 0, "limit": 100}))
    ready = [o for o in items_of(orders, "orders") if o.get("status") == "ready"]
    return {
        "city": c, "pending": items_of(pending), "active": items_of(active), "suspended": items_of(suspended),
        "drafts": items_of(drafts), "ready": ready, "market_id": who.market_id}


@router.post("/kota/{city}/pengelola/pedagang/{vendor_id}")
async def market_admin_action(request: Request, city: str, vendor_id: str,
                              action: Annotated[str, Form(max_length=20)],
                              reason: Annotated[str, Form(max_length=300)] = "") -> Response:
    _, who, token = need(request, city, "market_admin", "city_admin")
    if action not in ("verify", "activate", "suspend"):
        raise PageError(404, "Tindakan tidak dikenal", "Tindakan ini tidak ada.")
    body: dict[str, Any] = {}
    if action == "suspend":  # a required reason and a confirmation step (market_admin_suspend_page)
        form = form_dict(await request.form())
        errors = _suspend_errors(form, reason)
        if errors:
            return await market_admin_suspend_page(request, city, vendor_id, form=form, errors=errors)
        body["reason"] = reason.strip()
    if who.market_id and action in ("verify", "activate"):
        body["market_id"] = who.market_id
    words = {"verify": "diverifikasi", "activate": "diaktifkan", "suspend": "dibekukan"}
    try:
        await api(request).post("catalog", f"/cities/{city}/vendors/{vendor_id}/{action}", token=token,
                                json=body or None)
        message = f"Pedagang {words[action]}."
    except ApiError as exc:
        message = Refusal(exc.message)
    return redirect(f"/kota/{city}/pengelola", message)


@router.post("/kota/{city}/pengelola/ambil")
async def market_admin_pickup(request: Request, city: str) -> Response:
    _, _, token = need(request, city, "market_admin", "city_admin")
    return await _confirm_pickup(request, city, token, f"/kota/{city}/pengelola")


# ------------------------------------------------------------------------------------------------ city admin

STEP_LABELS = {"enrolled": "Mendaftar", "attended": "Hadir", "certified": "Bersertifikat",
               "became_vendor": "Jadi pedagang", "first_sale": "Penjualan pertama",
               "repeat_sale_30d": "Penjualan berulang (30 hari)"}


async def _optional(coro: Any) -> Any:
    """A dashboard panel whose service is down shows 'tidak tersedia' instead of failing the whole page."""
    try:
        return await coro
    except (ServiceUnavailable, ApiError) as exc:
        return exc


def order_stats(orders: list[dict[str, Any]]) -> dict[str, Any]:
    by_label: Counter[str] = Counter()
    by_fulfilment: Counter[str] = Counter()
    paid_value = 0
    paid_count = 0
    for o in orders:
        status = str(o.get("status", ""))
        by_label[o.get("status_label") or status_label(status)] += 1
        by_fulfilment[(o.get("fulfilment") or {}).get("type", "?")] += 1
        if int(o.get("paid_amount") or 0) > 0 or status in SOLD:
            paid_count += 1
            paid_value += int(o.get("total") or 0)
    total = len(orders)
    return {"total": total, "by_status": by_label.most_common(), "by_fulfilment": by_fulfilment.most_common(),
            "paid_count": paid_count, "paid_value": paid_value,
            "qris_share": round(100 * paid_count / total) if total else 0}


@router.get("/kota/{city}/dasbor", response_class=HTMLResponse)
async def dashboard(request: Request, city: str) -> Response:
    c, _, token = need(request, city, "city_admin")
    client = api(request)
    funnel, orders = await asyncio.gather(
        _optional(client.get("learning", f"/cities/{city}/admin/reports/funnel", token=token)),
        _optional(client.get("orders", f"/cities/{city}/orders", token=token, params={"mine": 0, "limit": 200})))
    ctx: dict[str, Any] = {"city": c, "step_labels": STEP_LABELS, "funnel_error": None, "orders_error": None}
    if isinstance(funnel, Exception):
        ctx["funnel_error"] = "Data pelatihan tidak tersedia saat ini."
        funnel = None
    else:
        steps = list(funnel.get("steps") or STEP_LABELS)
        total = funnel.get("total") or {}
        ctx["funnel"] = funnel
        ctx["steps"] = steps
        ctx["funnel_total_svg"] = charts.funnel_chart(
            "Corong pelatihan ke penjualan, semua peserta", [(STEP_LABELS.get(s, s), int(total.get(s, 0)))
                                                            for s in steps])
        ctx["funnel_style_svg"] = charts.grouped_funnel(
            "Corong per gaya program", [(STYLE_LABELS.get(r.get("style"), str(r.get("style"))),
                                        [int(r.get(s, 0)) for s in steps]) for r in funnel.get("by_style", [])],
            [STEP_LABELS.get(s, s) for s in steps])
        ctx["funnel_group_svg"] = charts.bar_chart(
            "Bersertifikat per kelompok peserta", [(GROUP_LABELS.get(r.get("group"), str(r.get("group"))),
                                                   float(r.get("certified", 0))) for r in funnel.get("by_group", [])])
        ctx["by_rw"] = funnel.get("by_rw", [])
    if isinstance(orders, Exception):
        ctx["orders_error"] = "Data pesanan tidak tersedia saat ini."
    else:
        stats = order_stats(items_of(orders, "orders"))
        ctx["orders"] = stats
        ctx["orders_svg"] = charts.bar_chart("Pesanan per status", [(k, float(v)) for k, v in stats["by_status"]])
        ctx["qris_svg"] = charts.bar_chart("Pesanan dibayar dengan QRIS", [
            ("Dibayar (QRIS)", float(stats["paid_count"])),
            ("Belum/tidak dibayar", float(stats["total"] - stats["paid_count"]))])
    return render(request, "dashboard.html", ctx)


CSV_SOURCES = {
    "corong": ("learning", "/cities/{city}/admin/reports/funnel", {"format": "csv"}),
    "program": ("learning", "/cities/{city}/admin/reports/programmes", {}),
    "penyelesaian": ("payments", "/cities/{city}/settlements", {"format": "csv"}),
}


@router.get("/kota/{city}/dasbor/unduh/{name}.csv")
async def dashboard_csv(request: Request, city: str, name: str) -> Response:
    """CSV downloads, through the portal so the admin's token never leaves the server."""
    _, _, token = need(request, city, "city_admin")
    client = api(request)
    if name == "pesanan":
        orders = items_of(await client.get("orders", f"/cities/{city}/orders", token=token,
                                           params={"mine": 0, "limit": 200}), "orders")
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["order_id", "market_id", "status", "fulfilment", "subtotal", "delivery_fee", "total",
                         "paid_amount", "refunded_amount"])
        for o in orders:
            writer.writerow([o.get("order_id"), o.get("market_id"), o.get("status"),
                             (o.get("fulfilment") or {}).get("type"), o.get("subtotal"), o.get("delivery_fee"),
                             o.get("total"), o.get("paid_amount"), o.get("refunded_amount")])
        body = buffer.getvalue().encode()
    elif name in CSV_SOURCES:
        service, path, params = CSV_SOURCES[name]
        response = await client.send(service, "GET", path.format(city=city), token=token, params=params)
        if response.headers.get("content-type", "").startswith("text/csv"):
            body = response.content
        else:  # a JSON report: flatten its first list into CSV
            data = response.json()
            rows = next((v for v in data.values() if isinstance(v, list)), []) if isinstance(data, dict) else data
            buffer = io.StringIO()
            if rows:
                dict_writer = csv.DictWriter(buffer, fieldnames=list(rows[0].keys()), extrasaction="ignore")
                dict_writer.writeheader()
                dict_writer.writerows(rows)
            body = buffer.getvalue().encode()
    else:
        raise PageError(404, "Laporan tidak ditemukan", "Unduhan ini tidak ada.")
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}-{city}.csv"'})


# -------------------------------------------------------------------------------------- market admin: back office
# (issue #13) add a vendor by phone, assign stalls, suspend with a reason and a confirmation, unlock a locked pickup;
# the market's audit list (catalog and orders) as *Riwayat perubahan*.

async def market_admin_page(request: Request, city: str, *, form: dict[str, str] | None = None,
                            errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    from portal.pages_admin_city import _optional_audit, admin_history, stall_label

    _, who, token = need(request, city, "market_admin", "city_admin")
    client = api(request)
    ctx = await _market_admin_lists(request, city)
    ctx.update({"form": form or {}, "errors": errors or {}, "stalls": [], "entries": [], "taken": {}})
    if who.market_id:
        mid = who.market_id
        stalls, catalog_audit, orders_audit = await asyncio.gather(
            _optional_audit(client, "catalog", f"/cities/{city}/markets/{mid}/stalls", token),
            _optional_audit(client, "catalog", f"/cities/{city}/admin/markets/{mid}/audit", token),
            _optional_audit(client, "orders", f"/cities/{city}/markets/{mid}/audit", token))
        rows = [{**s, "label": stall_label(s)} for s in stalls]
        vendors = ctx["pending"] + ctx["active"] + ctx["suspended"]
        names = {s["id"]: s["label"] for s in rows} | {v["id"]: v["name"] for v in vendors}
        ctx["stalls"] = rows
        ctx["stall_names"] = {s["id"]: s["label"] for s in rows}
        ctx["taken"] = {s["id"]: names.get(s.get("vendor_id") or "", "") for s in rows if s.get("vendor_id")}
        merged = sorted(catalog_audit + orders_audit, key=lambda e: str(e.get("at")), reverse=True)
        for e in merged:
            if e.get("entity") == "order":
                e["label"] = "Pesanan " + str(e.get("entity_id"))[:8]
        ctx["entries"] = admin_history(merged[:100], names)
    return render(request, "market_admin.html", ctx, status_code=status_code)


@router.post("/kota/{city}/pengelola/tambah")
async def market_admin_add_vendor(request: Request, city: str) -> Response:
    """A vendor checked in person: name, owner, phone (and stall) → active at once in catalog; identity grants the
    ``vendor`` role to that phone from ``VendorActivated``, so they sign in with it."""
    from portal.pages_admin_city import api_errors, check_text

    _, who, token = need(request, city, "market_admin")
    form = form_dict(await request.form())
    errors: dict[str, str] = {}
    body: dict[str, Any] = {"name": check_text(form, errors, "name", max_len=120, required=True),
                            "owner_name": check_text(form, errors, "owner_name", max_len=120, required=True),
                            "phone": check_text(form, errors, "phone", max_len=20, required=True),
                            "stall_id": form.get("stall_id", "").strip()[:80] or None, "activate": True}
    if "phone" not in errors and not _looks_like_phone(body["phone"]):
        errors["phone"] = "Nomor HP seperti 0812-3456-7890."
    if not who.market_id:
        errors["_form"] = "Token pengelola pasar tanpa pasar."
    if not errors:
        try:
            vendor = await api(request).post("catalog", f"/cities/{city}/markets/{who.market_id}/vendors",
                                             token=token, json=body)
            return redirect(f"/kota/{city}/pengelola", f"Pedagang {vendor['name']} ditambahkan dan aktif. Ia masuk "
                            "dengan nomor HP-nya; kode masuk dikirim lewat WhatsApp.")
        except ApiError as exc:
            errors = api_errors(exc)
    return await market_admin_page(request, city, form=form, errors=errors, status_code=422)


def _looks_like_phone(value: str) -> bool:
    import re

    return bool(re.fullmatch(r"\+?[0-9][0-9 \-]{5,19}", value))


def _suspend_errors(form: dict[str, str], reason: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    text = reason.strip()
    if not text:
        errors["reason"] = "Tulis alasan pembekuan."
    elif any(ord(ch) < 32 for ch in text):
        errors["reason"] = "Tidak boleh berisi karakter kontrol."
    if form.get("confirm") != "1":
        errors["confirm"] = "Centang untuk memastikan."
    return errors


async def market_admin_suspend_page(request: Request, city: str, vendor_id: str, *,
                                    form: dict[str, str] | None = None, errors: dict[str, str] | None = None
                                    ) -> Response:
    c, _, token = need(request, city, "market_admin", "city_admin")
    vendors = items_of(await api(request).get("catalog", f"/cities/{city}/admin/vendors", token=token))
    vendor = next((v for v in vendors if v["id"] == vendor_id), None)
    if vendor is None:
        raise PageError(404, "Pedagang tidak ditemukan", "Pedagang ini tidak ada di pasar Anda.")
    return render(request, "market_admin_suspend.html", {"city": c, "vendor": vendor, "form": form or {},
                                                         "errors": errors or {}},
                  status_code=422 if errors else 200)


@router.get("/kota/{city}/pengelola/pedagang/{vendor_id}/bekukan", response_class=HTMLResponse)
async def market_admin_confirm_suspend(request: Request, city: str, vendor_id: str) -> Response:
    return await market_admin_suspend_page(request, city, vendor_id[:80])


@router.post("/kota/{city}/pengelola/pedagang/{vendor_id}/lapak")
async def market_admin_assign_stall(request: Request, city: str, vendor_id: str,
                                    stall_id: Annotated[str, Form(max_length=80)] = "") -> Response:
    _, _, token = need(request, city, "market_admin", "city_admin")
    try:
        await api(request).put("catalog", f"/cities/{city}/vendors/{vendor_id}/stall", token=token,
                               json={"stall_id": stall_id.strip() or None})
        message: str = "Lapak pedagang disimpan."
    except ApiError as exc:
        message = Refusal(exc.message)
    return redirect(f"/kota/{city}/pengelola", message)


@router.post("/kota/{city}/pengelola/buka-kunci")
async def market_admin_unlock_pickup(request: Request, city: str) -> Response:
    """After checking the buyer in person (ID, the order on their phone): the pickup's attempts come back."""
    _, _, token = need(request, city, "market_admin", "city_admin")
    form = form_dict(await request.form())
    order_id = form.get("order_id", "").strip()[:100]
    checked = form.get("checked", "").strip()
    if form.get("confirm") != "1":
        return redirect(f"/kota/{city}/pengelola", Refusal("Centang dulu bahwa pembeli sudah diperiksa langsung."))
    if len(checked) > 300 or any(ord(ch) < 32 for ch in checked):
        return redirect(f"/kota/{city}/pengelola", Refusal("Catatan pemeriksaan terlalu panjang atau tidak sah."))
    try:
        await api(request).post("orders", f"/cities/{city}/orders/{order_id}/pickup/unlock", token=token,
                                json={"checked": checked or "diperiksa langsung oleh pengelola pasar"})
        message: str = "Kunci dibuka. Minta pembeli menyebut kodenya lagi, lalu konfirmasi."
    except ApiError as exc:
        message = Refusal(exc.message)
    return redirect(f"/kota/{city}/pengelola", message)
