"""Composition root of the orders service: `pasarkota serve orders` runs `orders.app:app`."""

from pathlib import Path

from orders import grace, stream
from orders.http import router
from shared.service import ServiceKernel

kernel = ServiceKernel("orders", Path(__file__).resolve().parent / "migrations")
stream.register(kernel.bus)


@kernel.worker
async def stuck_order_grace(k: ServiceKernel) -> None:
    await grace.grace_worker(k)


app = kernel.http_app(router, title="PasarKota orders")
