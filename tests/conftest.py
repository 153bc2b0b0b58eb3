"""Test session: one real Kafka broker and one real PostgreSQL server for the whole run.

Started by the project itself in a temporary folder on free ports, unless ``KAFKA_BOOTSTRAP_SERVERS`` and
``DATABASE_URL`` point at existing ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.codes import TEST_SEAL_KEY
from tests.tokens import TEST_JWKS, keys_document

# In-process tests verify tokens against the test key's public half (no identity to fetch a JWKS from); the
# platform's processes do not inherit this (Platform.env) and fetch identity's JWKS like production.
os.environ.setdefault("PASARKOTA_JWKS_JSON", TEST_JWKS)
os.environ.setdefault("PASARKOTA_CODE_SEAL_KEY", TEST_SEAL_KEY)
# Every answer's model lists every key it carries (shared.wire.Answer): here a forgotten one fails loudly.
os.environ.setdefault("PASARKOTA_STRICT_ANSWERS", "1")

from deploy.local.kafka import KafkaBroker
from deploy.local.postgres import LocalPostgres
from deploy.local.procs import free_port
from deploy.provision import DATA_SERVICES, ensure_topics, provision_database

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The hostile suite runs last: it fuzzes the shared platform and leaves its data behind."""
    items.sort(key=lambda item: item.get_closest_marker("hostile") is not None)


@dataclass
class Infra:
    bootstrap: str
    admin_url: str
    workdir: Path


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    env_kafka, env_db = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("DATABASE_URL")
    workdir = Path(tempfile.mkdtemp(prefix="pasarkota-test-"))
    kafka: KafkaBroker | None = None
    pg: LocalPostgres | None = None
    errors: list[BaseException] = []

    def start(fn: Callable[[], None]) -> threading.Thread:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:
                errors.append(exc)
        thread = threading.Thread(target=run)
        thread.start()
        return thread

    threads = []
    if not env_kafka:
        kafka = KafkaBroker(workdir / "kafka", port=free_port(), controller_port=free_port())
        threads.append(start(kafka.start))
    if not env_db:
        pg = LocalPostgres(workdir / "postgres", port=free_port())
        threads.append(start(pg.start))
    for t in threads:
        t.join()
    try:
        if errors:
            raise errors[0]
        bootstrap = env_kafka or kafka.bootstrap  # type: ignore[union-attr]
        admin_url = env_db or pg.admin_url  # type: ignore[union-attr]

        async def provision() -> None:
            await provision_database(admin_url, DATA_SERVICES)
            await ensure_topics(bootstrap)

        asyncio.run(provision())
        yield Infra(bootstrap, admin_url, workdir)
    finally:
        if kafka:
            kafka.stop()
        if pg:
            pg.stop()
        for log in ("kafka/kafka.log", "postgres/postgres.log"):
            src = workdir / log
            if src.exists():
                ARTIFACTS.mkdir(exist_ok=True)
                shutil.copy(src, ARTIFACTS / Path(log).name)
        shutil.rmtree(workdir, ignore_errors=True)


