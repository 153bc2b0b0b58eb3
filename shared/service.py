"""The composition root every service uses: settings → logging → pool → migrations → bus → relay → HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import asyncpg
from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from opentelemetry.trace import SpanKind
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

import shared.events  # noqa: F401  (registers every event type)
from shared import tracing
from shared.bus import EventBus
from shared.db import create_pool, migrate
from shared.http import file_answer
from shared.kafka import KafkaSecurity
from shared.logging import bind_contextvars, bound_contextvars, configure_logging, get_logger
from shared.metrics import DEPENDENCY_UP, HTTP_REQUESTS
from shared.outbox import OutboxRelay
from shared.problems import install_problem_handlers
from shared.retention import Retention
from shared.settings import Settings, get_settings
from shared.uow import StoreFactory, UnitOfWork, Work
from shared.wire import restore_examples

log = get_logger(__name__)

Job = Callable[[UnitOfWork[Any]], Awaitable[Any]]


class ServiceKernel:
    """One service process: its pool on its own schema, its event bus and outbox relay, its HTTP app."""

    def __init__(self, name: str, migrations: Path | None, *, uses_database: bool = True,
                 settings: Settings | None = None, store: StoreFactory | None = None) -> None:
        """``store`` builds the service's store on a connection (``OrdersStore``): every unit of work gets one."""
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
        # Request-body limits by path prefix (longest match wins); everything else gets max_body_bytes.
        self.body_limits: dict[str, int] = {}
        s = self.settings
        self.kafka_security = KafkaSecurity.from_settings(s)
        if missing := self.kafka_security.problems():
            raise RuntimeError(f"PASARKOTA_KAFKA_SECURITY_PROTOCOL={s.kafka_security_protocol} needs "
                               + "; ".join(missing))
        self.bus = EventBus(name, s.kafka_bootstrap_servers, max_attempts=s.consumer_max_attempts,
                            backoff_ms=s.consumer_retry_backoff_ms, store=store, security=self.kafka_security)
        self.work = Work(self.db, store or (lambda conn: None))
        if uses_database:  # every service with a schema projects the city directory (shared/city_directory.py)
            from shared import city_directory

            city_directory.attach(self)
        from shared.cities import on_city_added

        on_city_added(self._extend_city_body_limits)  # a city added at runtime gets the seed cities' limits
        if uses_database:  # the kernel's own tables, pruned like any periodic job (shared/retention.py)
            self.periodic(600)(Retention(s.outbox_retention_hours, s.inbox_retention_days,
                                         s.idempotency_retention_hours).prune)

    @property
    def settings(self) -> Settings:
        return self._settings or get_settings()

    def _extend_city_body_limits(self, city: Any) -> None:
        """Every per-city body limit registered for a seed city (``/cities/<slug>/…``, ``/kota/<slug>/…``) also
        for a city added at runtime (issue #14), so a service's start-up loop over the cities needs no twin."""
        from shared.cities import seed_slugs

        for prefix, limit in list(self.body_limits.items()):
            parts = prefix.split("/")
            if len(parts) > 2 and parts[1] in ("cities", "kota") and parts[2] in seed_slugs():
                self.body_limits.setdefault("/".join([*parts[:2], city.slug, *parts[3:]]), limit)

    @property
    def schema(self) -> str:
        return self.name

    def worker(self, fn: Callable[[ServiceKernel], Awaitable[None]]) -> Callable[[ServiceKernel], Awaitable[None]]:
        """Register a background loop (e.g. a deadline worker) run for the life of the process."""
        self.workers.append(fn)
        return fn

    def periodic(self, interval: float, *, wake: asyncio.Event | None = None) -> Callable[[Job], Job]:
        """Register a periodic job ``job(uow) -> work done``, each run in its own unit of work (all cities).

        A run that did something (a truthy result: rows handled) is followed at once by the next, so a backlog
        drains; otherwise the worker waits ``interval`` seconds, or until ``wake`` is set.
        """

        def register(job: Job) -> Job:
            name = getattr(job, "__name__", type(job).__name__)

            async def loop(kernel: ServiceKernel) -> None:
                while True:
                    async with kernel.work(city=None, correlation_id=f"{name}-{uuid.uuid4()}") as uow:
                        done = await job(uow)
                    if done:
                        continue
                    if wake is None:
                        await asyncio.sleep(interval)
                    else:
                        wake.clear()
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(wake.wait(), interval)

            loop.__name__ = name
            self.workers.append(loop)
            return job

        return register

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
                from shared import city_directory

                runtime_cities = await city_directory.load(conn)  # before serving: a restart knows its cities
            log.info("migrations applied", applied=applied, runtime_cities=runtime_cities)
            self.relay = OutboxRelay(self.pool, self.schema, s.kafka_bootstrap_servers, self.name,
                                     batch_size=s.outbox_batch_size, idle_poll_ms=s.outbox_idle_poll_ms,
                                     fault_inject=s.fault_inject, security=self.kafka_security,
                                     linger_ms=s.kafka_linger_ms, max_batch_bytes=s.kafka_max_batch_bytes,
                                     compression_type=s.kafka_compression_type)
            self._tasks.append(asyncio.create_task(self.relay.run(), name=f"{self.name}-outbox-relay"))
            await self.bus.start(self.pool)
        for fn in self.workers:
            self._tasks.append(asyncio.create_task(_forever(self, fn), name=f"{self.name}-{fn.__name__}"))
        async with self._one_at_a_time("start"):  # several workers (or replicas) of a service start together
            if s.demo:
                for seed in self.seeders:
                    await seed(self)
            for hook in self.on_started:
                await hook(self)
        log.info("service started")

    @contextlib.asynccontextmanager
    async def _one_at_a_time(self, what: str) -> AsyncIterator[None]:
        """Hold a session advisory lock of this schema for ``what``: the seeders and start hooks are idempotent
        one after another, not necessarily side by side."""
        if self.pool is None:
            yield
            return
        async with self.pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"{what}:{self.schema}")
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", f"{what}:{self.schema}")

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

    # What a pod must have to take traffic. Kafka is not among them: every HTTP answer of every service is made
    # durable in Postgres (the outbox; the webhook's stored notification) and reaches Kafka later, so a Kafka
    # blip must not take the payments webhook out of the load balancer. Kafka is reported beside it.
    REQUIRED_FOR_TRAFFIC = ("postgres", "outbox_relay")

    async def readiness(self) -> dict[str, bool]:
        """Every check by name (postgres, kafka, outbox_relay); see :attr:`REQUIRED_FOR_TRAFFIC`."""
        checks: dict[str, bool] = {}
        if self.uses_database:
            try:
                async with self.db().acquire() as conn:
                    checks["postgres"] = await conn.fetchval("SELECT true") is True
            except Exception:
                checks["postgres"] = False
            checks["kafka"] = await self.bus.ping()
            checks["outbox_relay"] = bool(self.relay and self.relay.running)
            for dependency in ("postgres", "kafka"):
                DEPENDENCY_UP.labels(self.name, dependency).set(1 if checks[dependency] else 0)
        return checks

    def consumers_report(self) -> dict[str, dict[str, float]]:
        """Lag and oldest in-flight age per consumer group (also refreshes the gauges)."""
        return self.bus.stall_report() if self.uses_database else {}

    def http_app(self, *routers: APIRouter, title: str | None = None, version: str = "1.0.0",
                 api_document: bool = True) -> FastAPI:
        """The service's FastAPI app with the kernel's routes; ``api_document=False`` (the portal: HTML pages, not an
        API) serves no ``/openapi.json`` and no ``/docs``."""
        kernel = self

        @asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            await kernel.start()
            try:
                yield
            finally:
                await kernel.stop()

        documents: dict[str, Any] = {} if api_document else {"openapi_url": None, "docs_url": None, "redoc_url": None}
        # Operation ids are the route functions' names (``list_orders``), not FastAPI's path-derived default, so a
        # client generated from the document keeps its method names when a path parameter is renamed.
        app = FastAPI(title=title or f"PasarKota {self.name}", version=version, lifespan=lifespan,
                      generate_unique_id_function=_operation_id, **documents, **_NO_NATIVE_TELEMETRY)
        app.state.kernel = self
        install_problem_handlers(app)

        app.add_middleware(CorrelationMiddleware, service=self.name, kernel=self)

        @app.get("/healthz", tags=["ops"], response_model=Health)
        async def healthz() -> Health:
            return Health(status="ok", service=kernel.name)

        @app.get("/readyz", tags=["ops"], response_class=JSONResponse,
                 responses={200: {"model": Readiness, "description": "Can do its job"},
                            503: {"model": Readiness, "description": "Cannot: a dependency it needs is down"}})
        async def readyz() -> JSONResponse:
            checks = await kernel.readiness()
            ready = all(ok for name, ok in checks.items() if name in kernel.REQUIRED_FOR_TRAFFIC)
            # Stalls and a lost Kafka are reported, not failed on: restarting or unrouting a pod fixes neither,
            # and requests keep being made durable in Postgres meanwhile.
            degraded = sorted(name for name, ok in checks.items() if not ok and name not in kernel.REQUIRED_FOR_TRAFFIC)
            return JSONResponse({"ready": ready, "service": kernel.name, "checks": checks, "degraded": degraded,
                                 "consumers": kernel.consumers_report()},
                                status_code=200 if ready else 503)

        @app.get("/metrics", tags=["ops"], response_class=Response,
                 responses=file_answer("text/plain; version=0.0.4"))
        async def metrics() -> Response:
            kernel.consumers_report()
            if kernel.relay is not None:
                with contextlib.suppress(Exception):
                    from shared.metrics import OUTBOX_LAG

                    OUTBOX_LAG.labels(kernel.name).set(await kernel.relay.lag())
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

        for router in routers:
            app.include_router(router)
        if self.uses_database:  # every service with a schema keeps an audit list of back-office changes
            from shared.audit import audit_router

            app.include_router(audit_router())
        if self.bus.rebuilds:  # projections rebuildable from compacted topics (shared.projections)
            from shared.projections import projections_router

            app.include_router(projections_router(self.bus))
        document_problems(app)
        return app


