"""`pasarkota token --city C --role R [--vendor V] [--market M] [--sub S]`: a development token from identity.

Development only: identity answers 404 for it with ``PASARKOTA_ENV=prod``, and this command refuses first.
"""

from __future__ import annotations

import argparse
from typing import Any

from deploy.local.errors import RuntimeProblem


def cmd_token(args: argparse.Namespace) -> int:
    from deploy.commands.endpoints import dev_token
    from shared.settings import get_settings

    if get_settings().env == "prod":
        raise RuntimeProblem("development tokens are refused with PASARKOTA_ENV=prod: sign in with a phone code")
    if args.role == "vendor" and not args.vendor:
        raise RuntimeProblem("a vendor token needs --vendor <vendor id>")
    print(dev_token(args.city, roles=[args.role], sub=args.sub or f"dev-{args.role}-{args.city}",
                    vendor_id=args.vendor, market_id=args.market))
    return 0


def register(sub: Any) -> None:
    tok = sub.add_parser("token", help="print a signed development token")
    tok.add_argument("--city", required=True)
    tok.add_argument("--role", required=True)
    tok.add_argument("--vendor")
    tok.add_argument("--market")
    tok.add_argument("--sub")
    tok.set_defaults(func=cmd_token)
