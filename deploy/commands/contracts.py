"""`pasarkota contracts export|check`: the committed contracts — event JSON Schemas (``shared.contracts``), and
per service its consumers, its AsyncAPI 3 and its OpenAPI document (``deploy.service_contracts``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def cmd_contracts(args: argparse.Namespace) -> int:
    from deploy import service_contracts
    from shared import contracts

    if args.action == "export":
        written = contracts.export() + service_contracts.export()
        print(f"wrote {len(written)} files under {contracts.CONTRACTS_DIR}")
        return 0
    problems = contracts.check() + service_contracts.check()
    for p in problems:
        print(p, file=sys.stderr)
    if not problems:
        print("contracts: committed event schemas, consumers, AsyncAPI and OpenAPI documents match the code; "
              "no breaking change")
    return 1 if problems else 0


def register(sub: Any) -> None:
    con = sub.add_parser("contracts", help="export or check the event schemas, AsyncAPI and OpenAPI documents")
    con.add_argument("action", choices=["export", "check"])
    con.set_defaults(func=cmd_contracts)