T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], *, timeout: float = 60.0, interval: float = 0.1,
                     what: str = "condition") -> T:
    """Poll until ``probe`` returns a truthy value. The timeout only bounds a failing test; nothing is timed."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"{what} did not happen (last value: {last!r})")


# --------------------------------------------------------------------------------------------------------
# The whole platform: every service as its own process (`pasarkota serve <svc>`) on the session's Kafka and
# Postgres, with the demo cities seeded. For end-to-end tests that cross process boundaries.
# --------------------------------------------------------------------------------------------------------

TEST_CODE_SEAL_KEY = TEST_SEAL_KEY  # seals sign-in codes on the bus, identity → notifications
PLATFORM_SERVICES = ("identity", "catalog", "orders", "payments", "learning", "notifications", "portal")


class Platform:
    """Running services with helpers to reach, authenticate against, kill and restart them."""

    def __init__(self, infra: Infra, home: Path) -> None:
        from deploy.local.procs import free_port as _free_port

        self.infra = infra
        self.home = home
        self.ports = {name: _free_port() for name in PLATFORM_SERVICES}
        self.procs: dict[str, Any] = {}
        # identity's signing keys: only the identity process is told where they are (tests sign with the same
        # test key through tests/tokens.py, which is how `platform.token` works)
        self.keys_file = home / "identity-keys.json"
        self.secrets_dir = home / "secrets"
        self.secrets_dir.mkdir(exist_ok=True)
        if not self.keys_file.exists():
            import json

            self.keys_file.write_text(json.dumps(keys_document()))

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def env(self, service: str) -> dict[str, str]:
        from deploy.provision import service_database_url

        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "PASARKOTA_JWKS_JSON", "PASARKOTA_IDENTITY_KEYS_FILE")}
        env.update({
            "PASARKOTA_SERVICE": service, "KAFKA_BOOTSTRAP_SERVERS": self.infra.bootstrap,
            "PASARKOTA_HTTP_PORT": str(self.ports[service]), "PASARKOTA_CODE_SEAL_KEY": TEST_CODE_SEAL_KEY,
            "PASARKOTA_LOG_FORMAT": "json", "PASARKOTA_DEMO": "1", "PASARKOTA_ENV": "test",
            "PASARKOTA_JWKS_REFETCH_SECONDS": "1", "PYTHONUNBUFFERED": "1",
            # notifications: no quiet hours (tests never depend on the clock), quick retries, leases and reminders
            "PASARKOTA_NOTIFICATIONS_QUIET_HOURS": "off", "PASARKOTA_NOTIFICATIONS_SEND_POLL_SECONDS": "0.2",
            "PASARKOTA_NOTIFICATIONS_BACKOFF_SECONDS": "0.3", "PASARKOTA_NOTIFICATIONS_MAX_ATTEMPTS": "3",
            "PASARKOTA_NOTIFICATIONS_LEASE_SECONDS": "4", "PASARKOTA_NOTIFICATIONS_SEND_TIMEOUT_SECONDS": "1",
            "PASARKOTA_NOTIFICATIONS_REMINDER_SCAN_SECONDS": "1",
            # the secret store every process reads city secrets from (shared.cities.city_secret, issue #14):
            # a test puts a runtime city's webhook secret there while the processes run
            "PASARKOTA_SECRETS_DIR": str(self.secrets_dir),
        })
        if service == "identity":
            env["PASARKOTA_IDENTITY_KEYS_FILE"] = str(self.keys_file)
            env["PASARKOTA_IDENTITY_CODES_PER_ADDRESS_HOUR"] = "1000"  # the whole suite signs in from 127.0.0.1
        if service != "portal":
            env["PASARKOTA_DATABASE_URL"] = service_database_url(self.infra.admin_url, service)
        for other in self.ports:
            env[f"PASARKOTA_{other.upper()}_URL"] = self.url(other)
        return env

    def start(self, service: str, *, name: str | None = None, port: int | None = None,
              env: dict[str, str] | None = None) -> None:
        """Start ``service``; ``name``/``port``/``env`` start an extra replica with its own settings (a test's)."""
        import subprocess
        import sys

        name = name or service
        if port is not None:
            self.ports[name] = port
        log = open(self.home / f"{name}.log", "ab")
        full_env = self.env(service) | {"PASARKOTA_HTTP_PORT": str(self.ports[name])} | (env or {})
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "deploy.cli", "serve", service], env=full_env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, services: list[str] | None = None, timeout: float = 120.0) -> None:
        import httpx

        pending = list(services or self.ports)
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for name in list(pending):
                if self.procs[name].poll() is not None:
                    raise AssertionError(f"{name} exited: " + self.log_tail(name))
                try:
                    if httpx.get(self.url(name) + "/readyz", timeout=2).status_code == 200:
                        pending.remove(name)
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        if pending:
            raise AssertionError(f"not ready: {pending}; " + "; ".join(self.log_tail(n) for n in pending))

    def kill(self, service: str) -> None:
        """SIGKILL, as a crash would: no graceful shutdown, no flush."""
        import signal

        proc = self.procs[service]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def restart(self, service: str, extra_env: dict[str, str] | None = None) -> None:
        """Start again (after :meth:`kill`), optionally with extra environment (fault injection, other config)."""
        self.start(service, env=extra_env)
        self.wait_ready([service])

    def stop_all(self) -> None:
        import signal

        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except Exception:
                os.killpg(proc.pid, signal.SIGKILL)

    def log_tail(self, service: str, lines: int = 15) -> str:
        path = self.home / f"{service}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def token(self, city: str, role: str, *, sub: str | None = None, vendor_id: str | None = None,
              market_id: str | None = None) -> str:
        """A token signed with the test key identity holds (tests/tokens.py)."""
        from tests.tokens import mint

        return mint(city, role, sub=sub, vendor_id=vendor_id, market_id=market_id)

    def headers(self, city: str, role: str, **kw: Any) -> dict[str, str]:
        return {"Authorization": "Bearer " + self.token(city, role, **kw)}


@pytest.fixture(scope="session")
def platform(infra: Infra) -> Iterator[Platform]:
    home = infra.workdir / "platform"
    home.mkdir(exist_ok=True)
    plat = Platform(infra, home)
    try:
        for name in plat.ports:
            plat.start(name)
        plat.wait_ready()
        yield plat
    finally:
        plat.stop_all()
        ARTIFACTS.mkdir(exist_ok=True)
        for name in plat.ports:
            src = home / f"{name}.log"
            if src.exists():
                shutil.copy(src, ARTIFACTS / f"{name}.log")


@contextlib.asynccontextmanager
async def scratch_schema(infra: Infra, prefix: str, migrations: Path) -> AsyncIterator[Any]:
    """A throwaway schema in the application database with a service's migrations applied, and a pool on it.

    For tests that drive one service's store/handlers directly on the real Postgres; dropped afterwards.
    """
    import uuid

    import asyncpg

    from deploy.provision import DATABASE_NAME, admin_on_database
    from shared.db import create_pool, migrate

    url = admin_on_database(infra.admin_url, DATABASE_NAME)
    schema = f"{prefix}_t{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(url)
    await admin.execute(f"CREATE SCHEMA {schema}")
    pool = await create_pool(url, schema, f"{prefix}-test", max_size=6)
    try:
        async with pool.acquire() as conn:
            await migrate(conn, schema, migrations)
        yield pool
    finally:
        await pool.close()
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()
