"""The demo users the dev sign-in page offers (the same subjects and ids the services' demo seeders use)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.ids import demo_id

MARKET_SLUGS = {
    "cimahi": ("pasar-atas-baru", "pasar-antri-baru", "pasar-cimindi"),
    "tegal": ("pasar-pagi", "pasar-kejambon", "pasar-banjaran"),
}
BUYERS, VENDORS, TRAINERS, PARTICIPANTS = 3, 16, 3, 60
SHOWN_PARTICIPANTS = 6


@dataclass(frozen=True)
class DemoUser:
    key: str            # what the sign-in form posts
    role: str
    city: str
    sub: str
    label: str
    vendor_id: str | None = None
    market_id: str | None = None


def _title(slug: str) -> str:
    return " ".join(w.capitalize() for w in slug.split("-"))


def demo_users(city: str) -> list[DemoUser]:
    users = [DemoUser(f"buyer:{n}", "buyer", city, f"demo-buyer-{city}-{n}", f"Pembeli {n}")
             for n in range(1, BUYERS + 1)]
    for n in range(1, VENDORS + 1):
        vendor_id = demo_id("vendor", city, f"vendor-{n:02d}")
        users.append(DemoUser(f"vendor:{n}", "vendor", city, f"demo-vendor-{city}-{n}", f"Pedagang {n:02d}",
                              vendor_id=vendor_id))
    for slug in MARKET_SLUGS.get(city, ()):
        users.append(DemoUser(f"market_admin:{slug}", "market_admin", city, f"demo-market-admin-{city}-{slug}",
                              f"Pengelola {_title(slug)}", market_id=demo_id("market", city, slug)))
    users += [DemoUser(f"trainer:{n}", "trainer", city, f"demo-trainer-{city}-{n}", f"Pelatih {n}")
              for n in range(1, TRAINERS + 1)]
    users += [DemoUser(f"participant:{n}", "participant", city, f"demo-participant-{city}-{n}", f"Peserta {n}")
              for n in range(1, PARTICIPANTS + 1)]
    users.append(DemoUser("city_admin:1", "city_admin", city, f"demo-admin-{city}", "Admin kota"))
    return users


def find_demo_user(city: str, key: str) -> DemoUser | None:
    return next((u for u in demo_users(city) if u.key == key), None)
