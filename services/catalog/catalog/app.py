"""Composition root of the catalog service: `pasarkota serve catalog` runs `catalog.app:app`."""

from pathlib import Path

from catalog import handlers, seed, stream
from catalog.http import router
from catalog.store import CatalogStore
from shared.service import ServiceKernel

RELEASE_INTERVAL_SECONDS = 5.0

kernel = ServiceKernel("catalog", Path(__file__).resolve().parent / "migrations", store=CatalogStore)
stream.register(kernel.bus)
# The deadline job: held reservations past expires_at are released, one per unit of work, until none is due.
kernel.periodic(RELEASE_INTERVAL_SECONDS)(handlers.release_expired_reservation)


async def backfill_state_topics(k: ServiceKernel) -> None:
    async with k.work(city=None, correlation_id="state-backfill") as uow:
        await handlers.publish_state_backfill(uow)


kernel.on_started.append(backfill_state_topics)


@kernel.seeder
async def seed_demo(k: ServiceKernel) -> None:
    await seed.seed_demo(k)


app = kernel.http_app(router, title="PasarKota catalog")
