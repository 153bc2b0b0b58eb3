"""Provisioning of shared infrastructure: the database, one schema + login role per service, the topics.

Idempotent: safe on every `pasarkota up`, in the test session and as a Kubernetes Job.
"""

from __future__ import annotations

import asyncio
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic

from shared.kafka import KafkaSecurity

DATA_SERVICES = ("catalog", "orders", "payments", "learning", "identity", "notifications")
TOPIC_PLAN = Path(__file__).resolve().parent / "topics.toml"
DATABASE_NAME = os.environ.get("PASARKOTA_DATABASE_NAME", "pasarkota")


def role_of(service: str) -> str:
    return f"pk_{service}"


def role_password(service: str) -> str:
    """From ``PASARKOTA_DB_PASSWORD_<SERVICE>``; a development default otherwise."""
    return os.environ.get(f"PASARKOTA_DB_PASSWORD_{service.upper()}", f"pk-{service}-dev")


def unsafe_for_production(services: tuple[str, ...] = DATA_SERVICES, admin_url: str = "") -> list[str]:
    """What stops provisioning in ``PASARKOTA_ENV=prod``: a role password that is unset (so the development default
    would be set on the role), equal to the development default, a template placeholder, or shorter than 16
    characters; an admin URL still holding a placeholder. Empty when it is safe to go on."""
    problems = []
    for service in services:
        name = f"PASARKOTA_DB_PASSWORD_{service.upper()}"
        value = os.environ.get(name)
        if value is None:
            problems.append(f"{name} is not set (the development password would be used)")
        elif value == f"pk-{service}-dev" or "CHANGE_ME" in value or len(value) < 16:
            problems.append(f"{name} is a development or placeholder value, or shorter than 16 characters")
    if "CHANGE_ME" in admin_url:
        problems.append("DATABASE_URL still holds a CHANGE_ME placeholder")
    return problems


def with_credentials(admin_url: str, user: str, password: str, database: str) -> str:
    parts = urlsplit(admin_url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(user)}:{quote(password)}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, f"/{database}", parts.query, ""))


def service_database_url(admin_url: str, service: str) -> str:
    return with_credentials(admin_url, role_of(service), role_password(service), DATABASE_NAME)


