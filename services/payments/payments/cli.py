"""`pasarkota pay` (scan and pay one order's QRIS with the simulator) and `pasarkota bench payments`."""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import httpx

from deploy.local.errors import RuntimeProblem


def payments_url() -> str:
    from deploy.stack import SERVICES

    return os.environ.get("PASARKOTA_PAYMENTS_URL") or next(s.url for s in SERVICES if s.name == "payments")


def staff_headers(city: str) -> dict[str, str]:
    from deploy.stack import jwt_secret
    from shared.auth import mint_token

    token = mint_token(jwt_secret(), sub="pasarkota-cli", city=city, roles=["city_admin"], ttl_seconds=600)
    return {"Authorization": f"Bearer {token}"}


def pay_order(city: str, order_id: str, *, late: bool = False, twice: bool = False, amount: int | None = None,
              base_url: str | None = None, wait_seconds: float = 30.0) -> dict[str, Any]:
    """Find the order's payment intent over HTTP (waiting for it to appear) and pay its QRIS through the
    acquirer simulator. Reusable by `pasarkota demo`. Returns the intent and the simulator's answer."""
    base = (base_url or payments_url()).rstrip("/")
    headers = staff_headers(city)
    deadline = time.monotonic() + wait_seconds
    with httpx.Client(timeout=30) as client:
        while True:
            try:
                found = client.get(f"{base}/cities/{city}/payments/by-order/{order_id}", headers=headers)
            except httpx.HTTPError as exc:
                raise RuntimeProblem(f"the payments service at {base} does not answer ({exc}); "
                                     "is the platform up (`pasarkota up`)?") from None
            if found.status_code == 200 and found.json().get("qris"):
                break
            if found.status_code not in (200, 404) or time.monotonic() > deadline:
                raise RuntimeProblem(f"no payment intent for order {order_id} in {city} "
                                     f"(HTTP {found.status_code}: {found.text[:200]})")
            time.sleep(0.3)
        intent = found.json()
        options: dict[str, Any] = {"qris": intent["qris"], "late": late, "twice": twice}
        if amount is not None:
            options["amount"] = amount
        paid = client.post(f"{base}/simulator/{city}/pay", json=options)
        if paid.status_code != 200:
            raise RuntimeProblem(f"the simulator refused to pay (HTTP {paid.status_code}): {paid.text[:300]}")
    return {"payment": intent, "simulator": paid.json()}


def cmd_pay(args: argparse.Namespace) -> int:
    result = pay_order(args.city, args.order, late=args.late, twice=args.twice, amount=args.amount)
    intent = result["payment"]
    print(f"order {args.order}: payment {intent['payment_id']} Rp {intent['amount']:,} ({intent['status']})"
          .replace(",", "."))
    for n in result["simulator"]["notifications"]:
        print(f"  notification {n['request_id']} ({n['acquirer_reference']}): HTTP {n['status_code']}")
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


def cmd_bench_payments(args: argparse.Namespace) -> int:
    import asyncio

    from payments.bench import run

    report = asyncio.run(run(count=args.count, rate=args.rate, concurrency=args.concurrency,
                             output=args.output, skip_raw=args.skip_raw, direct=args.direct,
                             place_concurrency=args.place_concurrency, vendors_per_city=args.vendors_per_city))
    eff = report["effects"]
    clean = eff["lost"] == 0 and eff["duplicated"] == 0 and not eff.get("not_placed") and not eff.get("no_intent")
    return 0 if clean else 1


def register(sub: Any) -> None:
    pay = sub.add_parser("pay", help="pay one order's QRIS through the acquirer simulator (dev)")
    pay.add_argument("--city", required=True)
    pay.add_argument("--order", required=True, help="order id")
    pay.add_argument("--late", action="store_true", help="pay after the QR expired (refunded automatically)")
    pay.add_argument("--twice", action="store_true", help="pay a second time (the second is refunded)")
    pay.add_argument("--amount", type=int, help="pay a different amount (recorded as a mismatch)")
    pay.add_argument("--json", action="store_true")
    pay.set_defaults(func=cmd_pay)

    bench = sub.choices.get("bench") if hasattr(sub, "choices") else None
    if bench is None:
        bench = sub.add_parser("bench", help="benchmarks against a running stack")
        bench_sub = bench.add_subparsers(dest="bench", required=True)
    else:  # another service registered `bench` first: add ours beside it
        bench_sub = next(a for a in bench._actions if isinstance(a, argparse._SubParsersAction))
    payments = bench_sub.add_parser("payments", help="N real orders, their signed notification burst, until "
                                                     "Dibayar; lost/duplicated")
    payments.add_argument("--count", type=int, default=1000, help="number of orders/notifications")
    payments.add_argument("--rate", type=float, default=0.0, help="notifications per second (0 = max)")
    payments.add_argument("--concurrency", type=int, default=32, help="parallel webhook connections")
    payments.add_argument("--output", default="bench-results/payments.json")
    payments.add_argument("--skip-raw", action="store_true", help="skip the Kafka/Postgres raw ceilings")
    payments.add_argument("--direct", action="store_true",
                          help="payments alone: publish OrderPaymentRequested directly (no catalog/orders), "
                               "end at PaymentSucceeded")
    payments.add_argument("--place-concurrency", type=int, default=16, help="parallel checkout connections")
    payments.add_argument("--vendors-per-city", type=int, default=3,
                          help="bench products: one per vendor 1..V of each demo city (several markets)")
    payments.set_defaults(func=cmd_bench_payments)
