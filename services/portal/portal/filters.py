"""Jinja filters: money as ``Rp 15.000``, times in Asia/Jakarta, the order words people know."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from shared.measure import grams_label, line_amount, weight_steps

JAKARTA = ZoneInfo("Asia/Jakarta")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
_DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")

# orders' statuses → the words of Indonesian marketplaces. orders may also send its own `label`.
STATUS_LABELS = {
    "placed": "Menunggu Konfirmasi",
    "stock_reserved": "Menyiapkan Pembayaran",
    "awaiting_payment": "Menunggu Pembayaran",
    "paid": "Dibayar",
    "preparing": "Dikemas",
    "ready": "Siap Diambil",
    "out_for_delivery": "Dikirim",
    "completed": "Selesai",
    "cancelled": "Dibatalkan",
    "rejected": "Dibatalkan",
    "payment_expired": "Waktu Pembayaran Habis",
    "refund_requested": "Pengembalian Dana Diproses",
    "refunded": "Dana Dikembalikan",
}
FULFILMENT_LABELS = {"pickup_stall": "Ambil di lapak", "pickup_rw_hub": "Ambil di hub RW", "delivery": "Diantar"}
GROUP_LABELS = {"pkk": "PKK", "pelaku_usaha": "Pelaku usaha", "pengurus_rw": "Pengurus RW",
                "karang_taruna": "Karang Taruna", "lpm": "LPM", "umum": "Umum"}
STYLE_LABELS = {"in_person": "Tatap muka", "webinar": "Webinar", "hybrid": "Hibrida"}


def rupiah(value: Any) -> str:
    """``15000`` → ``Rp 15.000``; ``-2500`` → ``-Rp 2.500``; missing → ``—``."""
    if value is None or value == "":
        return "—"
    try:
        amount = int(value)
    except (TypeError, ValueError):
        return "—"
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp {abs(amount):,}".replace(",", ".")


def to_jakarta(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo("UTC"))
        return value.astimezone(JAKARTA)
    return None


def tanggal_jam(value: Any) -> str:
    """A UTC instant shown as Jakarta wall time: ``27 Nov 2026 20.15 WIB``."""
    dt = to_jakarta(value)
    if dt is None:
        return "—"
    return f"{dt.day} {_MONTHS[dt.month - 1]} {dt.year} {dt:%H.%M} WIB"


def jam(value: Any) -> str:
    dt = to_jakarta(value)
    return "—" if dt is None else f"{dt:%H.%M}"


def tanggal(value: Any) -> str:
    """A date (or an instant, in Jakarta): ``Jumat, 27 Nov 2026``."""
    if isinstance(value, str) and len(value) == 10:
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return "—"
    if isinstance(value, date) and not isinstance(value, datetime):
        d = value
    else:
        dt = to_jakarta(value)
        if dt is None:
            return "—"
        d = dt.date()
    return f"{_DAYS[d.weekday()]}, {d.day} {_MONTHS[d.month - 1]} {d.year}"


def status_label(status: Any, fulfilment: str | None = None) -> str:
    key = str(status or "").lower()
    if key == "ready" and fulfilment == "delivery":
        return "Siap Dikirim"
    return STATUS_LABELS.get(key, str(status or "—"))


def install(env: Any) -> None:
    env.filters.update(rupiah=rupiah, tanggal_jam=tanggal_jam, tanggal=tanggal, jam=jam, status_label=status_label,
                       fulfilment=lambda v: FULFILMENT_LABELS.get(str(v), str(v or "—")),
                       grup=lambda v: GROUP_LABELS.get(str(v), str(v or "—")),
                       gaya=lambda v: STYLE_LABELS.get(str(v), str(v or "—")),
                       zip_self=lambda seq: [(x, x) for x in seq], gram=grams_label)
    env.globals.update(weight_steps=weight_steps, line_amount=line_amount)
