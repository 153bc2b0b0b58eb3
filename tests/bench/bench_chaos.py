"""`pasarkota bench chaos` (or `python tests/bench/bench_chaos.py --count N`): a payment burst under faults.

Starts its own Kafka broker, PostgreSQL server and every service as its own process (the test harness's
``Platform``), then runs the payments benchmark's real flow (N orders through orders' HTTP → QRIS → N signed
notifications → *Dibayar*). While the notifications fly and the saga drains, it SIGKILLs each service once
(restarting it), restarts Kafka once and Postgres once, one fault at a time. The acquirer side re-sends the
same signed request until it is answered 2xx, as a real gateway does.

At the end: every order must be *Dibayar* (`OrderPaid` on Kafka), with 0 lost and 0 duplicated effects
(more than one distinct `OrderPaid` / `PaymentSucceeded` event id per order), and every accepted
notification stored once in payments. Prints what it killed when and each recovery time (fault → every
service ready again), and writes ``bench-results/chaos.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from deploy.local.kafka import KafkaBroker  # noqa: E402
from deploy.local.postgres import LocalPostgres  # noqa: E402
from deploy.local.procs import free_port  # noqa: E402
from deploy.provision import DATABASE_NAME, admin_on_database, ensure_topics, provision_database  # noqa: E402
from tests.conftest import Infra, Platform  # noqa: E402


def all_ready(platform: Platform) -> bool:
    for name in platform.ports:
        try:
            r = httpx.get(platform.url(name) + "/readyz", timeout=2)
            # ready, and not merely degraded: after a Kafka restart, recovery ends when every service reaches it
            if r.status_code != 200 or r.json().get("degraded"):
                return False
        except (httpx.HTTPError, ValueError):
            return False
    return True


async def wait_all_ready(platform: Platform, timeout: float = 180) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if await asyncio.to_thread(all_ready, platform):
            return time.monotonic() - started
        await asyncio.sleep(0.25)
    raise RuntimeError(f"the platform did not recover within {timeout:.0f}s")


def faults(platform: Platform, kafka: KafkaBroker, pg: LocalPostgres) -> list[tuple[str, Any]]:
    """One fault each: SIGKILL + restart every data service, then restart Kafka, then Postgres."""
    plan: list[tuple[str, Any]] = []
    for name in platform.ports:
        if name == "portal":
            continue  # no state, no consumer: killing it tests nothing about money

        def kill(name: str = name) -> None:
            platform.kill(name)
            platform.start(name)
        plan.append((f"SIGKILL {name}", kill))
    def restart_kafka() -> None:
        kafka.stop()
        kafka.start()

    def restart_postgres() -> None:
        pg.stop()
        pg.start()

    plan.append(("restart kafka", restart_kafka))
    plan.append(("restart postgres", restart_postgres))
    return plan


async def run_chaos(platform: Platform, kafka: KafkaBroker, pg: LocalPostgres, gap: float,
                    log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    t0 = time.monotonic()
    for what, act in faults(platform, kafka, pg):
        await asyncio.sleep(gap)
        at = time.monotonic() - t0
        print(f"  chaos t+{at:5.1f}s: {what}", flush=True)
        started = time.monotonic()
        await asyncio.to_thread(act)
        recovered = await wait_all_ready(platform)
        entry = {"fault": what, "at_seconds": round(at, 1),
                 "recovery_seconds": round(time.monotonic() - started, 1),
                 "ready_after_restart_seconds": round(recovered, 1)}
        log.append(entry)
        print(f"  chaos: {what} → every service ready again after {entry['recovery_seconds']}s", flush=True)
    return log


async def stored_notifications(admin_url: str) -> dict[str, int]:
    import asyncpg

    conn = await asyncpg.connect(admin_on_database(admin_url, DATABASE_NAME))
    try:
        row = await conn.fetchrow("SELECT count(*) AS n, count(DISTINCT request_id) AS distinct_requests,"
                                  " count(DISTINCT acquirer_reference) AS distinct_refs"
                                  " FROM payments.acquirer_notifications")
        return dict(row) if row else {}
    finally:
        await conn.close()


async def main_async(args: argparse.Namespace) -> int:
    from tests.bench import bench_payments

    workdir = Path(tempfile.mkdtemp(prefix="pasarkota-chaos-"))
    kafka = KafkaBroker(workdir / "kafka", port=free_port(), controller_port=free_port())
    pg = LocalPostgres(workdir / "postgres", port=free_port())
    await asyncio.gather(asyncio.to_thread(kafka.start), asyncio.to_thread(pg.start))
    platform: Platform | None = None
    try:
        await provision_database(pg.admin_url)
        await ensure_topics(kafka.bootstrap)
        (workdir / "platform").mkdir()
        platform = Platform(Infra(kafka.bootstrap, pg.admin_url, workdir), workdir / "platform")
        for name in platform.ports:
            platform.start(name)
        await asyncio.to_thread(platform.wait_ready)
        os.environ.update({"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, "DATABASE_URL": pg.admin_url})
        for name in platform.ports:
            os.environ[f"PASARKOTA_{name.upper()}_URL"] = platform.url(name)
        log: list[dict[str, Any]] = []

        async def during_burst() -> list[dict[str, Any]]:
            assert platform is not None
            return await run_chaos(platform, kafka, pg, args.gap, log)

        report = await bench_payments.run(count=args.count, rate=args.rate, concurrency=args.concurrency,
                                          output=args.output, skip_raw=True, during_burst=during_burst)
        report["stored_notifications"] = await stored_notifications(pg.admin_url)
        report["chaos"] = log
        eff = report["effects"]
        print("\nchaos during the burst:")
        for entry in log:
            print(f"  t+{entry['at_seconds']:>6}s  {entry['fault']:<22} recovered in {entry['recovery_seconds']}s")
        print(f"orders placed {eff['placed']}, paid {eff['paid_orders']}, lost {eff['lost']}, duplicated "
              f"{eff['duplicated']}; notifications stored {report['stored_notifications']}; "
              f"re-sent after an outage {report['webhook'].get('resent_after_outage')}")
        path = Path(args.output)
        path = path if path.is_absolute() else REPO / path
        path.write_text(json.dumps(report, indent=2) + "\n")
        ok = eff["lost"] == 0 and eff["duplicated"] == 0 and len(log) == len(faults(platform, kafka, pg))
        return 0 if ok else 1
    finally:
        if platform is not None:
            platform.stop_all()
        kafka.stop()
        pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    from deploy.commands.bench import add_chaos_arguments

    parser = argparse.ArgumentParser(prog="bench_chaos.py", description=__doc__.splitlines()[0])
    add_chaos_arguments(parser)
    return asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
