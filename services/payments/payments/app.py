"""Composition root of the payments service: `pasarkota serve payments` runs `payments.app:app`.

Nothing is read at import: :func:`create_app` (called when the server loads ``app``) reads the settings,
parses and validates every city's merchant of record and webhook secret (refusing to start, naming the city
and field or the variable), builds the acquirer adapter and the workers' wake-up events, and wires them into
the consumers, the periodic jobs and the routes (``app.state.payments``). The dev-only simulator router is
included unless ``PASARKOTA_ENV=prod``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from payments import handlers, stream
from payments.acquirer import Acquirer
from payments.config import Runtime, add_runtime_city, load_config
from payments.http import SETTLEMENT_FILE_MAX, WEBHOOK_MAX_BODY, router, simulator_router
from payments.simulator import SimulatorAcquirer
from payments.store import PaymentsStore
from shared.cities import all_cities, live_cities, on_city_added
from shared.service import ServiceKernel
from shared.settings import Settings, get_settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
NOTIFICATION_BATCH = 500
EXPIRY_INTERVAL_SECONDS = 1.0
NOTIFICATION_IDLE_POLL_SECONDS = 0.25  # other replicas' notifications are picked up within this
NOTIFICATION_BATCH_WINDOW_SECONDS = 0.02
REFUND_INTERVAL_SECONDS = 1.0  # other replicas' refunds; this process's own wake the worker at once


def create_app(settings: Settings | None = None, *, environ: Mapping[str, str] | None = None,
               acquirer: Acquirer | None = None) -> FastAPI:
    """The payments service, configured from ``settings`` (default: the environment) — see the module doc."""
    settings = (settings or get_settings()).refuse_weak_secrets()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the simulator's own calls are not news
    config = load_config(settings, environ=environ)
    runtime = Runtime(config=config, acquirer=acquirer or SimulatorAcquirer(),
                      notifications_stored=asyncio.Event(), refunds_decided=asyncio.Event())

    kernel = ServiceKernel("payments", MIGRATIONS, settings=settings, store=PaymentsStore)
    kernel.body_limits["/acquirer/"] = WEBHOOK_MAX_BODY
    for slug in all_cities():  # a busy day's settlement file is bigger than the default 1 MiB body
        kernel.body_limits[f"/cities/{slug}/reconciliations"] = SETTLEMENT_FILE_MAX
    stream.register(kernel.bus, handlers.Issuing(runtime.acquirer, config.merchants, live_cities))

    # a city added at runtime (issue #14): its merchant and fee rule as at start (the kernel copies the body limits)
    on_city_added(lambda city: add_runtime_city(config, city))

    drain = handlers.NotificationDrain(NOTIFICATION_BATCH, window=NOTIFICATION_BATCH_WINDOW_SECONDS,
                                      fees=config.fees)

    @kernel.periodic(NOTIFICATION_IDLE_POLL_SECONDS, wake=runtime.notifications_stored)
    async def process_acquirer_notifications(uow: Any) -> int:
        """Stored notifications → intent transitions, refunds decided, outbox events; a batch per unit of work."""
        done = await drain(uow)
        if done:
            runtime.refunds_decided.set()  # late / duplicate payments may have been refunded
        return done

    kernel.periodic(EXPIRY_INTERVAL_SECONDS)(handlers.expire_due)  # pending intents past expiry → expired

    @kernel.periodic(REFUND_INTERVAL_SECONDS, wake=runtime.refunds_decided)
    async def send_refunds(uow: Any) -> int:
        """Refunds decided (and committed) → the acquirer, outside any notification batch."""
        return await handlers.send_refunds(uow, acquirer=runtime.acquirer)

    routers = [router, simulator_router] if config.simulator else [router]
    app = kernel.http_app(*routers, title="PasarKota payments")
    app.state.payments = runtime
    return app


_app: FastAPI | None = None


def __getattr__(name: str) -> Any:
    """``payments.app:app`` for the server: built on first access (at start), not at import."""
    global _app
    if name == "app":
        if _app is None:
            _app = create_app()
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

