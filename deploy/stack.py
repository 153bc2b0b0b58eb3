"""The whole local platform: Kafka, Postgres and every service as processes, supervised.

State lives in ``$PASARKOTA_HOME`` (default ``<repo>/.pasarkota``): data dirs, logs, pid files and
``stack.json`` describing what runs where. ``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL`` make the stack use
existing servers instead of starting its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from deploy.local.errors import RuntimeProblem
from deploy.local.kafka import KafkaBroker
from deploy.local.postgres import LocalPostgres
from deploy.local.procs import read_pid, require_free_port, spawn, stop_pid
from deploy.provision import DATA_SERVICES, ensure_topics, provision_database, service_database_url

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ServiceDef:
    name: str
    default_port: int
    uses_database: bool = True

    @property
    def port(self) -> int:
        return _int_env(f"PASARKOTA_{self.name.upper()}_PORT", self.default_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def workers(self) -> int:
        """Processes of this service (``PASARKOTA_<SERVICE>_WORKERS``): the payment-burst path (catalog, orders,
        payments) one per core by default (at most 4: a laptop with 16 cores need not hold 48 idle processes), the
        others one — each process costs ~68 MiB (docs/benchmarks.md)."""
        default = min(os.cpu_count() or 1, 4) if self.name in BURST_PATH else 1
        return max(1, min(_int_env(f"PASARKOTA_{self.name.upper()}_WORKERS", default), 16))


# The services a payment burst goes through: checkout, stock, the saga, the webhook.
BURST_PATH = ("catalog", "orders", "payments")


SERVICES = (
    ServiceDef("catalog", 8101),
    ServiceDef("orders", 8102),
    ServiceDef("payments", 8103),
    ServiceDef("learning", 8104),
    ServiceDef("identity", 8105),
    ServiceDef("notifications", 8106),
    ServiceDef("portal", 8100, uses_database=False),
)


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise RuntimeProblem(f"{name}={raw!r} is not a port number; set it to an integer like {default}") from None


def home() -> Path:
    return Path(os.environ.get("PASARKOTA_HOME", REPO / ".pasarkota")).resolve()


def state_file() -> Path:
    return home() / "stack.json"


def read_state() -> dict[str, Any]:
    try:
        return dict(json.loads(state_file().read_text()))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def write_state(state: dict[str, Any]) -> None:
    state_file().parent.mkdir(parents=True, exist_ok=True)
    tmp = state_file().with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(state_file())


def identity_keys_file() -> Path:
    """The identity service's signing keys: ``PASARKOTA_IDENTITY_KEYS_FILE`` or one made once in the state dir.

    Only the identity process is told where it is; every other service verifies against identity's JWKS.
    """
    if os.environ.get("PASARKOTA_IDENTITY_KEYS_FILE"):
        return Path(os.environ["PASARKOTA_IDENTITY_KEYS_FILE"])
    path = home() / "secrets" / "identity-keys.json"
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()).decode()
        kid = "k-" + secrets.token_hex(4)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"active": kid, "keys": [{"kid": kid, "private_pem": pem}]}, indent=2))
        path.chmod(0o600)
    return path


def local_kafka() -> KafkaBroker:
    return KafkaBroker(home() / "kafka", port=_int_env("PASARKOTA_KAFKA_PORT", 19092),
                       controller_port=_int_env("PASARKOTA_KAFKA_CONTROLLER_PORT", 19093))


def local_postgres() -> LocalPostgres:
    return LocalPostgres(home() / "postgres", port=_int_env("PASARKOTA_POSTGRES_PORT", 15432))


def log_path(component: str) -> Path:
    if component == "kafka":
        return local_kafka().log_file
    if component == "postgres":
        return local_postgres().log_file
    return home() / "logs" / f"{component}.log"


def service_env(svc: ServiceDef, bootstrap: str, admin_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "PASARKOTA_SERVICE": svc.name,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "PASARKOTA_HTTP_PORT": str(svc.port),
        "PASARKOTA_LOG_FORMAT": "json",
        "PASARKOTA_DEMO": os.environ.get("PASARKOTA_DEMO", "1"),
        "PYTHONUNBUFFERED": "1",
    })
    env.pop("PASARKOTA_IDENTITY_KEYS_FILE", None)
    if svc.name == "identity":
        env["PASARKOTA_IDENTITY_KEYS_FILE"] = str(identity_keys_file())
    if svc.uses_database:
        env["PASARKOTA_DATABASE_URL"] = service_database_url(admin_url, svc.name)
    for other in SERVICES:
        env.setdefault(f"PASARKOTA_{other.name.upper()}_URL", other.url)
    return env


def worker_pid_file(svc: ServiceDef, index: int) -> Path:
    """``run/<service>.pid`` for the first process, ``run/<service>.<i>.pid`` for the others."""
    return home() / "run" / (f"{svc.name}.pid" if index == 0 else f"{svc.name}.{index}.pid")


def worker_port_file(svc: ServiceDef, index: int) -> Path:
    """Where worker ``index`` of a multi-process service writes its own port (for status and readiness)."""
    return home() / "run" / f"{svc.name}.{index}.port"


def start_service(svc: ServiceDef, bootstrap: str, admin_url: str) -> int:
    """Start every worker of ``svc`` that is not running (all share the service's port, SO_REUSEPORT, when
    there are several); returns the first worker's pid."""
    (home() / "run").mkdir(parents=True, exist_ok=True)
    running = [read_pid(worker_pid_file(svc, i)) for i in range(svc.workers)]
    if not any(running):
        require_free_port(svc.port, f"the {svc.name} service", f"PASARKOTA_{svc.name.upper()}_PORT")
    exe = str(Path(sys.executable).with_name("pasarkota"))
    argv = [exe, "serve", svc.name] if Path(exe).exists() else [sys.executable, "-m", "deploy.cli", "serve", svc.name]
    for index, pid in enumerate(running):
        if pid:
            continue
        env = service_env(svc, bootstrap, admin_url)
        if svc.workers > 1:
            worker_port_file(svc, index).unlink(missing_ok=True)
            env.update({"PASARKOTA_WORKER_INDEX": str(index), "PASARKOTA_REUSE_PORT": "1",
                        "PASARKOTA_WORKER_PORT_FILE": str(worker_port_file(svc, index))})
        running[index] = spawn(argv, log_path(svc.name), worker_pid_file(svc, index), env=env, cwd=REPO).pid
    return int(running[0] or 0)


