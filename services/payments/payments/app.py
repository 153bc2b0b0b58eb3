"""Composition root of the payments service: `pasarkota serve payments` runs `payments.app:app`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from payments import handlers, stream
from payments.http import ACQUIRER, Wakeup, router, simulator_router
from shared.cities import all_cities
from shared.logging import get_logger
from shared.service import ServiceKernel
from shared.settings import get_settings

log = get_logger(__name__)
logging.getLogger("httpx").setLevel(logging.WARNING)  # the simulator's own calls are not news

NOTIFICATION_BATCH = 500
EXPIRY_INTERVAL_SECONDS = 1.0
NOTIFICATION_IDLE_POLL_SECONDS = 0.25  # other replicas' notifications are picked up within this
NOTIFICATION_BATCH_WINDOW_SECONDS = 0.02

kernel = ServiceKernel("payments", Path(__file__).resolve().parent / "migrations")
stream.register(kernel.bus)


@kernel.worker
async def process_acquirer_notifications(kernel: ServiceKernel) -> None:
    """Drain stored notifications into intent transitions and outbox events, a batch per transaction."""
    wake = Wakeup.get()
    failures: dict[int, int] = {}
    while True:
        try:
            async with kernel.db().acquire() as conn, conn.transaction():
                done = await handlers.process_notifications(conn, ACQUIRER, NOTIFICATION_BATCH)
        except Exception as exc:  # a poison row must not block every payment behind it
            log.error("notification batch failed; isolating the oldest row", error=repr(exc))
            await isolate_oldest_notification(kernel, failures)
            await asyncio.sleep(0.5)
            continue
        if done < NOTIFICATION_BATCH:
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), NOTIFICATION_IDLE_POLL_SECONDS)
            # Let a burst fill the batch: one transaction per ~20 ms instead of one per notification
            # (each batch costs ~8 round trips whatever its size).
            await asyncio.sleep(NOTIFICATION_BATCH_WINDOW_SECONDS)


async def isolate_oldest_notification(kernel: ServiceKernel, failures: dict[int, int]) -> None:
    """Retry the oldest unprocessed notification alone; after 5 failures of that very row, quarantine it
    (outcome ``error`` + a mismatch for staff) so the rows behind it proceed. Transient outages heal first."""
    try:
        async with kernel.db().acquire() as conn, conn.transaction():
            await handlers.process_notifications(conn, ACQUIRER, 1)
        return
    except Exception as exc:
        error = repr(exc)
    with contextlib.suppress(Exception):
        async with kernel.db().acquire() as conn, conn.transaction():
            oldest = await conn.fetchval("SELECT min(id) FROM acquirer_notifications WHERE processed_at IS NULL")
            if oldest is None:
                return
            failures[oldest] = failures.get(oldest, 0) + 1
            if failures[oldest] >= 5:
                await handlers.quarantine_notification(conn, oldest, error)
                failures.pop(oldest, None)


@kernel.worker
async def expire_payment_intents(kernel: ServiceKernel) -> None:
    """Pending intents past their expiry → expired + PaymentExpired."""
    while True:
        async with kernel.db().acquire() as conn, conn.transaction():
            expired = await handlers.expire_due(conn)
        if expired:
            log.info("payment intents expired", count=expired)
        else:
            await asyncio.sleep(EXPIRY_INTERVAL_SECONDS)


def refuse_dev_webhook_secrets() -> None:
    """In production every city needs its own acquirer webhook secret, never the development default."""
    missing = [f"PASARKOTA_CITY_{slug.upper()}_WEBHOOK_SECRET" for slug, city in all_cities().items()
               if city.webhook_secret == f"dev-webhook-secret-{slug}"]
    if missing:
        raise RuntimeError("PASARKOTA_ENV=prod but these webhook secrets are not set: " + ", ".join(missing))


if get_settings().env == "prod":
    refuse_dev_webhook_secrets()
# The acquirer simulator (it can "pay" any QRIS) exists only outside production.
routers = [router] if get_settings().env == "prod" else [router, simulator_router]
app = kernel.http_app(*routers, title="PasarKota payments")
