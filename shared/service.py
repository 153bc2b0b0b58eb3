"""The composition root every service uses: settings → logging → pool → migrations → bus → relay → HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

import shared.events  # noqa: F401  (registers every event type)
from shared.bus import EventBus
from shared.db import create_pool, migrate
from shared.logging import bind_contextvars, bound_contextvars, configure_logging, get_logger
from shared.metrics import HTTP_REQUESTS
from shared.outbox import OutboxRelay
from shared.problems import install_problem_handlers
from shared.settings import Settings, get_settings

log = get_logger(__name__)


class ServiceKernel:
    """One service process: its pool on its own schema, its event bus and outbox relay, its HTTP app."""

    def __init__(self, name: str, migrations: Path | None, *, uses_database: bool = True,
                 settings: Settings | None = None) -> None:
        self.name = name
        self.migrations = migrations
        self.uses_database = uses_database
        self._settings = settings
        self.pool: asyncpg.Pool | None = None
        self.relay: OutboxRelay | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self.workers: list[Callable[[ServiceKernel], Awaitable[None]]] = []
        self.on_started: list[Callable[[ServiceKernel], Awaitable[None]]] = []
        self.seeders: list[Callable[[ServiceKernel], Awaitable[None]]] = []
        s = self.settings
        self.bus = EventBus(name, s.kafka_bootstrap_servers, max_attempts=s.consumer_max_attempts,
                            backoff_ms=s.consumer_retry_backoff_ms)

    @property
    def settings(self) -> Settings:
        return self._settings or get_settings()

    @property
    def schema(self) -> str:
        return self.name

    def worker(self, fn: Callable[[ServiceKernel], Awaitable[None]]) -> Callable[[ServiceKernel], Awaitable[None]]:
        """Register a background loop (e.g. a deadline worker) run for the life of the process."""
        self.workers.append(fn)
        return fn

    def seeder(self, fn: Callable[[ServiceKernel], Awaitable[None]]) -> Callable[[ServiceKernel], Awaitable[None]]:
        """Register an idempotent demo-data seeder, run at start when ``PASARKOTA_DEMO=1``."""
        self.seeders.append(fn)
        return fn

    def db(self) -> asyncpg.Pool:
        if self.pool is None:
            raise RuntimeError(f"{self.name}: database pool not started")
        return self.pool

    async def start(self) -> None:
        s = self.settings
        configure_logging(self.name, s.log_format, s.log_level)
        from shared.cities import all_cities

        log.info("city directory loaded", cities=sorted(all_cities()))  # fails fast on a missing/bad file
        if self.uses_database:
            if not s.database_url:
                raise RuntimeError("PASARKOTA_DATABASE_URL is not set: the service's own database role URL, "
                                   "e.g. postgresql://pk_catalog:...@127.0.0.1:15432/pasarkota")
            self.pool = await create_pool(s.database_url, self.schema, self.name, max_size=s.db_pool_max)
            async with self.pool.acquire() as conn:
                applied = await migrate(conn, self.schema, self.migrations)
            log.info("migrations applied", applied=applied)
            self.relay = OutboxRelay(self.pool, self.schema, s.kafka_bootstrap_servers, self.name,
                                     batch_size=s.outbox_batch_size, idle_poll_ms=s.outbox_idle_poll_ms,
                                     fault_inject=s.fault_inject)
            self._tasks.append(asyncio.create_task(self.relay.run(), name=f"{self.name}-outbox-relay"))
            await self.bus.start(self.pool)
        for fn in self.workers:
            self._tasks.append(asyncio.create_task(_forever(self, fn), name=f"{self.name}-{fn.__name__}"))
        if s.demo:
            for seed in self.seeders:
                await seed(self)
        for hook in self.on_started:
            await hook(self)
        log.info("service started")

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self.uses_database:
            with contextlib.suppress(Exception):
                await self.bus.stop()
        if self.pool is not None:
            await self.pool.close()
            self.pool = None

    async def readiness(self) -> dict[str, bool]:
        checks: dict[str, bool] = {}
        if self.uses_database:
            try:
                async with self.db().acquire() as conn:
                    checks["postgres"] = await conn.fetchval("SELECT true") is True
            except Exception:
                checks["postgres"] = False
            checks["kafka"] = await self.bus.ping()
            checks["outbox_relay"] = bool(self.relay and self.relay.running)
        return checks

    def http_app(self, *routers: APIRouter, title: str | None = None, version: str = "1.0.0") -> FastAPI:
        kernel = self

        @asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            await kernel.start()
            try:
                yield
            finally:
                await kernel.stop()

        app = FastAPI(title=title or f"PasarKota {self.name}", version=version, lifespan=lifespan)
        app.state.kernel = self
        install_problem_handlers(app)

        app.add_middleware(CorrelationMiddleware, service=self.name)

        @app.get("/healthz", tags=["ops"])
        async def healthz() -> dict[str, str]:
            return {"status": "ok", "service": kernel.name}

        @app.get("/readyz", tags=["ops"])
        async def readyz() -> JSONResponse:
            checks = await kernel.readiness()
            ready = all(checks.values())
            return JSONResponse({"ready": ready, "service": kernel.name, "checks": checks},
                                status_code=200 if ready else 503)

        @app.get("/metrics", tags=["ops"])
        async def metrics() -> Response:
            if kernel.relay is not None:
                with contextlib.suppress(Exception):
                    from shared.metrics import OUTBOX_LAG

                    OUTBOX_LAG.labels(kernel.name).set(await kernel.relay.lag())
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

        for router in routers:
            app.include_router(router)
        return app


class CorrelationMiddleware:
    """Plain ASGI (cheap on the hot webhook path): a correlation id per request, bound to the logs and echoed
    in ``X-Correlation-ID``, and the request duration per route in ``pasarkota_http_request_seconds``."""

    def __init__(self, app: Any, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-correlation-id":
                correlation_id = value.decode("latin-1")[:128]
                break
        correlation_id = correlation_id or str(uuid.uuid4())
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-correlation-id", correlation_id.encode())]
            await send(message)

        try:
            with bound_contextvars(correlation_id=correlation_id):
                await self.app(scope, receive, send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(self.service, scope.get("method", ""), route, str(status)).observe(
                time.perf_counter() - started)


async def _forever(kernel: ServiceKernel, fn: Callable[[ServiceKernel], Awaitable[None]]) -> None:
    """Keep a worker loop alive across errors (logged), until the process stops."""
    bind_contextvars(worker=fn.__name__)
    while True:
        try:
            await fn(kernel)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("worker failed; restarting", worker=fn.__name__, error=repr(exc))
            await asyncio.sleep(1.0)
