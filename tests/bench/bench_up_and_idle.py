"""Benchmark: wall time of `pasarkota up --detach` (warm jar cache) and idle memory (PSS) per component.

Run: .venv/bin/python tests/bench/bench_up_and_idle.py   (uses its own PASARKOTA_HOME and free ports)
Prints a table and writes bench-results/up_and_idle.json. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from deploy.local.procs import free_port

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "bench-results" / "up_and_idle.json"


def _pss(proc: psutil.Process) -> int:
    """Proportional set size: shared pages (Postgres' shared buffers mapped by every backend, the interpreter's
    libraries) counted once across processes, not once per process as RSS would."""
    try:
        return int(proc.memory_full_info().pss)
    except (psutil.AccessDenied, AttributeError):
        return int(proc.memory_info().rss)


def rss_mib(pid: int, others: set[int]) -> float:
    """Memory (PSS) of a component with its own helper processes (e.g. Postgres backends), not other components."""
    proc = psutil.Process(pid)
    total = _pss(proc)
    for child in proc.children(recursive=True):
        if child.pid not in others and not (others & {p.pid for p in child.parents()} - {pid}):
            total += _pss(child)
    return round(total / 2**20, 1)


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="pasarkota-bench-"))
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")}
    env["PASARKOTA_HOME"] = str(home)
    for name in ("KAFKA", "KAFKA_CONTROLLER", "POSTGRES", "CATALOG", "ORDERS", "PAYMENTS", "LEARNING", "IDENTITY",
                 "NOTIFICATIONS", "PORTAL"):
        env[f"PASARKOTA_{name}_PORT"] = str(free_port())
    cli = [sys.executable, "-m", "deploy.cli"]
    runs = []
    try:
        for attempt in ("cold data dir", "warm data dir"):
            started = time.perf_counter()
            subprocess.run([*cli, "up", "--detach"], env=env, check=True, capture_output=True)
            runs.append((attempt, round(time.perf_counter() - started, 1)))
            if attempt == "cold data dir":
                subprocess.run([*cli, "down"], env=env, check=True, capture_output=True)
        time.sleep(30)  # idle
        pids = {p.stem: int(p.read_text().split()[0]) for p in (home / "run").glob("*.pid")}
        pids["kafka"] = int((home / "kafka" / "kafka.pid").read_text())
        pids["postgres"] = int((home / "postgres" / "pgdata" / "postmaster.pid").read_text().split()[0])
        components = set(pids.values())
        memory = {name: rss_mib(pid, components - {pid}) for name, pid in sorted(pids.items())}
    finally:
        subprocess.run([*cli, "down"], env=env, capture_output=True)
    result = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
                    "python": platform.python_version()},
        "up_seconds": dict(runs),
        "idle_rss_mib": memory,
        "memory_measure": "PSS (proportional set size: shared pages split between the processes sharing them)",
        "idle_rss_total_mib": round(sum(memory.values()), 1),
        "workers": {p.stem.split(".")[0]: sum(1 for q in (home / "run").glob(f"{p.stem.split('.')[0]}*.pid"))
                    for p in (home / "run").glob("*.pid") if p.stem != "supervisor"},
    }
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'pasarkota up --detach':<28}{'seconds':>10}")
    for name, secs in runs:
        print(f"  {name:<26}{secs:>10}")
    print(f"\n{'idle memory (PSS)':<28}{'MiB':>10}")
    for name, mib in memory.items():
        print(f"  {name:<26}{mib:>10}")
    print(f"  {'total':<26}{round(sum(memory.values()), 1):>10}")
    print(f"\nwritten to {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
