"""`pasarkota`: run the platform locally and work with it.

    pasarkota up [--detach]      Kafka, Postgres and every service; prints the portal address
    pasarkota down               stop everything this stack started
    pasarkota status [--json]    health of every component
    pasarkota logs <component>   a component's log (kafka, postgres, catalog, orders, ...)
    pasarkota token --city cimahi --role buyer [--vendor V] [--sub S]   a signed development token
    pasarkota provision          create database roles/schemas and topics on existing servers, then exit
    pasarkota serve <service>    run one service in the foreground (what `up` starts)
    pasarkota contracts export|check   the committed event JSON Schemas
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from deploy.local.errors import RuntimeProblem


def _print_table(components: list[dict[str, Any]]) -> None:
    width = max(len(c["name"]) for c in components)
    for c in components:
        mark = "healthy" if c["healthy"] else "DOWN"
        print(f"  {c['name']:<{width}}  {mark:<8} {c['url']}")


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
        _print_table(stack.status())
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
        _print_table(stack.status())
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
        if not read_pid(stack.home() / "run" / f"{svc.name}.pid"):
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
        _print_table(components)
    return 0 if all(c["healthy"] for c in components) else 1


def cmd_logs(args: argparse.Namespace) -> int:
    from deploy import stack

    path = stack.log_path(args.component)
    if not path.exists():
        raise RuntimeProblem(f"no log for {args.component!r} at {path}; components: kafka, postgres, "
                             + ", ".join(s.name for s in stack.SERVICES) + ", supervisor")
    tail = ["tail", "-n", str(args.lines)] + (["-F"] if args.follow else []) + [str(path)]
    return subprocess.call(tail)


def cmd_token(args: argparse.Namespace) -> int:
    from deploy import stack
    from shared.auth import mint_token

    try:
        token = mint_token(stack.jwt_secret(), sub=args.sub or f"dev-{args.role}-{args.city}", city=args.city,
                           roles=[args.role], vendor_id=args.vendor, market_id=args.market)
    except ValueError as exc:
        raise RuntimeProblem(str(exc)) from None
    print(token)
    return 0


def load_settings() -> Any:
    """The service settings, or one clear line per wrong variable (exit 2)."""
    from pydantic import ValidationError

    from shared.settings import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else ""
            var = "KAFKA_BOOTSTRAP_SERVERS" if field == "kafka_bootstrap_servers" else f"PASARKOTA_{field.upper()}"
            lines.append(f"{var}: {err['msg']}" if field else err["msg"])
        raise RuntimeProblem("invalid configuration: " + "; ".join(lines) + " (see docs/configuration.md)") from None
    except RuntimeError as exc:  # weak production secrets: the message names the variables, never the values
        raise RuntimeProblem(f"invalid configuration: {exc}") from None


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = load_settings()
    if args.service != "portal" and not settings.database_url:
        raise RuntimeProblem(
            "PASARKOTA_DATABASE_URL is not set: the service's own role URL, e.g. "
            f"postgresql://pk_{args.service}:<password>@127.0.0.1:15432/pasarkota (`pasarkota up` sets it)")
    port = args.port or settings.http_port
    uvicorn.run(f"{args.service}.app:app", host=settings.http_host, port=port, log_config=None,
                access_log=False, lifespan="on", timeout_graceful_shutdown=10)
    return 0


def cmd_provision(_: argparse.Namespace) -> int:
    from deploy.provision import DATA_SERVICES, ensure_topics, provision_database

    admin_url = os.environ.get("DATABASE_URL")
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not admin_url:
        raise RuntimeProblem("DATABASE_URL is not set: the admin URL of the Postgres server, e.g. "
                             "postgresql://postgres:secret@db:5432/postgres")
    if not bootstrap:
        raise RuntimeProblem("KAFKA_BOOTSTRAP_SERVERS is not set: host:port of the Kafka brokers")

    async def run() -> list[str]:
        await provision_database(admin_url, DATA_SERVICES)
        return await ensure_topics(bootstrap)

    created = asyncio.run(run())
    print(f"provisioned: schemas {', '.join(DATA_SERVICES)}; topics created: {', '.join(created) or 'none'}")
    return 0


def cmd_contracts(args: argparse.Namespace) -> int:
    from shared import contracts

    if args.action == "export":
        written = contracts.export()
        print(f"wrote {len(written)} files under {contracts.CONTRACTS_DIR}")
        return 0
    problems = contracts.check()
    for p in problems:
        print(p, file=sys.stderr)
    if not problems:
        print("contracts: committed schemas match the code; no breaking change")
    return 1 if problems else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pasarkota", description="Run and use the PasarKota platform.")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start Kafka, Postgres and every service (foreground; Ctrl-C stops)")
    up.add_argument("--detach", action="store_true", help="run in the background; stop with `pasarkota down`")
    up.set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop everything").set_defaults(func=cmd_down)
    st = sub.add_parser("status", help="health of every component")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_status)
    logs = sub.add_parser("logs", help="show a component's log")
    logs.add_argument("component")
    logs.add_argument("-n", "--lines", type=int, default=100)
    logs.add_argument("-f", "--follow", action="store_true")
    logs.set_defaults(func=cmd_logs)
    tok = sub.add_parser("token", help="print a signed development token")
    tok.add_argument("--city", required=True)
    tok.add_argument("--role", required=True)
    tok.add_argument("--vendor")
    tok.add_argument("--market")
    tok.add_argument("--sub")
    tok.set_defaults(func=cmd_token)
    serve = sub.add_parser("serve", help="run one service in the foreground")
    serve.add_argument("service", choices=["catalog", "orders", "payments", "learning", "portal"])
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("provision", help="create roles, schemas and topics on existing servers").set_defaults(
        func=cmd_provision)
    con = sub.add_parser("contracts", help="export or check the event JSON Schemas")
    con.add_argument("action", choices=["export", "check"])
    con.set_defaults(func=cmd_contracts)
    _register_service_commands(sub)
    return parser


def _register_service_commands(sub: Any) -> None:
    """Services add their own commands (``pasarkota demo``, ``pay``, ``bench``) in ``<service>/cli.py``."""
    import importlib

    for service in ("catalog", "orders", "payments", "learning", "portal"):
        try:
            module = importlib.import_module(f"{service}.cli")
        except ModuleNotFoundError as exc:
            if exc.name != f"{service}.cli":
                raise
            continue
        module.register(sub)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except RuntimeProblem as exc:
        print(f"pasarkota: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
