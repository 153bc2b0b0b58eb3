"""Runs an outbox relay in its own process until the outbox is drained (or a fault kills it)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


async def main(dsn: str, schema: str, bootstrap: str, fault: str, batch_size: int) -> None:
    from shared.db import create_pool
    from shared.outbox import OutboxRelay

    pool = await create_pool(dsn, schema, "relay-test", max_size=3)
    relay = OutboxRelay(pool, schema, bootstrap, "relay-test", batch_size=batch_size, idle_poll_ms=50,
                        fault_inject=fault)
    task = asyncio.create_task(relay.run())
    while await relay.lag() > 0:
        await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await pool.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])))
