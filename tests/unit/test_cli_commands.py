"""The `pasarkota` tools sit on top of the platform: services never import them, every command is declared
in one list, and `status` shows each consumer group's lag and oldest in-flight age from /readyz."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from deploy import cli
from deploy.local.procs import free_port

REPO = Path(__file__).resolve().parents[2]
READY = {"ready": True, "service": "orders", "checks": {"postgres": True, "kafka": True, "outbox_relay": True},
         "consumers": {"orders-saga": {"lag": 42, "oldest_in_flight_seconds": 75.5},
                       "orders-projections": {"lag": 0, "oldest_in_flight_seconds": 0.0}}}


def test_no_service_imports_the_tools() -> None:
    offenders = [f"{path.relative_to(REPO)}:{n}" for path in sorted((REPO / "services").rglob("*.py"))
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if re.match(r"\s*(from deploy[\s.]|import deploy\b)", line)]
    assert offenders == []
    assert list((REPO / "services").rglob("bench.py")) == [] and list((REPO / "services").rglob("cli.py")) == []


def test_one_dockerfile_with_the_service_as_build_argument() -> None:
    places = [REPO, REPO / "deploy", *(REPO / "services").iterdir(), *(REPO / "services").glob("*/*")]
    dockerfiles = sorted(p.relative_to(REPO).as_posix() for d in places if d.is_dir() for p in d.glob("*Dockerfile*"))
    assert dockerfiles == ["Dockerfile"]
    text = (REPO / "Dockerfile").read_text()
    assert "ARG SERVICE" in text and "PASARKOTA_SERVICE=${SERVICE}" in text
    compose = (REPO / "docker-compose.yml").read_text()
    for service in ("catalog", "orders", "payments", "learning", "notifications", "portal", "provision"):
        assert f"SERVICE: {service}" in compose


def test_every_command_and_its_flags_are_declared() -> None:
    parser = cli.build_parser()
    args = parser.parse_args(["bench", "payments", "--count", "5", "--direct", "--skip-raw"])
    assert (args.count, args.direct, args.skip_raw, args.rate, args.concurrency) == (5, True, True, 0.0, 32)
    args = parser.parse_args(["pay", "--city", "cimahi", "--order", "o-1", "--twice"])
    assert (args.city, args.order, args.twice, args.late) == ("cimahi", "o-1", True, False)
    assert parser.parse_args(["demo"]).timeout == 60.0
    assert parser.parse_args(["funnel", "--city", "tegal", "--csv"]).csv is True
    assert parser.parse_args(["token", "--city", "cimahi", "--role", "buyer"]).role == "buyer"
    assert parser.parse_args(["serve", "orders"]).service == "orders"
    for command in ("up", "down", "status", "provision"):
        assert callable(parser.parse_args([command]).func)


def test_bench_payments_loads_from_the_benchmarks_folder() -> None:
    from deploy.commands.bench import load_bench

    bench = load_bench("payments")
    assert Path(bench.__file__).resolve() == REPO / "tests" / "bench" / "bench_payments.py"
    assert callable(bench.run) and callable(bench.print_table)


class _Ready(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(READY if self.path == "/readyz" else {}).encode()
        self.send_response(200 if self.path == "/readyz" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def only_orders_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """orders answers /readyz with two consumer groups; nothing else of the stack runs."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ready)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for var in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PASARKOTA_HOME", str(tmp_path))
    for name in ("KAFKA", "POSTGRES", "CATALOG", "PAYMENTS", "LEARNING", "PORTAL"):
        monkeypatch.setenv(f"PASARKOTA_{name}_PORT", str(free_port()))
    monkeypatch.setenv("PASARKOTA_ORDERS_PORT", str(server.server_address[1]))
    monkeypatch.setenv("PASARKOTA_ORDERS_WORKERS", "1")
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def test_status_prints_each_consumer_groups_lag_and_oldest_in_flight_age(
        only_orders_up: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["status"]) == 1  # not everything is healthy
    lines = capsys.readouterr().out.splitlines()
    orders = next(i for i, line in enumerate(lines) if line.split()[:2] == ["orders", "healthy"])
    saga = next(line for line in lines if "orders-saga" in line)
    projections = next(line for line in lines if "orders-projections" in line)
    assert lines.index(projections) == orders + 1 and lines.index(saga) == orders + 2  # under orders, by name
    assert re.search(r"consumer orders-saga\s+lag\s+42\s+oldest in flight 75\.5 s", saga), saga
    assert re.search(r"lag\s+0\s+oldest in flight 0\.0 s", projections), projections
    assert next(line for line in lines if line.split()[0] == "catalog").split()[1] == "DOWN"


def test_status_shows_every_worker_of_a_multi_process_service(
        only_orders_up: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PASARKOTA_ORDERS_WORKERS", "2")
    port = os.environ["PASARKOTA_ORDERS_PORT"]
    (tmp_path / "run").mkdir(exist_ok=True)
    for pid_file in ("orders.pid", "orders.1.pid"):  # this test's own pid: a process that is alive
        (tmp_path / "run" / pid_file).write_text(f"{os.getpid()}\n")
    (tmp_path / "run" / "orders.0.port").write_text(f"{port}\n")
    assert cli.main(["status"]) == 1
    out = capsys.readouterr().out
    assert re.search(rf"worker 0\s+pid {os.getpid()}\s+healthy\s+http://127.0.0.1:{port}", out), out
    assert re.search(r"worker 1\s+pid \d+\s+DOWN\s+\(starting\)", out), out  # no port written yet
    assert cli.main(["status", "--json"]) == 1
    orders = next(c for c in json.loads(capsys.readouterr().out)["components"] if c["name"] == "orders")
    assert [w["healthy"] for w in orders["workers"]] == [True, False] and orders["healthy"] is False


def test_status_json_includes_the_consumers(only_orders_up: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["status", "--json"]) == 1
    components = {c["name"]: c for c in json.loads(capsys.readouterr().out)["components"]}
    assert components["orders"]["healthy"] is True
    assert components["orders"]["consumers"] == READY["consumers"]
    assert components["catalog"] == {**components["catalog"], "healthy": False, "consumers": {}}
    assert {"kafka", "postgres", "payments", "learning", "portal"} <= set(components)
