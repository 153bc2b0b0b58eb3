"""Composition root of the learning service: `pasarkota serve learning` runs `learning.app:app`."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from learning import handlers
from learning.http import install_domain_errors, routers
from learning.seed import seed_demo
from learning.stream import register_consumers
from shared.service import ServiceKernel

kernel = ServiceKernel("learning", Path(__file__).resolve().parent / "migrations")
register_consumers(kernel.bus)
kernel.seeder(seed_demo)


@kernel.worker
async def mark_no_shows(k: ServiceKernel) -> None:
    """Every minute: booked seats of sessions over for an hour without attendance become no-shows."""
    while True:
        async with k.db().acquire() as conn:
            await handlers.mark_no_shows(conn, now=datetime.now(UTC))
        await asyncio.sleep(60)


app = kernel.http_app(*routers, title="PasarKota learning")
install_domain_errors(app)
