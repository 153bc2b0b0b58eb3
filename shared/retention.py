"""How long the kernel's own tables keep rows, and the job that prunes them in every service's schema.

- ``outbox`` sent rows: ``PASARKOTA_OUTBOX_RETENTION_HOURS`` (72 h), evidence of what was published; unsent
  rows are never pruned.
- ``inbox``: ``PASARKOTA_INBOX_RETENTION_DAYS`` (35 d). It must outlive every message that can still arrive:
  topics keep 7 days, DLQ topics 30, and a replay must still be a no-op where the event was applied.
- ``idempotency_keys``: ``PASARKOTA_IDEMPOTENCY_RETENTION_HOURS`` (48 h); a client retries within minutes.
- ``dead_letter_bodies``: as long as the inbox, like the DLQ records that point at them.

Rows go in batches (one short transaction each), so pruning never holds locks a burst would wait on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg

from shared.logging import get_logger

if TYPE_CHECKING:
    from shared.uow import UnitOfWork

log = get_logger(__name__)

BATCH = 5_000


@dataclass(frozen=True)
class Retention:
    outbox_hours: int = 72
    inbox_days: int = 35
    idempotency_hours: int = 48

    async def prune(self, uow: UnitOfWork[Any]) -> bool:
        """The kernel's periodic job: one batch per table; True (run again at once) while a backlog remains."""
        from shared.uow import PgUnitOfWork

        assert isinstance(uow, PgUnitOfWork), "the kernel's tables live in Postgres"
        deleted = await prune_batch(uow.conn, self)
        if any(deleted.values()):
            log.info("kernel tables pruned", **deleted)
        return any(n >= BATCH for n in deleted.values())

    def statements(self) -> list[tuple[str, str]]:
        """(table, DELETE of at most one batch of expired rows) for each kernel table."""
        def batch(table: str, where: str) -> str:
            return (f"DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM {table} WHERE {where} LIMIT {BATCH})")

        return [
            ("outbox", batch("outbox", f"sent_at < now() - interval '{int(self.outbox_hours)} hours'")),
            ("inbox", batch("inbox", f"processed_at < now() - interval '{int(self.inbox_days)} days'")),
            ("idempotency_keys", batch("idempotency_keys",
                                       f"created_at < now() - interval '{int(self.idempotency_hours)} hours'")),
            ("dead_letter_bodies", batch("dead_letter_bodies",
                                         f"created_at < now() - interval '{int(self.inbox_days)} days'")),
        ]


async def prune_batch(conn: asyncpg.Connection, retention: Retention) -> dict[str, int]:
    """Delete at most one batch of expired rows per table; returns rows deleted per table."""
    deleted: dict[str, int] = {}
    for table, sql in retention.statements():
        status = await conn.execute(sql)
        deleted[table] = int(status.split()[-1])
    return deleted