def admin_on_database(admin_url: str, database: str) -> str:
    """The admin URL pointed at another database of the same server."""
    parts = urlsplit(admin_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


async def provision_database(admin_url: str, services: tuple[str, ...] = DATA_SERVICES) -> None:
    """Create the database, and for each service its login role owning a schema of the same name.

    A service's role gets no rights on other schemas (nor on ``public``), so it cannot read or write
    another service's tables.
    """
    conn = await asyncpg.connect(admin_url)
    try:
        if not await conn.fetchval("SELECT true FROM pg_database WHERE datname = $1", DATABASE_NAME):
            await conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    finally:
        await conn.close()
    conn = await asyncpg.connect(admin_on_database(admin_url, DATABASE_NAME))
    try:
        await conn.execute(f'REVOKE ALL ON DATABASE "{DATABASE_NAME}" FROM PUBLIC')
        await conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        for service in services:
            role = role_of(service)
            password = role_password(service).replace("'", "''")
            exists = await conn.fetchval("SELECT true FROM pg_roles WHERE rolname = $1", role)
            verb = "ALTER" if exists else "CREATE"
            await conn.execute(f"{verb} ROLE {role} LOGIN PASSWORD '{password}' NOSUPERUSER NOCREATEDB NOCREATEROLE")
            await conn.execute(f'GRANT CONNECT ON DATABASE "{DATABASE_NAME}" TO {role}')
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {service} AUTHORIZATION {role}")
            await conn.execute(f"ALTER SCHEMA {service} OWNER TO {role}")
            await conn.execute(f"REVOKE ALL ON SCHEMA {service} FROM PUBLIC")
            await conn.execute(f"ALTER ROLE {role} SET search_path = {service}")
    finally:
        await conn.close()


@dataclass(frozen=True)
class PlannedTopic:
    name: str
    partitions: int
    retention_hours: int
    cleanup_policy: str = "delete"   # "compact": the last record per key is kept without end (state topics)


def load_topic_plan(path: Path = TOPIC_PLAN) -> list[PlannedTopic]:
    data = tomllib.loads(path.read_text())
    default_retention = int(data.get("defaults", {}).get("retention_hours", 168))
    topics = [PlannedTopic(t["name"], int(t["partitions"]), int(t.get("retention_hours", default_retention)),
                           str(t.get("cleanup_policy", "delete"))) for t in data["topic"]]
    for t in topics:
        if t.cleanup_policy not in ("delete", "compact"):
            raise ValueError(f"{path}: topic {t.name}: cleanup_policy must be delete or compact, "
                             f"not {t.cleanup_policy}")
    return topics


def replication_factor() -> int:
    """``PASARKOTA_TOPIC_REPLICATION_FACTOR``: 1 on a laptop; 3 on a managed multi-broker cluster."""
    return int(os.environ.get("PASARKOTA_TOPIC_REPLICATION_FACTOR", "1"))


def min_insync_replicas(replicas: int) -> int:
    """With ``acks=all``, a write must reach this many replicas: one fewer than the replicas (at most 2), so a
    cluster of 3 keeps accepting with one broker down and refuses — rather than loses — writes with two down."""
    return max(1, min(2, replicas - 1))


def topic_configs(t: PlannedTopic) -> dict[str, str]:
    configs = {"retention.ms": str(t.retention_hours * 3600 * 1000), "cleanup.policy": t.cleanup_policy}
    if t.cleanup_policy == "compact":  # retention.ms does not apply; compact a segment within the hour
        configs = {"cleanup.policy": "compact", "segment.ms": str(3600 * 1000), "min.cleanable.dirty.ratio": "0.1"}
    if replication_factor() > 1:
        configs["min.insync.replicas"] = str(min_insync_replicas(replication_factor()))
    return configs


TOPIC_ALREADY_EXISTS = 36


async def ensure_topics(bootstrap: str, topics: list[PlannedTopic] | None = None,
                        security: KafkaSecurity | None = None) -> list[str]:
    """Create missing topics and grow partition counts to the plan; returns the names created.

    Waits until the broker's metadata shows every planned topic, so consumers can subscribe at once.
    ``security`` defaults to the ``PASARKOTA_KAFKA_*`` settings of the environment.
    """
    topics = load_topic_plan() if topics is None else topics
    security = KafkaSecurity.from_env() if security is None else security
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="pasarkota-provision",
                                **security.client_options())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t.name not in existing]
        created: list[str] = []
        if missing:
            response = await admin.create_topics([
                NewTopic(t.name, num_partitions=t.partitions, replication_factor=replication_factor(),
                         topic_configs=topic_configs(t))
                for t in missing
            ])
            for topic_error in response.topic_errors:
                name, code = topic_error[0], topic_error[1]
                if code == 0:
                    created.append(name)
                elif code != TOPIC_ALREADY_EXISTS:
                    message = topic_error[2] if len(topic_error) > 2 else ""
                    raise RuntimeError(f"Kafka refused to create topic {name}: error {code} {message}")
        await _align_cleanup_policy(admin, [t for t in topics if t.name in existing])
        counts = await _partition_counts(admin, [t.name for t in topics])
        grow = {t.name: NewPartitions(t.partitions) for t in topics
                if t.name in existing and 0 < counts.get(t.name, 0) < t.partitions}
        if grow:
            await admin.create_partitions(grow)
            counts = await _partition_counts(admin, [t.name for t in topics])
        for _ in range(100):
            if all(counts.get(t.name, 0) >= t.partitions for t in topics):
                break
            await asyncio.sleep(0.1)
            counts = await _partition_counts(admin, [t.name for t in topics])
        return sorted(created)
    finally:
        await admin.close()


async def _partition_counts(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
    described = await admin.describe_topics(names)
    return {d["topic"]: len(d["partitions"]) for d in described if d.get("error_code", 0) == 0}


async def _align_cleanup_policy(admin: AIOKafkaAdminClient, topics: list[PlannedTopic]) -> None:
    """A topic that the plan now compacts (catalog.market.v1 after issue #17) gets its configs on existing brokers."""
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    if not topics:
        return
    described = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t.name) for t in topics])
    current: dict[str, str] = {}
    for response in described:
        for resource in response.resources:
            name, entries = resource[3], resource[4]
            for entry in entries:
                if entry[0] == "cleanup.policy":
                    current[name] = entry[1]
    stale = [t for t in topics if current.get(t.name, t.cleanup_policy) != t.cleanup_policy]
    if stale:
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, t.name, configs=topic_configs(t))
                                   for t in stale])
