"""Test session: one real Kafka broker and one real PostgreSQL server for the whole run.

Started by the project itself in a temporary folder on free ports, unless ``KAFKA_BOOTSTRAP_SERVERS`` and
``DATABASE_URL`` point at existing ones.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from deploy.local.kafka import KafkaBroker
from deploy.local.postgres import LocalPostgres
from deploy.local.procs import free_port
from deploy.provision import DATA_SERVICES, ensure_topics, provision_database

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


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
