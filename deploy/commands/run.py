"""`pasarkota serve <service>` (one service in the foreground: what `up` and the images run) and
`pasarkota provision` (roles, schemas and topics on existing servers)."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
from pathlib import Path
from typing import Any

from deploy.local.errors import RuntimeProblem
from deploy.stack import SERVICES


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
    options: dict[str, Any] = {"log_config": None, "access_log": False, "lifespan": "on",
                               "timeout_graceful_shutdown": 10}
    if os.environ.get("PASARKOTA_REUSE_PORT") != "1":
        uvicorn.run(f"{args.service}.app:app", host=settings.http_host, port=port, **options)
        return 0
    # One of several workers of this service (`pasarkota up`, PASARKOTA_<SERVICE>_WORKERS): all listen on the
    # service's port (SO_REUSEPORT: the kernel spreads connections), each also on a port of its own, written to
    # PASARKOTA_WORKER_PORT_FILE, so `status` and readiness see every worker.
    shared = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    shared.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    shared.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    shared.bind((settings.http_host, port))
    own = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    own.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    own.bind(("127.0.0.1", 0))
    port_file = os.environ.get("PASARKOTA_WORKER_PORT_FILE")
    if port_file:
        Path(port_file).write_text(f"{own.getsockname()[1]}\n")
    config = uvicorn.Config(f"{args.service}.app:app", host=settings.http_host, port=port, **options)
    uvicorn.Server(config).run(sockets=[shared, own])
    return 0


def cmd_provision(_: argparse.Namespace) -> int:
    from deploy.provision import DATA_SERVICES, ensure_topics, provision_database, unsafe_for_production

    admin_url = os.environ.get("DATABASE_URL")
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not admin_url:
        raise RuntimeProblem("DATABASE_URL is not set: the admin URL of the Postgres server, e.g. "
                             "postgresql://postgres:secret@db:5432/postgres")
    if not bootstrap:
        raise RuntimeProblem("KAFKA_BOOTSTRAP_SERVERS is not set: host:port of the Kafka brokers")
    if os.environ.get("PASARKOTA_ENV", "dev") == "prod":
        problems = unsafe_for_production(DATA_SERVICES, admin_url)
        if problems:  # nothing is created or changed: the roles would get passwords anyone can read in the repo
            raise RuntimeProblem("refusing to provision in prod: " + "; ".join(problems))

    async def run() -> list[str]:
        await provision_database(admin_url, DATA_SERVICES)
        return await ensure_topics(bootstrap)

    created = asyncio.run(run())
    print(f"provisioned: schemas {', '.join(DATA_SERVICES)}; topics created: {', '.join(created) or 'none'}")
    return 0


def register(sub: Any) -> None:
    serve = sub.add_parser("serve", help="run one service in the foreground")
    serve.add_argument("service", choices=[s.name for s in SERVICES])
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("provision", help="create roles, schemas and topics on existing servers").set_defaults(
        func=cmd_provision)
