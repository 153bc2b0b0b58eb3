"""`pasarkota bench payments`: the payment-burst benchmark against a running stack; `pasarkota bench chaos`:
the same burst on a stack of its own while services, Kafka and Postgres are killed and restarted.

The benchmark itself lives beside the other benchmarks, in ``tests/bench/bench_payments.py`` (also runnable
alone); it is loaded from the checkout when the command runs, so it never ships in a package or an image.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from deploy.local.errors import RuntimeProblem

BENCHES = Path(__file__).resolve().parents[2] / "tests" / "bench"


def load_bench(name: str) -> ModuleType:
    """``tests/bench/bench_<name>.py`` of this checkout, imported as ``tests.bench.bench_<name>``."""
    module_name = f"tests.bench.bench_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    path = BENCHES / f"bench_{name}.py"
    if not path.exists():
        raise RuntimeProblem(f"the {name} benchmark is not here ({path}): benchmarks run from a source checkout")
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses look their module up while the file executes
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def add_payments_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, default=1000, help="number of orders/notifications")
    parser.add_argument("--rate", type=float, default=0.0, help="notifications per second (0 = max)")
    parser.add_argument("--concurrency", type=int, default=32, help="parallel webhook connections")
    parser.add_argument("--output", default="bench-results/payments.json")
    parser.add_argument("--label", default="burst",
                        help="the run's name in the output file (burst, paced, replicas, ...): each kind of run is "
                             "kept there beside the others, and the issue #16 table is made from all of them")
    parser.add_argument("--skip-raw", action="store_true", help="skip the Kafka/Postgres raw ceilings")
    parser.add_argument("--direct", action="store_true",
                        help="payments alone: publish OrderPaymentRequested directly (no catalog/orders), "
                             "end at PaymentSucceeded")
    parser.add_argument("--place-concurrency", type=int, default=16, help="parallel checkout connections")
    parser.add_argument("--vendors-per-city", type=int, default=3,
                        help="bench products: one per vendor 1..V of each demo city (several markets)")
    parser.add_argument("--kill-replica", action="append", default=[], choices=["catalog", "orders", "payments"],
                        help="SIGKILL worker 1 of this service once a third of the orders are Dibayar (a consumer-"
                             "group rebalance mid-burst; needs PASARKOTA_<SERVICE>_WORKERS >= 2); repeatable")
    parser.add_argument("--profile", metavar="DIR",
                        help="sample every service with py-spy during the burst; collapsed stacks into DIR, top "
                             "frames into the report")


def add_chaos_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, default=20_000, help="orders in the burst")
    parser.add_argument("--rate", type=float, default=300.0, help="notifications per second (0 = as fast as it can)")
    parser.add_argument("--concurrency", type=int, default=32, help="webhook connections")
    parser.add_argument("--gap", type=float, default=3.0, help="seconds between one recovery and the next fault")
    parser.add_argument("--output", default="bench-results/chaos.json")


def run_payments(args: argparse.Namespace) -> int:
    """Run it; exit 0 only when nothing was lost, doubled, left unplaced or without an intent."""
    import asyncio

    bench = load_bench("payments")
    report = asyncio.run(bench.run(count=args.count, rate=args.rate, concurrency=args.concurrency,
                                   output=args.output, skip_raw=args.skip_raw, direct=args.direct,
                                   place_concurrency=args.place_concurrency,
                                   vendors_per_city=args.vendors_per_city, profile=args.profile,
                                   kill_replicas=tuple(args.kill_replica), label=args.label))
    eff = report["effects"]
    clean = eff["lost"] == 0 and eff["duplicated"] == 0 and not eff.get("not_placed") and not eff.get("no_intent")
    return 0 if clean else 1


def register(sub: Any) -> None:
    bench = sub.add_parser("bench", help="benchmarks against a running stack")
    kinds = bench.add_subparsers(dest="bench", required=True)
    payments = kinds.add_parser("payments", help="N real orders, their signed notification burst, until "
                                                 "Dibayar; lost/duplicated")
    add_payments_arguments(payments)
    payments.set_defaults(func=run_payments)
    chaos = kinds.add_parser("chaos", help="its own stack: a payment burst while every service is SIGKILLed "
                                           "once, Kafka and Postgres restarted once; lost/duplicated, recovery")
    add_chaos_arguments(chaos)
    chaos.set_defaults(func=run_chaos)


def run_chaos(args: argparse.Namespace) -> int:
    """Exit 0 only when every fault was survived with nothing lost or doubled."""
    import asyncio

    return int(asyncio.run(load_bench("chaos").main_async(args)))