class Health(BaseModel):
    """``/healthz``: the process answers (liveness; ``/readyz`` says whether it can do its job)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok", "service": "learning"}]})

    status: Literal["ok"]
    service: str


class ConsumerState(BaseModel):
    lag: int = Field(description="messages behind the head of its topics")
    oldest_in_flight_seconds: float


class Readiness(BaseModel):
    """``/readyz``: ready means it can do its job (Postgres; Kafka only where an answer needs it at once)."""

    ready: bool
    service: str
    checks: dict[str, bool]
    degraded: list[str] = Field(description="checks that fail without taking the service out of traffic")
    consumers: dict[str, ConsumerState]


PROBLEM_SCHEMA = {
    "type": "object", "required": ["type", "title", "status", "detail"],
    "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                   "detail": {"type": "string", "description": "Indonesian, then English"},
                   "instance": {"type": "string"}},
    "additionalProperties": True,
}
_PROBLEM_TEXT = {401: "Not signed in, or the token is invalid or expired", 403: "Role or city not allowed",
                 404: "Unknown city or resource (or not yours to see)", 409: "Not allowed in the current state",
                 413: "Request body too large", 422: "Invalid input (including a NUL character)",
                 429: "Too many attempts; see Retry-After", 503: "Temporarily unavailable; see Retry-After"}


# FastAPI's own OpenTelemetry (0.16x) would make a second server span, a histogram and log records per request
# beside ours (CorrelationMiddleware: the span continuing the caller's trace, pasarkota_http_request_seconds):
# per request CPU that a payment burst pays for twice. Off, where FastAPI has it.
_NO_NATIVE_TELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters else {})


def _operation_id(route: Any) -> str:
    return str(route.name)


def document_problems(app: FastAPI) -> None:
    """Make each operation's OpenAPI say what the kernel really answers: problem+json for 401/403 (routes with
    a bearer dependency), 404 (city routes), 409 (writes), 413, 422, 429 and 503, and the bearer scheme."""
    from fastapi.routing import APIRoute

    original = app.openapi

    def secured_operations(routes: Any, prefix: str = "") -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        for route in routes:
            if isinstance(route, APIRoute):
                if _uses_auth(route.dependant):
                    found.update((prefix + route.path, m.lower()) for m in route.methods or ())
            elif hasattr(route, "original_router"):  # FastAPI's lazily included routers
                inner = getattr(getattr(route, "include_context", None), "prefix", "") or ""
                found |= secured_operations(route.original_router.routes, prefix + inner)
        return found

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        secured = secured_operations(app.routes)
        spec = original()
        components = spec.setdefault("components", {})
        components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        components.setdefault("securitySchemes", {})["bearer"] = {"type": "http", "scheme": "bearer",
                                                                 "bearerFormat": "JWT"}
        problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for path, item in spec.get("paths", {}).items():
            for method, op in item.items():
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                statuses = [413, 422, 503]
                if (path, method) in secured:
                    statuses += [401, 403]
                    op.setdefault("security", [{"bearer": []}])
                if "{" in path:
                    statuses.append(404)
                if method != "get":
                    statuses += [409, 429]
                for status in statuses:
                    op.setdefault("responses", {})[str(status)] = {"description": _PROBLEM_TEXT[status],
                                                                   "content": problem}
        restore_examples(spec)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def _uses_auth(dependant: Any) -> bool:
    for dep in dependant.dependencies:
        if getattr(dep.call, "pasarkota_auth", False) or _uses_auth(dep):
            return True
    return False


class CorrelationMiddleware:
    """Plain ASGI (cheap on the hot webhook path), the one place every request passes:

    * a correlation id per request (from ``X-Correlation-ID`` or new), bound to the logs, put in
      ``request.state.correlation_id`` for the units of work, and echoed in the response;
    * the request-body limit, enforced while streaming: a declared ``Content-Length`` over the limit is
      answered 413 before reading a byte, a chunked body is cut off (413) as soon as it passes the limit;
    * the request duration per route in ``pasarkota_http_request_seconds``.
    """

    def __init__(self, app: Any, service: str, kernel: ServiceKernel | None = None) -> None:
        self.app = app
        self.service = service
        self.kernel = kernel

    def _limit(self, path: str) -> int:
        default = self.kernel.settings.max_body_bytes if self.kernel else 1024 * 1024
        limits = self.kernel.body_limits if self.kernel else {}
        best = ""
        for prefix in limits:
            if path.startswith(prefix) and len(prefix) > len(best):
                best = prefix
        return limits[best] if best else default

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = ""
        declared_length = -1
        for name, value in scope.get("headers", ()):
            if name == b"x-correlation-id":
                correlation_id = value.decode("latin-1")[:128]
            elif name == b"content-length":
                with contextlib.suppress(ValueError):
                    declared_length = int(value)
        correlation_id = "".join(ch for ch in correlation_id if ch.isprintable()) or str(uuid.uuid4())
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        status = 500
        started = time.perf_counter()
        limit = self._limit(scope.get("path", ""))
        response_started = False

        async def send_with_id(message: Any) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", ()), (b"x-correlation-id", correlation_id.encode())]
            await send(message)

        received = 0
        content_type = next((v for k, v in scope.get("headers", ()) if k == b"content-type"), b"").lower()
        scan_body = not content_type.startswith(b"multipart/")  # file uploads may carry NUL bytes
        nul_markers = NUL_MARKERS_FORM if content_type.startswith(b"application/x-www-form-urlencoded") \
            else NUL_MARKERS
        tail = b""

        async def receive_limited() -> Any:
            nonlocal received, tail
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > limit:
                    raise BodyTooLarge(limit)
                if scan_body and chunk:
                    window = tail + chunk
                    if any(m in window for m in nul_markers):
                        raise NulRefused()
                    tail = window[-6:]
            return message

        request_span = tracing.span(f"{scope.get('method', '')} {scope.get('path', '')}", parent=scope.get("headers"),
                                    kind=SpanKind.SERVER, **{"http.request.method": scope.get("method"),
                                                             "pasarkota.correlation_id": correlation_id})
        try:
            with bound_contextvars(correlation_id=correlation_id), request_span as current_span:
                if declared_length > limit:
                    await _too_large(send_with_id, limit, scope.get("path", ""))
                    return
                if _has_nul(scope):
                    await _refuse_nul(send_with_id, scope.get("path", ""))
                    return
                try:
                    await self.app(scope, receive_limited, send_with_id)
                except BodyTooLarge:
                    if response_started:
                        raise
                    await _too_large(send_with_id, limit, scope.get("path", ""))
                except NulRefused:
                    if response_started:
                        raise
                    await _refuse_nul(send_with_id, scope.get("path", ""))
                finally:
                    route = getattr(scope.get("route"), "path", None)
                    if route:  # the template, not the path: span names must not carry ids
                        current_span.update_name(f"{scope.get('method', '')} {route}")
                        current_span.set_attribute("http.route", route)
                    current_span.set_attribute("http.response.status_code", status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(self.service, scope.get("method", ""), route, str(status)).observe(
                time.perf_counter() - started)


class BodyTooLarge(StarletteHTTPException):
    """Raised from ``receive`` past the limit; an HTTPException so FastAPI's body parsing lets it through."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Permintaan terlalu besar (maks. {limit} bita). / Request body too large "
                              f"(max {limit} bytes).")
        self.limit = limit


