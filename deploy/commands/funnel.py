"""`pasarkota funnel`: the training funnel of a city from the running stack (learning's report over HTTP),
as a table or CSV.

    pasarkota funnel --city cimahi [--style in_person|webinar|hybrid] [--csv]
"""

from __future__ import annotations

import argparse
from typing import Any

import httpx

STEPS = ("enrolled", "attended", "certified", "became_vendor", "first_sale", "repeat_sale_30d")


def cmd_funnel(args: argparse.Namespace) -> int:
    from deploy.commands.endpoints import bearer, service_url

    url = service_url("learning")
    headers = bearer(args.city, roles=["city_admin"], sub=f"cli-city-admin-{args.city}")
    params = {"format": "csv" if args.csv else "json"}
    if args.style:
        params["style"] = args.style
    try:
        r = httpx.get(f"{url}/cities/{args.city}/admin/reports/funnel", params=params,
                      headers=headers, timeout=15)
    except httpx.HTTPError as exc:
        print(f"learning is not reachable at {url} ({exc}); is the stack up? (`pasarkota up`)")
        return 1
    if r.status_code != 200:
        print(f"{r.status_code}: {r.text[:300]}")
        return 1
    if args.csv:
        print(r.text, end="")
        return 0
    report: dict[str, Any] = r.json()
    header = f"{'':<28}" + "".join(f"{s:>17}" for s in STEPS)
    print(f"Funnel {args.city}" + (f" ({args.style})" if args.style else ""))
    print(header)
    sections = [("total", [("all", report["total"])]),
                ("style", [(e["style"], e) for e in report["by_style"]]),
                ("group", [(e["group"], e) for e in report["by_group"]]),
                ("rw", [(f"{e['kelurahan'] or ''} RW {e['rw'] or '-'}", e) for e in report["by_rw"]])]
    for name, rows in sections:
        for key, counts in rows:
            print(f"{(name + ': ' + key)[:27]:<28}" + "".join(f"{counts[s]:>17}" for s in STEPS))
    return 0


def register(sub: Any) -> None:
    funnel = sub.add_parser("funnel", help="training funnel of a city: enrolled → … → sold again within 30 days")
    funnel.add_argument("--city", required=True)
    funnel.add_argument("--style", choices=["in_person", "webinar", "hybrid"])
    funnel.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    funnel.set_defaults(func=cmd_funnel)
