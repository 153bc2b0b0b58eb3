"""The local platform: `pasarkota up [--detach]`, `down`, `status [--json]`, `logs <component>`."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from deploy.local.errors import RuntimeProblem


def print_table(components: list[dict[str, Any]], out: Any = print) -> None:
    """One line per component; under each service, one line per consumer group: its lag (messages behind
    the head) and the age of the oldest message it is applying (a stall shows as a growing age)."""
    width = max(len(c["name"]) for c in components)
    for c in components:
        mark = "healthy" if c["healthy"] else "DOWN"
        degraded = c.get("degraded") or []
        note = f"  (cannot reach {', '.join(degraded)}; requests kept in Postgres)" if degraded else ""
        out(f"  {c['name']:<{width}}  {mark:<8} {c['url']}{note}")
        for w in c.get("workers") or []:
            out(f"  {'':<{width}}    worker {w['index']}  pid {w['pid'] or '-'}  "
                f"{'healthy' if w['healthy'] else 'DOWN'}  {w['url'] or '(starting)'}")
        consumers = c.get("consumers") or {}
        group_width = max((len(g) for g in consumers), default=0)
        for group, figures in sorted(consumers.items()):
            lag, age = figures.get("lag", "?"), figures.get("oldest_in_flight_seconds")
            age_text = "-" if age is None else f"{float(age):.1f} s"
            out(f"  {'':<{width}}    consumer {group:<{group_width}}  lag {lag!s:>6}  oldest in flight {age_text}")


def cmd_up(args: argparse.Namespace) -> int:
    from deploy import stack
    from deploy.local.procs import read_pid, spawn

    if args.detach:
        run = stack.home() / "run"
        run.mkdir(parents=True, exist_ok=True)
        if read_pid(run / "supervisor.pid"):
            print("PasarKota is already running (supervisor active); `pasarkota status` shows it.")
            return 0
        exe = str(Path(sys.executable).with_name("pasarkota"))
        argv = [exe, "up"] if Path(exe).exists() else [sys.executable, "-m", "deploy.cli", "up"]
        proc = spawn(argv, stack.home() / "logs" / "supervisor.log", run / "supervisor.pid")
        print(f"starting PasarKota in the background (log: {stack.home() / 'logs' / 'supervisor.log'}) ...")
        while True:
            time.sleep(0.5)
            if proc.poll() is not None:
                tail = (stack.home() / "logs" / "supervisor.log").read_text(errors="replace").strip()
                print("\n".join(tail.splitlines()[-8:]), file=sys.stderr)
                return 1
            state = stack.read_state()
            if state.get("ready_at", 0) > time.time() - 600 and state.get("supervisor") == proc.pid:
                break
        print_table(stack.status())
        print(f"\nPasarKota is up: portal at {stack.SERVICES[-1].url}  (stop with `pasarkota down`)")
        return 0

    run = stack.home() / "run"
    run.mkdir(parents=True, exist_ok=True)
    (run / "supervisor.pid").write_text(f"{os.getpid()}\n")
    stopping = False

    def on_signal(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        print("starting PasarKota ...")
        state = stack.bring_up()
        state["supervisor"] = os.getpid()
        state["ready_at"] = time.time()
        stack.write_state(state)
        print_table(stack.status())
        _demo_sales_history()
        print(f"\nPasarKota is up in {state['up_seconds']}s: portal at {stack.SERVICES[-1].url}")
        print("Ctrl-C (or `pasarkota down`) stops everything.", flush=True)
        while not stopping:
            time.sleep(1.0)
            _restart_crashed(state)
    finally:
        print("\nstopping PasarKota ...", flush=True)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stack.bring_down()
        (run / "supervisor.pid").unlink(missing_ok=True)
        print("stopped.")
    return 0


def _restart_crashed(state: dict[str, Any]) -> None:
    from deploy import stack
    from deploy.local.procs import read_pid

    bootstrap = state["kafka"]["bootstrap"]
    admin_url = state["postgres"]["admin_url"]
    for svc in stack.SERVICES:
        if not all(read_pid(stack.worker_pid_file(svc, i)) for i in range(svc.workers)):
            print(f"  {svc.name} exited; restarting (log: pasarkota logs {svc.name})", flush=True)
            try:
                stack.start_service(svc, bootstrap, admin_url)
            except RuntimeProblem as exc:
                print(f"  could not restart {svc.name}: {exc}", flush=True)


def cmd_down(_: argparse.Namespace) -> int:
    from deploy import stack

    stack.bring_down()
    print("PasarKota stopped.")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from deploy import stack

    components = stack.status()
    if args.json:
        print(json.dumps({"components": components}))
    else:
        print_table(components)
    return 0 if all(c["healthy"] for c in components) else 1


def cmd_logs(args: argparse.Namespace) -> int:
    from deploy import stack

    path = stack.log_path(args.component)
    if not path.exists():
        raise RuntimeProblem(f"no log for {args.component!r} at {path}; components: kafka, postgres, "
                             + ", ".join(s.name for s in stack.SERVICES) + ", supervisor")
    tail = ["tail", "-n", str(args.lines)] + (["-F"] if args.follow else []) + [str(path)]
    return subprocess.call(tail)


def register(sub: Any) -> None:
    up = sub.add_parser("up", help="start Kafka, Postgres and every service (foreground; Ctrl-C stops)")
    up.add_argument("--detach", action="store_true", help="run in the background; stop with `pasarkota down`")
    up.set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop everything").set_defaults(func=cmd_down)
    st = sub.add_parser("status", help="health of every component, and each consumer group's lag")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_status)
    logs = sub.add_parser("logs", help="show a component's log")
    logs.add_argument("component")
    logs.add_argument("-n", "--lines", type=int, default=100)
    logs.add_argument("-f", "--follow", action="store_true")
    logs.set_defaults(func=cmd_logs)


def _demo_sales_history() -> None:
    """The demo's sales (issue #14), through the running services; a failure is reported, not fatal."""
    import argparse as _argparse

    from deploy.commands import history

    print("demo sales history (real orders, paid and picked up) ...", flush=True)
    if history.cmd_history(_argparse.Namespace(timeout=60.0)) != 0:
        print("  (the evaluation will show no sales until `pasarkota demo-history` succeeds)")