# The one NUL rule of every service: no text we store may contain U+0000 (Postgres text refuses it, and it
# is never meant). Refused as 422 wherever it arrives: path, query, JSON body, form body.
NUL_MARKERS = (b"\x00", b"\\u0000")
NUL_MARKERS_FORM = (b"\x00", b"%00")
NUL_DETAIL = "Isian mengandung karakter NUL. / The request contains a NUL character."


class NulRefused(StarletteHTTPException):
    def __init__(self) -> None:
        super().__init__(422, NUL_DETAIL)


def _has_nul(scope: Any) -> bool:
    raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogateescape")
    query = scope.get("query_string", b"")
    return any(m in part for part in (raw_path, query, scope.get("path", "").encode("utf-8", "surrogateescape"))
               for m in (b"\x00", b"%00"))


async def _refuse_nul(send: Any, path: str) -> None:
    from shared.problems import problem_response

    response = problem_response(422, NUL_DETAIL, code="nul-character", instance=path.replace("\x00", "\\x00"))
    await response({"type": "http"}, _no_receive, send)


async def _too_large(send: Any, limit: int, path: str) -> None:
    from shared.problems import problem_response

    response = problem_response(413, f"Permintaan terlalu besar (maks. {limit} bita). / Request body too large "
                                     f"(max {limit} bytes).", code="body-too-large", instance=path)
    response.headers["Connection"] = "close"
    await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Any:
    return {"type": "http.disconnect"}


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