def worker_urls(svc: ServiceDef) -> list[tuple[int, int | None, str | None]]:
    """(index, pid, own URL) of each worker; the URL is None until it wrote its port (or with one worker)."""
    found = []
    for index in range(svc.workers):
        pid = read_pid(worker_pid_file(svc, index))
        url = None
        if svc.workers > 1:
            try:
                url = f"http://127.0.0.1:{int(worker_port_file(svc, index).read_text())}"
            except (FileNotFoundError, ValueError):
                url = None
        found.append((index, pid, url))
    return found


def ready(svc: ServiceDef, timeout: float = 2.0) -> bool:
    """Every worker of the service answers ``/readyz`` 200 (one worker: the service's own port)."""
    if svc.workers == 1:
        return bool(readiness(svc, timeout)["healthy"])
    workers = worker_urls(svc)
    return all(pid and url and readiness(svc, timeout, url=url)["healthy"] for _i, pid, url in workers)


def readiness(svc: ServiceDef, timeout: float = 2.0, *, url: str | None = None) -> dict[str, Any]:
    """A service's ``/readyz`` (or one worker's, at ``url``): healthy (200), and per consumer group its lag and
    oldest in-flight age (``{"group": {"lag": n, "oldest_in_flight_seconds": s}}``, empty for a service without
    consumers)."""
    try:
        r = httpx.get(f"{url or svc.url}/readyz", timeout=timeout)
    except httpx.HTTPError:
        return {"healthy": False, "consumers": {}, "degraded": []}
    try:
        body = r.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    consumers, degraded = body.get("consumers"), body.get("degraded")
    return {"healthy": r.status_code == 200, "consumers": consumers if isinstance(consumers, dict) else {},
            "degraded": [str(d) for d in degraded] if isinstance(degraded, list) else []}


