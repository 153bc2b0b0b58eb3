"""Demo data for Cimahi and Tegal: markets, stalls, 16 active vendors, ~300 products, RW hubs, price history.

Idempotent (deterministic ids, ``ON CONFLICT DO NOTHING``; events only for rows actually inserted) and fast
(one unit of work per city, bulk inserts). Events go to the outbox like every other write (``uow.emit``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from catalog import domain, handlers, prices
from catalog.search import search_text
from catalog.store import CatalogStore
from shared.cities import all_cities
from shared.events.catalog import VendorActivated
from shared.ids import demo_id
from shared.logging import get_logger
from shared.phone import normalise_phone
from shared.uow import UnitOfWork

if TYPE_CHECKING:
    from shared.service import ServiceKernel

log = get_logger(__name__)

MARKETS: dict[str, list[dict[str, str]]] = {
    "cimahi": [
        {"slug": "pasar-atas-baru", "name": "Pasar Atas Baru", "kelurahan": "Cimahi",
         "address": "Jl. Pasar Atas, Cimahi Tengah", "opens_at": "04:00", "closes_at": "16:00"},
        {"slug": "pasar-antri-baru", "name": "Pasar Antri Baru", "kelurahan": "Karangmekar",
         "address": "Jl. Pasar Antri, Cimahi Tengah", "opens_at": "05:00", "closes_at": "15:00"},
        {"slug": "pasar-cimindi", "name": "Pasar Cimindi", "kelurahan": "Cigugur Tengah",
         "address": "Jl. Raya Cimindi, Cimahi Tengah", "opens_at": "04:30", "closes_at": "13:00"},
    ],
    "tegal": [
        {"slug": "pasar-pagi", "name": "Pasar Pagi", "kelurahan": "Mangkukusuman",
         "address": "Jl. Ahmad Yani, Tegal Timur", "opens_at": "03:30", "closes_at": "14:00"},
        {"slug": "pasar-kejambon", "name": "Pasar Kejambon", "kelurahan": "Kejambon",
         "address": "Jl. Kapten Sudibyo, Tegal Timur", "opens_at": "05:00", "closes_at": "13:00"},
        {"slug": "pasar-banjaran", "name": "Pasar Banjaran", "kelurahan": "Banjaran",
         "address": "Jl. Raya Banjaran, Adiwerna", "opens_at": "04:00", "closes_at": "12:00"},
    ],
}

# (shop name, owner, categories) for vendor-01 … vendor-16 of each city.
VENDORS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    "cimahi": [
        ("Sayur Segar Bu Euis", "Euis Kurniasih", ("sayur",)),
        ("Warung Sayur Mang Ujang", "Ujang Suryana", ("sayur",)),
        ("Bumbu Dapur Teh Neng", "Neng Rahmawati", ("bumbu",)),
        ("Daging Sapi Haji Endang", "Endang Supriatna", ("daging",)),
        ("Ikan Segar Kang Asep", "Asep Saepudin", ("ikan",)),
        ("Toko Sembako Barokah", "Dadang Hermawan", ("sembako",)),
        ("Kue Basah Ceu Iis", "Iis Sumiati", ("kue",)),
        ("Anyaman Bambu Pak Oman", "Oman Rohman", ("kerajinan",)),
        ("Sayur & Bumbu Bu Yayah", "Yayah Komariah", ("sayur", "bumbu")),
        ("Buah Segar Pak Ade", "Ade Supriadi", ("buah",)),
        ("Ayam Potong Kang Dede", "Dede Kurnia", ("daging",)),
        ("Ikan Laut Bu Entin", "Entin Kartini", ("ikan",)),
        ("Toko Beras Sri Rejeki", "Sri Wahyuni", ("sembako",)),
        ("Kue Tradisional Teh Lilis", "Lilis Nurhayati", ("kue",)),
        ("Sayur Organik Kang Dadan", "Dadan Ramdani", ("sayur",)),
        ("Kerajinan Cimahi Bu Tati", "Tati Haryati", ("kerajinan",)),
    ],
    "tegal": [
        ("Sayur Bu Sumi", "Sumiyati", ("sayur",)),
        ("Lapak Sayur Mas Tarno", "Sutarno", ("sayur",)),
        ("Bumbu Dapur Mbak Wati", "Suwarti", ("bumbu",)),
        ("Daging Sapi Pak Darsono", "Darsono", ("daging",)),
        ("Ikan Segar Pak Wardi", "Suwardi", ("ikan",)),
        ("Toko Sembako Makmur", "Rokhim", ("sembako",)),
        ("Jajanan Pasar Bu Tun", "Tuniyah", ("kue",)),
        ("Batik Tegalan Bu Rohmah", "Siti Rohmah", ("kerajinan",)),
        ("Sayur & Bumbu Bu Karsih", "Karsih", ("sayur", "bumbu")),
        ("Buah Segar Mas Agus", "Agus Priyanto", ("buah",)),
        ("Ayam Potong Pak Kasno", "Kasno", ("daging",)),
        ("Ikan Laut Bu Darmi", "Sudarmi", ("ikan",)),
        ("Beras Pak Warsito", "Warsito", ("sembako",)),
        ("Tahu Aci & Kue Mbak Ninik", "Ninik Handayani", ("kue",)),
        ("Sayur Mbok Sarni", "Sarni", ("sayur",)),
        ("Anyaman Pak Slamet", "Slamet Widodo", ("kerajinan",)),
    ],
}

# (name, unit, base price in rupiah) per category. Prices are plausible 2025-ish market prices.
PRODUCTS: dict[str, list[tuple[str, str, int]]] = {
    "sayur": [
        ("Cabai Merah Keriting", "kg", 45000), ("Cabai Rawit Merah", "kg", 55000), ("Cabai Hijau Besar", "kg", 30000),
        ("Bawang Merah", "kg", 38000), ("Bawang Putih", "kg", 35000), ("Bawang Bombay", "kg", 28000),
        ("Tomat Merah", "kg", 12000), ("Kentang Dieng", "kg", 16000), ("Wortel", "kg", 14000),
        ("Kol (Kubis)", "kg", 8000), ("Sawi Hijau", "ikat", 4000), ("Bayam", "ikat", 3000),
        ("Kangkung", "ikat", 3000), ("Buncis", "kg", 14000), ("Kacang Panjang", "ikat", 5000),
        ("Terong Ungu", "kg", 10000), ("Labu Siam", "buah", 3000), ("Timun", "kg", 9000),
        ("Daun Bawang", "ikat", 4000), ("Seledri", "ikat", 2000), ("Tauge", "bungkus", 3000),
        ("Jagung Manis", "buah", 4000), ("Oyong", "buah", 4000), ("Pare", "buah", 5000),
        ("Selada", "ikat", 5000), ("Brokoli", "kg", 30000),
    ],
    "bumbu": [
        ("Jahe Merah", "kg", 25000), ("Kunyit", "kg", 18000), ("Lengkuas", "kg", 15000), ("Sereh", "ikat", 3000),
        ("Kencur", "ons", 5000), ("Kemiri", "ons", 6000), ("Ketumbar", "ons", 4000),
        ("Merica Bubuk", "bungkus", 5000), ("Daun Salam", "ikat", 2000), ("Daun Jeruk", "ikat", 2000),
        ("Terasi Udang", "bungkus", 7000), ("Asam Jawa", "bungkus", 5000), ("Gula Merah", "kg", 22000),
        ("Pala", "buah", 2000), ("Cengkeh", "ons", 15000), ("Kayu Manis", "ons", 8000),
        ("Bumbu Pecel", "bungkus", 10000),
    ],
    "daging": [
        ("Daging Sapi Has Dalam", "kg", 140000), ("Daging Sapi Murni", "kg", 130000),
        ("Tetelan Sapi", "kg", 70000), ("Iga Sapi", "kg", 110000), ("Ayam Broiler Utuh", "ekor", 38000),
        ("Dada Ayam Fillet", "kg", 55000), ("Ceker Ayam", "kg", 25000), ("Ati Ampela Ayam", "kg", 35000),
        ("Ayam Kampung", "ekor", 85000), ("Daging Kambing", "kg", 140000), ("Babat Sapi", "kg", 75000),
        ("Bebek Potong", "ekor", 75000), ("Sayap Ayam", "kg", 32000),
    ],
    "ikan": [
        ("Ikan Bandeng", "kg", 38000), ("Ikan Tongkol", "kg", 35000), ("Ikan Kembung", "kg", 40000),
        ("Ikan Lele", "kg", 25000), ("Ikan Nila", "kg", 35000), ("Ikan Mas", "kg", 38000),
        ("Udang Vaname", "kg", 85000), ("Cumi Segar", "kg", 75000), ("Ikan Teri Medan", "ons", 15000),
        ("Ikan Asin Jambal Roti", "ons", 18000), ("Ikan Gurame", "kg", 55000), ("Kerang Hijau", "kg", 20000),
        ("Pindang Tongkol", "bungkus", 12000),
    ],
    "sembako": [
        ("Beras Premium", "kg", 15000), ("Beras Medium", "kg", 13000), ("Beras Pandan Wangi 25 kg", "karung", 350000),
        ("Minyak Goreng", "liter", 18000), ("Gula Pasir", "kg", 18000), ("Telur Ayam Negeri", "kg", 29000),
        ("Telur Ayam Negeri (30 butir)", "papan", 55000), ("Tepung Terigu", "kg", 12000),
        ("Garam Beryodium", "bungkus", 3000), ("Kecap Manis", "botol", 22000), ("Mie Instan", "pcs", 3500),
        ("Tahu Putih", "bungkus", 6000), ("Tempe", "papan", 6000), ("Kacang Tanah", "kg", 30000),
        ("Kacang Hijau", "kg", 25000), ("Santan Kelapa", "bungkus", 4000), ("Kelapa Parut", "buah", 10000),
        ("Oncom", "papan", 3000),
    ],
    "kue": [
        ("Kue Lapis", "bungkus", 10000), ("Kue Cubit", "porsi", 10000), ("Serabi Oncom", "porsi", 8000),
        ("Onde-onde", "pcs", 2000), ("Bolu Kukus", "pcs", 2500), ("Klepon", "bungkus", 8000),
        ("Getuk Lindri", "bungkus", 7000), ("Nagasari", "pcs", 2500), ("Kue Lumpur", "pcs", 3000),
        ("Risoles", "pcs", 3000), ("Comro", "pcs", 2000), ("Misro", "pcs", 2000), ("Peuyeum", "bungkus", 10000),
        ("Opak", "bungkus", 8000), ("Rengginang", "bungkus", 12000), ("Kerupuk Udang", "bungkus", 15000),
        ("Tahu Aci", "bungkus", 15000), ("Cireng", "porsi", 10000),
    ],
    "kerajinan": [
        ("Tas Anyaman Pandan", "pcs", 65000), ("Besek Bambu", "pcs", 5000), ("Tampah Bambu", "pcs", 25000),
        ("Sapu Lidi", "pcs", 15000), ("Boboko Bambu", "pcs", 25000), ("Caping Bambu", "pcs", 20000),
        ("Kain Batik Tegalan", "lembar", 150000), ("Kain Batik Cimahi", "lembar", 175000),
        ("Keset Sabut Kelapa", "pcs", 20000), ("Cobek Batu", "pcs", 45000), ("Ulekan Kayu", "pcs", 15000),
        ("Kipas Bambu", "pcs", 10000), ("Pot Tanah Liat", "pcs", 20000),
    ],
    "buah": [
        ("Pisang Ambon", "sisir", 25000), ("Pisang Raja", "sisir", 30000), ("Jeruk Medan", "kg", 28000),
        ("Apel Malang", "kg", 30000), ("Semangka", "kg", 8000), ("Pepaya California", "buah", 12000),
        ("Alpukat Mentega", "kg", 25000), ("Mangga Harum Manis", "kg", 25000), ("Salak Pondoh", "kg", 18000),
        ("Nanas Madu", "buah", 12000), ("Melon", "kg", 15000), ("Jambu Biji Merah", "kg", 15000),
    ],
}
WEIGH_STEPS = {"sayur": 250, "buah": 250, "bumbu": 100, "daging": 250, "ikan": 250}  # grams
FRESH = {"sayur", "daging", "ikan"}  # sold by the available switch; the rest by counted stock

# (kelurahan, RW number, bandwidth Mbps) — the city's internet points.
RW_HUBS: dict[str, list[tuple[str, int, int]]] = {
    "cimahi": [("Cibabat", 5, 50), ("Cigugur Tengah", 3, 30), ("Baros", 8, 30), ("Padasuka", 12, 20),
               ("Leuwigajah", 7, 50), ("Citeureup", 10, 20)],
    "tegal": [("Mintaragen", 4, 30), ("Kejambon", 2, 20), ("Slerok", 6, 30), ("Randugunting", 9, 20),
              ("Pekauman", 3, 50), ("Panggung", 11, 30)],
}


def slugify(text: str) -> str:
    return "-".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())


def vendor_ref(i: int) -> str:
    return f"vendor-{i:02d}"


def rw_hub_id(city: str, kelurahan: str, rw: int) -> str:
    return demo_id("rwhub", city, f"{slugify(kelurahan)}-rw{rw:02d}")


def product_id(city: str, vendor_index: int, name: str) -> str:
    return demo_id("product", city, vendor_ref(vendor_index), slugify(name))


def _round_price(p: float) -> int:
    step = 500 if p >= 5000 else 100
    return max(step, round(p / step) * step)


@dataclass(frozen=True)
class DemoProduct:
    row: dict[str, Any]
    history: list[tuple[int, datetime]]  # (price, changed_at), oldest first; the last one is the current price


def demo_products(city: str, vendor_index: int, vendor_id: str, market_id: str, vendor_name: str,
                  categories: tuple[str, ...], now: datetime) -> list[DemoProduct]:
    """The products of one demo vendor, with three days of prices (day before yesterday, yesterday, today)."""
    tz = all_cities()[city].tz
    today_start, _ = domain.local_day_bounds(domain.local_today(tz, now), tz)
    moments = [today_start - timedelta(days=2) + timedelta(hours=1), today_start - timedelta(days=1, hours=-1),
               min(now, today_start + timedelta(minutes=30))]
    out = []
    for category in categories:
        for name, unit, base in PRODUCTS[category]:
            rng = random.Random(f"{city}/{vendor_index}/{name}")
            p0 = _round_price(base * rng.uniform(0.9, 1.1))
            p1 = _round_price(p0 * (1 + rng.choice([0, 0, 0.05, -0.05, 0.1, -0.08])))
            p2 = _round_price(p1 * (1 + rng.choice([0, 0, 0, 0.05, -0.05, 0.12, -0.1])))
            month = _month_before(random.Random(f"{city}/{vendor_index}/{name}/month"), p0, today_start, name, unit)
            history = [*month, (p0, moments[0])]
            if p1 != p0:
                history.append((p1, moments[1]))
            if p2 != history[-1][0]:
                history.append((p2, moments[2]))
            fresh = category in FRESH
            stock = None if fresh else rng.choice([12, 20, 30, 48, 60, 100, 150])
            # fresh goods priced per kg are weighed out, the way the market sells them (shared.measure)
            step = WEIGH_STEPS.get(category) if unit == "kg" and fresh else None
            row = {
                "id": product_id(city, vendor_index, name), "city": city, "vendor_id": vendor_id,
                "market_id": market_id, "name": name, "description": "", "category": category, "unit": unit,
                "price": history[-1][0], "stock": stock, "available": rng.random() > 0.05,
                "min_per_order": step or 1,
                "max_per_order": 5_000 if step else 50 if unit in ("kg", "ons", "ikat", "pcs", "bungkus") else None,
                "sold_by": "weight" if step else "piece", "step_grams": step,
                "photo_url": None,
                "search_text": handlers.product_search_text(name, category, vendor_name),
                "name_text": search_text(name),
            }
            out.append(DemoProduct(row, history))
    return out


async def seed_city(uow: UnitOfWork[CatalogStore]) -> dict[str, int]:
    """Seed the unit of work's city; returns counts of what was newly created."""
    city, store = uow.this_city, uow.store
    counts = {"markets": 0, "vendors": 0, "products": 0, "rw_hubs": 0}
    market_ids = []
    for m in MARKETS.get(city, []):
        mid = demo_id("market", city, m["slug"])
        market_ids.append(mid)
        created = await store.insert_market({**m, "id": mid, "city": city,
                                             "description": f"{m['name']}, pasar tradisional di {city.title()}"})
        if created:
            counts["markets"] += 1
            uow.emit(handlers.market_opened(created))
    if not market_ids:
        return counts
    for kelurahan, rw, bandwidth in RW_HUBS.get(city, []):
        hub = await store.insert_rw_hub({
            "id": rw_hub_id(city, kelurahan, rw), "city": city, "name": f"Hub RW {rw:02d} {kelurahan}",
            "kelurahan": kelurahan, "rw": f"{rw:02d}", "address": f"Balai RW {rw:02d}, Kel. {kelurahan}",
            "bandwidth_mbps": bandwidth})
        if hub:
            counts["rw_hubs"] += 1
            uow.emit(handlers.rw_hub_registered(hub))
    now = datetime.now(UTC)
    products: list[DemoProduct] = []
    shop_of: dict[str, str] = {}
    for i, (shop, owner, categories) in enumerate(VENDORS.get(city, []), start=1):
        vid = demo_id("vendor", city, vendor_ref(i))
        market_id = market_ids[(i - 1) % len(market_ids)]
        stall_id = demo_id("stall", city, market_id, f"los-{i:02d}")
        await store.insert_stall({"id": stall_id, "city": city, "market_id": market_id, "kind": "los",
                                  "block": "A" if i <= 8 else "B", "number": f"{i:02d}"})
        phone = f"0812-{5550 + sorted(MARKETS).index(city)}-{1000 + i}"  # fake numbers
        vendor = await store.insert_vendor({
            "id": vid, "city": city, "market_id": market_id, "stall_id": stall_id, "name": shop, "owner_name": owner,
            "phone": phone, "whatsapp": phone, "categories": list(categories), "status": "active"})
        if vendor:
            counts["vendors"] += 1
            uow.emit(VendorActivated(vendor_id=vid, market_id=market_id, name=shop, phone=normalise_phone(phone),
                                     stall=f"Los {'A' if i <= 8 else 'B'}-{i:02d}"))
        shop_of[vid] = shop
        products += demo_products(city, i, vid, market_id, shop, categories, now)
    inserted = await store.insert_products_bulk([p.row for p in products])
    history = []
    for p in products:
        if p.row["id"] in inserted:
            history += [(city, p.row["id"], price, at) for price, at in p.history]
            full = {**p.row, "active": True}
            uow.emit(handlers.product_listed(full, shop_of[full["vendor_id"]]))
            uow.emit(handlers.stock_adjusted(full))
    await store.add_price_history_bulk(history)
    counts["products"] = len(inserted)
    return counts


async def seed_demo(kernel: ServiceKernel) -> None:
    """Every city with demo data, one unit of work each, serialised across replicas by an advisory lock."""
    for city in all_cities():
        if city not in MARKETS:
            continue
        async with kernel.work(city=city, correlation_id="demo-seed") as uow:
            await uow.store.lock_demo_seed()
            counts = await seed_city(uow)
        log.info("demo data seeded", city=city, **counts)


def _month_before(rng: random.Random, p0: int, today_start: datetime, name: str, unit: str
                  ) -> list[tuple[int, datetime]]:
    """Commodities of the open price list (``catalog.prices``) get a price change every few days over the 30
    days before the last three, so the public price page has a month of history on a fresh demo."""
    if prices.commodity_of(name, unit) is None:
        return []
    out: list[tuple[int, datetime]] = []
    price = _round_price(p0 * rng.uniform(0.85, 1.15))
    for days_ago in range(31, 2, -rng.choice([2, 3, 4])):
        price = _round_price(price * (1 + rng.choice([0, 0.03, -0.03, 0.06, -0.05])))
        if not out or out[-1][0] != price:
            out.append((price, today_start - timedelta(days=days_ago) + timedelta(hours=2)))
    return out
