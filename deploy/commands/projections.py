"""`pasarkota projections list|rebuild <service> [name]`: rebuild a service's projection from compacted topics.

Asks the running service (``POST /ops/projections/{name}/rebuild``, operator) — the service has the database
role, the handlers and the Kafka settings; the command only signs in. Mechanics in ``shared/projections.py``;
when to use it in docs/operations.md ("Rebuilding a projection").
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from deploy.local.errors import RuntimeProblem


def cmd_projections(args: argparse.Namespace) -> int:
    import httpx

    from deploy.commands.endpoints import bearer, service_url
    from shared.settings import get_settings

    if get_settings().env == "prod" and not args.token:
        raise RuntimeProblem("with PASARKOTA_ENV=prod pass --token <an operator's access token>")
    headers = ({"Authorization": f"Bearer {args.token}"} if args.token else
               bearer("cimahi", roles=["operator"], sub="dev-operator-projections"))
    base = service_url(args.service)
    with httpx.Client(timeout=args.timeout) as client:
        listed = client.get(f"{base}/ops/projections", headers=headers)
        if listed.status_code == 404:
            raise RuntimeProblem(f"{args.service} has no rebuildable projection")
        listed.raise_for_status()
        names = [p["name"] for p in listed.json()["projections"]]
        if args.action == "list":
            print(json.dumps(listed.json(), indent=2))
            return 0
        for name in [args.name] if args.name else names:
            r = client.post(f"{base}/ops/projections/{name}/rebuild", headers=headers)
            if r.status_code != 200:
                raise RuntimeProblem(f"{args.service} refused to rebuild {name} ({r.status_code}): {r.text[:300]}")
            report = r.json()
            if args.json:
                print(json.dumps(report, indent=2))
            else:
                rows = ", ".join(f"{t} {n}" for t, n in report["rows"].items())
                print(f"{args.service}.{name}: {report['read']} records from offset 0 of {', '.join(report['topics'])}"
                      f" → {report['applied']} applied, {report['skipped']} skipped; rows: {rows}"
                      f" ({report['seconds']} s)")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("projections", help="list or rebuild a service's projections from compacted topics")
    p.add_argument("action", choices=["list", "rebuild"])
    p.add_argument("service", help="e.g. orders, learning")
    p.add_argument("name", nargs="?", help="one projection (default: all of the service's)")
    p.add_argument("--token", help="an operator's access token (default: a development token from identity)")
    p.add_argument("--timeout", type=float, default=300.0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_projections)