def bring_up(progress: Any = print) -> dict[str, Any]:
    """Start (or adopt) every component and wait until all are ready. Returns the stack state."""
    home().mkdir(parents=True, exist_ok=True)
    state = read_state()
    started = time.monotonic()
    if os.environ.get("DATABASE_URL"):
        admin_url = os.environ["DATABASE_URL"]
        state["postgres"] = {"admin_url": admin_url, "local": False}
    else:
        pg = local_postgres()
        progress(f"  postgres   starting on 127.0.0.1:{pg.port} ...")
        pg.start()
        admin_url = pg.admin_url
        state["postgres"] = {"admin_url": admin_url, "local": True, "port": pg.port}
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        state["kafka"] = {"bootstrap": bootstrap, "local": False}
    else:
        kafka = local_kafka()
        progress(f"  kafka      starting on {kafka.bootstrap} ...")
        kafka.start()
        bootstrap = kafka.bootstrap
        state["kafka"] = {"bootstrap": bootstrap, "local": True}
    write_state(state)
    progress("  provisioning database roles/schemas and topics ...")
    asyncio.run(_provision(admin_url, bootstrap))
    for svc in SERVICES:
        start_service(svc, bootstrap, admin_url)
    state["services"] = {s.name: {"url": s.url} for s in SERVICES}
    write_state(state)
    deadline = time.monotonic() + 120
    pending = list(SERVICES)
    while pending and time.monotonic() < deadline:
        pending = [s for s in pending if not ready(s)]
        for s in pending:
            if not all(read_pid(worker_pid_file(s, i)) for i in range(s.workers)):
                raise RuntimeProblem(f"the {s.name} service exited while starting; see `pasarkota logs {s.name}`")
        if pending:
            time.sleep(0.3)
    if pending:
        names = ", ".join(s.name for s in pending)
        raise RuntimeProblem(f"not ready after 120s: {names}; see `pasarkota logs <name>`")
    state["up_seconds"] = round(time.monotonic() - started, 1)
    write_state(state)
    return state


async def _provision(admin_url: str, bootstrap: str) -> None:
    await provision_database(admin_url, DATA_SERVICES)
    await ensure_topics(bootstrap)


def bring_down(progress: Any = print) -> None:
    """Stop every service, then Kafka and Postgres if this stack started them. Leaves no stray process."""
    state = read_state()
    sup = read_pid(home() / "run" / "supervisor.pid")
    if sup and sup != os.getpid():
        with contextlib.suppress(ProcessLookupError):
            os.kill(sup, signal.SIGTERM)
        # The supervisor tears the stack down itself, each component bounded by stop_pid's timeout: wait for
        # it rather than race it (on a busy machine that takes well over 20 s), then make sure it is gone.
        deadline = time.monotonic() + 180
        while read_pid(home() / "run" / "supervisor.pid") and time.monotonic() < deadline:
            time.sleep(0.2)
        stop_pid(sup, timeout=10)
    for svc in SERVICES:
        for pid_file in sorted((home() / "run").glob(f"{svc.name}*.pid")):
            if pid_file.name != f"{svc.name}.pid" and not pid_file.name.startswith(f"{svc.name}."):
                continue  # another service whose name starts alike
            pid = read_pid(pid_file)
            if pid:
                progress(f"  stopping {pid_file.stem}")
                stop_pid(pid)
            pid_file.unlink(missing_ok=True)
        for port_file in (home() / "run").glob(f"{svc.name}.*.port"):
            port_file.unlink(missing_ok=True)
    if state.get("kafka", {}).get("local", True):
        kafka = local_kafka()
        if kafka.running_pid():
            progress("  stopping kafka")
        kafka.stop()
    if state.get("postgres", {}).get("local", True):
        pg = local_postgres()
        if pg.is_running():
            progress("  stopping postgres")
        pg.stop()


def _tcp(hostport: str) -> bool:
    host, _, port = hostport.split(",")[0].rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=1.0):
            return True
    except (OSError, ValueError):
        return False


async def _pg_ok(url: str) -> bool:
    import asyncpg

    try:
        conn = await asyncpg.connect(url, timeout=2)
    except Exception:
        return False
    try:
        return bool(await conn.fetchval("SELECT true"))
    finally:
        await conn.close()


def status() -> list[dict[str, Any]]:
    state = read_state()
    bootstrap = state.get("kafka", {}).get("bootstrap") or os.environ.get("KAFKA_BOOTSTRAP_SERVERS") \
        or local_kafka().bootstrap
    admin_url = state.get("postgres", {}).get("admin_url") or os.environ.get("DATABASE_URL") \
        or local_postgres().admin_url
    components = [
        {"name": "kafka", "healthy": _tcp(bootstrap), "url": f"kafka://{bootstrap}"},
        {"name": "postgres", "healthy": asyncio.run(_pg_ok(admin_url)),
         "url": admin_url.split("@")[-1].join(["postgresql://", ""])},
    ]
    for svc in SERVICES:
        component: dict[str, Any] = {"name": svc.name, "url": svc.url, **readiness(svc)}
        if svc.workers > 1:  # each process on its own: pid, health, its consumer-group members
            workers = [{"index": i, "pid": pid, "url": url,
                        **(readiness(svc, url=url) if pid and url else {"healthy": False, "consumers": {}})}
                       for i, pid, url in worker_urls(svc)]
            component["workers"] = workers
            component["healthy"] = component["healthy"] and all(w["healthy"] for w in workers)
        components.append(component)
    return components
