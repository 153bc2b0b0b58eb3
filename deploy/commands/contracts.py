"""`pasarkota contracts export|check`: the committed contracts — event JSON Schemas (``shared.contracts``), and
per service its consumers, its AsyncAPI 3 and its OpenAPI document (``deploy.service_contracts``) — and the
Kubernetes overlays' generated resources that follow from them and the topic plan (``deploy.cluster``: KafkaTopics,
KafkaUsers with each service's ACLs, managed roles, credential patches)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def cmd_contracts(args: argparse.Namespace) -> int:
    from deploy import cluster, service_contracts
    from shared import contracts

    if args.action == "export":
        written = contracts.export() + service_contracts.export()
        print(f"wrote {len(written)} files under {contracts.CONTRACTS_DIR}")
        manifests = cluster.export()
        print(f"wrote {len(manifests)} generated files under {cluster.OVERLAYS}")
        return 0
    problems = contracts.check() + service_contracts.check()
    problems += [f"{path}: stale, run `pasarkota contracts export`" for path in cluster.check()]
    for p in problems:
        print(p, file=sys.stderr)
    if not problems:
        print("contracts: committed event schemas, consumers, topic plan, AsyncAPI and OpenAPI documents and the "
              "overlays' generated Kubernetes resources match the code; no breaking change")
    return 1 if problems else 0


def register(sub: Any) -> None:
    con = sub.add_parser("contracts", help="export or check the event schemas, AsyncAPI and OpenAPI documents")
    con.add_argument("action", choices=["export", "check"])
    con.set_defaults(func=cmd_contracts)
