"""`pasarkota`: run the platform locally and work with it.

    pasarkota up [--detach]      Kafka, Postgres and every service; prints the portal address
    pasarkota down               stop everything this stack started
    pasarkota status [--json]    health of every component, each consumer group's lag and oldest in-flight age
    pasarkota logs <component>   a component's log (kafka, postgres, catalog, orders, ...)
    pasarkota token --city cimahi --role buyer [--vendor V] [--sub S]   a development token from identity
    pasarkota admin create --phone P --role operator   the first operator (or --role city_admin --city C)
    pasarkota identity-keys next|activate|retire [--kid K]   rotate identity's signing keys
    pasarkota provision          create database roles/schemas and topics on existing servers, then exit
    pasarkota serve <service>    run one service in the foreground (what `up` starts)
    pasarkota contracts export|check   the committed event JSON Schemas
    pasarkota demo               a whole purchase in Cimahi against the running stack
    pasarkota pay --city C --order O [--late] [--twice] [--amount N]   pay an order's QRIS (simulator)
    pasarkota funnel --city C [--style S] [--csv]   a city's training funnel
    pasarkota bench payments --count N [...]       the payment-burst benchmark
    pasarkota city add --file bandung.toml [--admin-phone P]   a new city at runtime (also: update, list)

Each command lives in deploy/commands/ (see its package docstring).
"""

from __future__ import annotations

import argparse
import sys

from deploy import commands
from deploy.local.errors import RuntimeProblem


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pasarkota", description="Run and use the PasarKota platform.")
    commands.register(parser.add_subparsers(dest="command", required=True))
    return parser


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
