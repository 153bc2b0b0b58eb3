"""`pasarkota up/status/down` as a user runs them: its own Kafka and Postgres, every service healthy."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import psutil
import pytest

from deploy.local.procs import free_port

pytestmark = pytest.mark.integration
PASARKOTA = [sys.executable, "-m", "deploy.cli"]


@pytest.fixture(scope="module")
def stack_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    home = tmp_path_factory.mktemp("stack")
    env = {k: v for k, v in os.environ.items()
           if k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "PASARKOTA_JWKS_JSON")}
    env["PASARKOTA_HOME"] = str(home)
    for name in ("KAFKA", "KAFKA_CONTROLLER", "POSTGRES", "CATALOG", "ORDERS", "PAYMENTS", "LEARNING", "IDENTITY",
                 "PORTAL"):
        env[f"PASARKOTA_{name}_PORT"] = str(free_port())
    yield env
    subprocess.run([*PASARKOTA, "down"], env=env, capture_output=True, timeout=120)


def cli(env: dict[str, str], *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PASARKOTA, *args], env=env, capture_output=True, text=True, timeout=timeout)


def components(env: dict[str, str]) -> dict[str, bool]:
    out = cli(env, "status", "--json")
    return {c["name"]: c["healthy"] for c in json.loads(out.stdout)["components"]}


def stack_pids(home: Path) -> list[int]:
    pids = []
    for pid_file in [*(home / "run").glob("*.pid"), home / "kafka" / "kafka.pid",
                     home / "postgres" / "pgdata" / "postmaster.pid"]:
        if pid_file.exists():
            pids.append(int(pid_file.read_text().split()[0]))
    return pids


def test_up_status_token_restart_and_down(stack_env: dict[str, str]) -> None:
    up = cli(stack_env, "up", "--detach")
    assert up.returncode == 0, up.stdout + up.stderr
    assert "portal at http://127.0.0.1:" + stack_env["PASARKOTA_PORTAL_PORT"] in up.stdout

    health = components(stack_env)
    assert health == {name: True for name in
                      ("kafka", "postgres", "catalog", "orders", "payments", "learning", "identity",
                       "notifications", "portal")}
    # each service's consumer groups, as its /readyz reports them: lag and oldest in-flight age
    listed = json.loads(cli(stack_env, "status", "--json").stdout)["components"]
    for c in listed[2:]:
        assert all(set(group) == {"lag", "oldest_in_flight_seconds"} for group in c["consumers"].values()), c

    # `pasarkota token` asks identity: an EdDSA token that verifies against identity's JWKS, and the services take it
    from shared.ids import demo_id

    vendor = demo_id("vendor", "cimahi", "vendor-01")
    made = cli(stack_env, "token", "--city", "cimahi", "--role", "vendor", "--vendor", vendor)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    identity = f"http://127.0.0.1:{stack_env['PASARKOTA_IDENTITY_PORT']}"
    jwks = jwt.PyJWKClient(identity + "/.well-known/jwks.json")
    claims = jwt.decode(token, jwks.get_signing_key_from_jwt(token).key, algorithms=["EdDSA"])
    assert (claims["city"], claims["roles"], claims["vendor_id"]) == ("cimahi", ["vendor"], vendor)
    mine = httpx.get(f"http://127.0.0.1:{stack_env['PASARKOTA_CATALOG_PORT']}/cities/cimahi/me/products",
                     headers={"Authorization": f"Bearer {token}"})
    assert mine.status_code == 200, mine.text
    refused = cli(stack_env, "token", "--city", "cimahi", "--role", "vendor")
    assert refused.returncode == 2 and "--vendor" in refused.stderr
    prod = cli(dict(stack_env, PASARKOTA_ENV="prod"), "token", "--city", "cimahi", "--role", "buyer")
    assert prod.returncode == 2 and "PASARKOTA_ENV=prod" in prod.stderr and not prod.stdout.strip()
    # the first operator, from the command line
    operator = cli(stack_env, "admin", "create", "--phone", "0899-7777-0001", "--role", "operator")
    assert operator.returncode == 0 and "operator granted" in operator.stdout, operator.stderr
    again = cli(stack_env, "admin", "create", "--phone", "+62 899 7777 0001", "--role", "operator")
    assert again.returncode == 0 and "already held" in again.stdout

    # A service that crashes is restarted by the supervisor.
    home = Path(stack_env["PASARKOTA_HOME"])
    catalog_pid = int((home / "run" / "catalog.pid").read_text())
    os.kill(catalog_pid, signal.SIGKILL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        pid_file = home / "run" / "catalog.pid"
        if pid_file.exists() and int(pid_file.read_text()) != catalog_pid and components(stack_env)["catalog"]:
            break
        time.sleep(0.5)
    else:
        pytest.fail("catalog was not restarted")

    ready = httpx.get(f"http://127.0.0.1:{stack_env['PASARKOTA_PAYMENTS_PORT']}/readyz").json()
    assert ready["checks"] == {"postgres": True, "kafka": True, "outbox_relay": True}

    pids = stack_pids(home)
    assert len(pids) >= 9  # supervisor, six services, kafka, postgres
    down = cli(stack_env, "down")
    assert down.returncode == 0, down.stderr

    def alive() -> list[int]:
        out = []
        for p in pids:
            try:
                if psutil.Process(p).status() != psutil.STATUS_ZOMBIE:
                    out.append(p)
            except psutil.NoSuchProcess:
                pass
        return out

    deadline = time.monotonic() + 30  # a SIGKILLed process may take a moment to be reaped on a busy machine
    while alive() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert alive() == []
    assert not any(components(stack_env).values())


def test_a_port_in_use_is_named_with_the_fix(stack_env: dict[str, str]) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        env = dict(stack_env, PASARKOTA_POSTGRES_PORT=str(busy.getsockname()[1]))
        out = cli(env, "up", "--detach")
    assert out.returncode != 0
    assert "already in use" in out.stderr and "PASARKOTA_POSTGRES_PORT" in out.stderr
    cli(env, "down")


def test_missing_java_is_explained(stack_env: dict[str, str], tmp_path: Path) -> None:
    env = dict(stack_env, PATH=str(tmp_path), JAVA_HOME=str(tmp_path / "nojdk"))
    env["PASARKOTA_HOME"] = str(tmp_path / "home")
    out = subprocess.run([*PASARKOTA, "up"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "Java 17" in out.stderr and "JAVA_HOME" in out.stderr
    subprocess.run([*PASARKOTA, "down"], env=env, capture_output=True, timeout=120)


def test_up_after_a_crash_of_everything_recovers(stack_env: dict[str, str]) -> None:
    """A power cut: every process SIGKILLed, pid files and Postgres' postmaster.pid left behind."""
    env = dict(stack_env, PASARKOTA_DEMO="0")
    assert cli(env, "up", "--detach").returncode == 0
    home = Path(env["PASARKOTA_HOME"])
    pids = stack_pids(home)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    psutil.wait_procs([psutil.Process(p) for p in pids if psutil.pid_exists(p)], timeout=30)
    assert (home / "run" / "catalog.pid").exists() and (home / "postgres" / "pgdata" / "postmaster.pid").exists()

    again = cli(env, "up", "--detach")
    assert again.returncode == 0, again.stdout + again.stderr
    assert all(components(env).values())
    assert cli(env, "down").returncode == 0
