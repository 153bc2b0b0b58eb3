"""`pasarkota dlq list [topic] | show <topic> <partition>:<offset> | replay <topic>`: dead letters for operators.

The runbook is in docs/operations.md ("A message in a DLQ"); the mechanics in ``deploy/dlq.py``. Kafka and
Postgres are the running stack's (``pasarkota up``) unless ``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL`` say.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any


def _position(text: str) -> tuple[int, int]:
    partition, sep, offset = text.partition(":")
    if not sep or not partition.isdigit() or not offset.isdigit():
        raise argparse.ArgumentTypeError("expected <partition>:<offset>, e.g. 0:42")
    return int(partition), int(offset)


def cmd_dlq(args: argparse.Namespace) -> int:
    from deploy import dlq
    from deploy.commands.endpoints import stack_endpoints

    bootstrap, admin_url = stack_endpoints()
    try:
        if args.action == "list" and not args.topic:
            counts = asyncio.run(dlq.dlq_topics(bootstrap))
            if args.json:
                print(json.dumps(counts, indent=2))
            for name, n in counts.items():
                if not args.json:
                    print(f"{name:<40} {n:>7} record(s)")
            return 0
        if not args.topic:
            print("name the DLQ topic, e.g. orders.order.v1.dlq", file=sys.stderr)
            return 2
        if args.action == "list":
            records = asyncio.run(dlq.read_dead_letters(bootstrap, args.topic, limit=args.limit))
            _print([d.summary() for d in records], args.json)
            return 0
        if args.action == "show":
            if args.at is None:
                print("show needs <partition>:<offset>", file=sys.stderr)
                return 2
            partition, offset = args.at
            found = asyncio.run(dlq.read_dead_letters(bootstrap, args.topic, partition=partition, offset=offset))
            if not found:
                print(f"no record at {dlq.dlq_name(args.topic)} {partition}:{offset}", file=sys.stderr)
                return 1
            dead = found[0]
            body = asyncio.run(dlq.whole_body(dead, admin_url)) if args.whole else dead.value
            print(json.dumps({"topic": dead.topic, "partition": dead.partition, "offset": dead.offset,
                              "key": (dead.key or b"").decode("utf-8", "replace"), "headers": dead.headers,
                              "body_bytes": len(body)}, indent=2))
            print(body[:args.max_bytes].decode("utf-8", "replace"))
            return 0
        partition, offset = args.at if args.at else (None, None)
        replayed = asyncio.run(dlq.replay(bootstrap, args.topic, admin_url=admin_url, partition=partition,
                                          offset=offset, dry_run=args.dry_run))
        verb = "would replay" if args.dry_run else "replayed"
        _print([d.summary() for d in replayed], args.json)
        if not args.json:
            print(f"{verb} {len(replayed)} record(s) from {dlq.dlq_name(args.topic)}")
        return 0
    except LookupError as exc:
        print(f"dlq: {exc}", file=sys.stderr)
        return 1


def _print(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for r in rows:
        print(f"{r['partition']}:{r['offset']:<6} {r['failed_at'] or '-':<32} {r['consumer'] or '-':<28} "
              f"{r['error_type'] or '-':<18} {r['size']:>8}B{' (prefix)' if r['truncated'] else ''}  "
              f"{r['error']}")


def register(sub: Any) -> None:
    p = sub.add_parser("dlq", help="dead-letter topics: list, show a record, replay to the source topic")
    p.add_argument("action", choices=["list", "show", "replay"])
    p.add_argument("topic", nargs="?", help="the DLQ topic (or its source topic), e.g. orders.order.v1.dlq")
    p.add_argument("at", nargs="?", type=_position, help="<partition>:<offset> (show; replay of one record)")
    p.add_argument("--limit", type=int, default=200, help="list: at most this many records")
    p.add_argument("--whole", action="store_true", help="show: fetch the whole body of a truncated copy")
    p.add_argument("--max-bytes", type=int, default=64 * 1024, help="show: print at most this much of the body")
    p.add_argument("--dry-run", action="store_true", help="replay: say what would be sent, send nothing")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_dlq)
