"""`pasarkota token --city C --role R [--vendor V] [--market M] [--sub S]`: a signed development token."""

from __future__ import annotations

import argparse
from typing import Any

from deploy.local.errors import RuntimeProblem


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


def register(sub: Any) -> None:
    tok = sub.add_parser("token", help="print a signed development token")
    tok.add_argument("--city", required=True)
    tok.add_argument("--role", required=True)
    tok.add_argument("--vendor")
    tok.add_argument("--market")
    tok.add_argument("--sub")
    tok.set_defaults(func=cmd_token)
