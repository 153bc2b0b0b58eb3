"""`pasarkota pay`: find one order's payment intent over payments' HTTP and pay its QRIS with the simulator."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import httpx

from deploy.commands.endpoints import bearer, service_url
from deploy.local.errors import RuntimeProblem


def staff_headers(city: str) -> dict[str, str]:
    return bearer(city, roles=["city_admin"], sub="pasarkota-cli", ttl_seconds=600)


def pay_order(city: str, order_id: str, *, late: bool = False, twice: bool = False, amount: int | None = None,
              base_url: str | None = None, wait_seconds: float = 30.0) -> dict[str, Any]:
    """Find the order's payment intent over HTTP (waiting for it to appear) and pay its QRIS through the
    acquirer simulator. Reusable by `pasarkota demo`. Returns the intent and the simulator's answer."""
    base = (base_url or service_url("payments")).rstrip("/")
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


def register(sub: Any) -> None:
    pay = sub.add_parser("pay", help="pay one order's QRIS through the acquirer simulator (dev)")
    pay.add_argument("--city", required=True)
    pay.add_argument("--order", required=True, help="order id")
    pay.add_argument("--late", action="store_true", help="pay after the QR expired (refunded automatically)")
    pay.add_argument("--twice", action="store_true", help="pay a second time (the second is refunded)")
    pay.add_argument("--amount", type=int, help="pay a different amount (recorded as a mismatch)")
    pay.add_argument("--json", action="store_true")
    pay.set_defaults(func=cmd_pay)
