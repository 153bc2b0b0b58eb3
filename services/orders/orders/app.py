"""Composition root of the orders service: `pasarkota serve orders` runs `orders.app:app`.

The one place orders is put together: its settings, its kernel (whose units of work carry an ``OrdersStore``),
its consumers, its periodic job and its routes. ``build(settings)`` lets a test assemble its own.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from orders import grace, stream
from orders.delivery import rules_for
from orders.http import router
from orders.settings import OrdersSettings
from orders.store import OrdersStore
from shared.cities import all_cities
from shared.service import ServiceKernel
from shared.uow import UnitOfWork

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def build(settings: OrdersSettings | None = None) -> FastAPI:
    settings = settings or OrdersSettings()
    for slug in all_cities():  # a bad [city.delivery] table stops the start, naming the city and field
        rules_for(slug)
    kernel = ServiceKernel("orders", MIGRATIONS, store=OrdersStore)
    stream.register(kernel.bus)

    @kernel.periodic(settings.grace_scan_seconds)
    async def stuck_order_grace(uow: UnitOfWork[OrdersStore]) -> list[str]:
        return await grace.flag_stuck_orders(uow, settings.stuck_after_seconds)

    return kernel.http_app(router, title="PasarKota orders")


app = build()
