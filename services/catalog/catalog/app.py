"""Composition root of the catalog service: `pasarkota serve catalog` runs `catalog.app:app`."""

from pathlib import Path

from catalog import seed, stream
from catalog.http import router
from shared.service import ServiceKernel

kernel = ServiceKernel("catalog", Path(__file__).resolve().parent / "migrations")
stream.register(kernel.bus)
kernel.worker(stream.release_expired_reservations)


@kernel.seeder
async def seed_demo(k: ServiceKernel) -> None:
    await seed.seed_demo(k.db())


app = kernel.http_app(router, title="PasarKota catalog")
