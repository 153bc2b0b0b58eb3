"""Demo accounts (``PASARKOTA_DEMO=1``): the portal's demo buyers, market admins and city admins as real accounts
with fake phones (``0899…``), so signing in with a code works for them too. Vendors, trainers and participants
arrive by the automatic grants from catalog's and learning's demo events. Idempotent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from identity import handlers
from shared.ids import demo_id

if TYPE_CHECKING:
    from shared.service import ServiceKernel

MARKET_SLUGS = {  # the same demo markets catalog seeds
    "cimahi": ("pasar-atas-baru", "pasar-antri-baru", "pasar-cimindi"),
    "tegal": ("pasar-pagi", "pasar-kejambon", "pasar-banjaran"),
}
DEMO_OPERATOR_PHONE = "089900000001"


def demo_people(city: str, city_no: int) -> list[tuple[str, str, str, str, str | None]]:
    """(account id, phone, name, role, scope) of a city's demo staff and buyers."""
    people: list[tuple[str, str, str, str, str | None]] = []
    base = f"0899{city_no:02d}"
    people += [(f"demo-buyer-{city}-{n}", f"{base}0001{n:02d}", f"Pembeli {n}", "buyer", None) for n in range(1, 4)]
    for i, slug in enumerate(MARKET_SLUGS.get(city, ()), start=1):
        people.append((f"demo-market-admin-{city}-{slug}", f"{base}0002{i:02d}", f"Pengelola {slug}", "market_admin",
                       demo_id("market", city, slug)))
    people.append((f"demo-admin-{city}", f"{base}000301", "Admin kota", "city_admin", None))
    return people


async def seed_demo(kernel: ServiceKernel) -> None:
    for city_no, city in enumerate(("cimahi", "tegal"), start=1):
        async with kernel.work(city=city, correlation_id=f"demo-seed-identity-{city}") as uow:
            for account_id, phone, name, role, scope in demo_people(city, city_no):
                account, _ = await handlers._account_for(uow, phone, name, account_id)
                await handlers._grant(uow, account, city, role, scope, granted_by="system:demo", reason="demo data")
    async with kernel.work(city="cimahi", correlation_id="demo-seed-identity-operator") as uow:
        await handlers.create_admin(uow, DEMO_OPERATOR_PHONE, "operator", "cimahi", "Operator demo")
