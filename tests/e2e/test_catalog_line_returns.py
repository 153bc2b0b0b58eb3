"""catalog's reservation handlers on the real Postgres (a scratch schema), no Kafka: a line a vendor rejects comes
back once (restock of a committed reservation, release of a held one), a later cancellation gives back only the
other lines, and an order placed again gets the recorded answer re-sent without reserving twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

import catalog
from catalog import handlers, queries
from catalog.store import CatalogStore
from shared.envelope import EventPayload, decode
from shared.events.common import OrderLine
from shared.events.orders import OrderLineRejected, OrderPlaced
from shared.uow import PgUnitOfWork
from tests.conftest import Infra, scratch_schema

pytestmark = pytest.mark.integration
MIGRATIONS = Path(catalog.__file__).resolve().parent / "migrations"
CITY = "cimahi"


@pytest.fixture
async def pool(infra: Infra) -> AsyncIterator[asyncpg.Pool]:
    async with scratch_schema(infra, "catalog", MIGRATIONS) as pool:
        async with pool.acquire() as conn:
            await conn.execute("INSERT INTO markets(id, city, slug, name)"
                               " VALUES ('m1', $1, 'pasar-uji', 'Pasar Uji')", CITY)
            await conn.execute("INSERT INTO vendors(id, city, market_id, name, owner_name, status)"
                               " VALUES ('v1', $1, 'm1', 'Toko Uji', 'Bu Uji', 'active')", CITY)
            for pid, stock in (("pa", 10), ("pb", 20), ("pc", None)):
                await conn.execute("INSERT INTO products(id, city, vendor_id, market_id, name, category, unit,"
                                   " price, stock) VALUES ($1, $2, 'v1', 'm1', $1, 'sembako', 'kg', 10000, $3)",
                                   pid, CITY, stock)
        yield pool


class Sink:
    def __init__(self) -> None:
        self.events: list[EventPayload] = []

    def take(self, uow: PgUnitOfWork[CatalogStore]) -> None:
        """The payloads the use case emitted into the unit of work (typed again, as a consumer sees them)."""
        for outgoing in uow.pending:
            payload = decode(outgoing.body())[1]
            assert payload is not None
            self.events.append(payload)

    def of(self, kind: str) -> list[Any]:
        return [e for e in self.events if type(e).__name__ == kind]


def placed(order_id: str, *lines: tuple[str, int]) -> OrderPlaced:
    return OrderPlaced(order_id=order_id, buyer_id="b1", market_id="m1", fulfilment="pickup_stall",
                       lines=[OrderLine(product_id=p, vendor_id="v1", quantity=q, unit_price=10000) for p, q in lines],
                       subtotal=0, total=0)


def line_rejected(order_id: str, product_id: str, quantity: int, line_id: str | None = None) -> OrderLineRejected:
    return OrderLineRejected(order_id=order_id, line_id=line_id or f"line-{product_id}", product_id=product_id,
                             vendor_id="v1", quantity=quantity, amount=10000 * quantity, reason="habis")


async def stock(pool: asyncpg.Pool, pid: str) -> int | None:
    async with pool.acquire() as conn:
        value: int | None = await conn.fetchval("SELECT stock FROM products WHERE id = $1", pid)
        return value


async def run(pool: asyncpg.Pool, sink: Sink, step: str, *args: Any, **kw: Any) -> Any:
    """One use case in one unit of work on the scratch schema (no outbox relay: the events go to ``sink``)."""
    async with pool.acquire() as conn, conn.transaction():
        uow: PgUnitOfWork[CatalogStore] = PgUnitOfWork(conn, CatalogStore(conn), city=CITY)
        if step == "place":
            result = await handlers.reserve_stock(uow, *args)
        elif step == "reject":
            result = await handlers.return_rejected_line(uow, *args)
        else:
            result = await handlers.apply_order_outcome(uow, CITY, *args, **kw)
        sink.take(uow)
        return result


async def test_rejected_line_of_a_paid_order_is_restocked_once_and_not_again_on_cancel(pool: asyncpg.Pool) -> None:
    sink = Sink()
    assert await run(pool, sink, "place", placed("o1", ("pa", 3), ("pb", 4), ("pc", 1))) == "reserved"
    assert (await stock(pool, "pa"), await stock(pool, "pb")) == (7, 16)
    assert await run(pool, sink, "outcome", "o1", "OrderPaid") == "committed"

    sink.events.clear()
    assert await run(pool, sink, "reject", line_rejected("o1", "pa", 3)) == "restock"
    assert (await stock(pool, "pa"), await stock(pool, "pb")) == (10, 16)
    assert [(e.product_id, e.stock) for e in sink.of("StockAdjusted")] == [("pa", 10)]
    # the same line again (a re-sent event under a new id): nothing more
    assert await run(pool, sink, "reject", line_rejected("o1", "pa", 3)) == "duplicate"
    # an uncounted product's line: recorded, nothing to put on a shelf
    assert await run(pool, sink, "reject", line_rejected("o1", "pc", 1)) == "restock"
    assert await stock(pool, "pc") is None
    assert len(sink.of("StockAdjusted")) == 1

    sink.events.clear()
    assert await run(pool, sink, "outcome", "o1", "OrderCancelled", reason="cancelled:x", paid=True) == "restocked"
    assert (await stock(pool, "pa"), await stock(pool, "pb")) == (10, 20)  # pa not a second time
    [released] = sink.of("StockReleased")
    assert released.restocked and [(x.product_id, x.quantity) for x in released.lines] == [("pb", 4)]
    assert [(e.product_id, e.stock) for e in sink.of("StockAdjusted")] == [("pb", 20)]
    # after the restock a late rejection gives nothing back
    assert await run(pool, sink, "reject", line_rejected("o1", "pb", 4)) == "no_change"
    assert await stock(pool, "pb") == 20


async def test_rejected_line_of_a_held_reservation_is_released_and_the_rest_commits(pool: asyncpg.Pool) -> None:
    sink = Sink()
    await run(pool, sink, "place", placed("o2", ("pa", 2), ("pb", 5)))
    assert await run(pool, sink, "reject", line_rejected("o2", "pb", 5)) == "release"
    assert await stock(pool, "pb") == 20
    sink.events.clear()
    assert await run(pool, sink, "outcome", "o2", "OrderPaid") == "committed"
    [committed] = sink.of("StockCommitted")
    assert [(x.product_id, x.quantity) for x in committed.lines] == [("pa", 2)]
    # payment expiry would not apply to a committed reservation; a cancellation restocks pa only
    await run(pool, sink, "outcome", "o2", "OrderCancelled", paid=True)
    assert (await stock(pool, "pa"), await stock(pool, "pb")) == (10, 20)


async def test_a_line_of_an_unknown_order_or_product_changes_nothing(pool: asyncpg.Pool) -> None:
    sink = Sink()
    assert await run(pool, sink, "reject", line_rejected("never-placed", "pa", 1)) == "no_reservation"
    await run(pool, sink, "place", placed("o3", ("pa", 1)))
    assert await run(pool, sink, "reject", line_rejected("o3", "pb", 1)) == "unknown_line"
    assert (await stock(pool, "pa"), await stock(pool, "pb")) == (9, 20)


async def test_an_order_placed_again_gets_the_same_answer_and_reserves_nothing_more(pool: asyncpg.Pool) -> None:
    sink = Sink()
    order = placed("o4", ("pa", 2))
    await run(pool, sink, "place", order)
    await run(pool, sink, "place", placed("o5", ("pb", 99)))
    first_reserved, first_rejected = sink.of("StockReserved"), sink.of("StockRejected")
    assert len(first_reserved) == 1 and len(first_rejected) == 1

    sink.events.clear()
    assert await run(pool, sink, "place", order) == "answer_resent"
    assert await run(pool, sink, "place", placed("o5", ("pb", 99))) == "answer_resent"
    assert sink.of("StockReserved") == first_reserved and sink.of("StockRejected") == first_rejected
    assert (await stock(pool, "pa"), await stock(pool, "pb")) == (8, 20)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM reservation_lines WHERE order_id = 'o4'") == 1

    # released: the units are back on the shelf, a StockReserved would promise what the order no longer holds
    await run(pool, sink, "outcome", "o4", "OrderPaymentExpired")
    sink.events.clear()
    assert await run(pool, sink, "place", order) == "duplicate"
    assert sink.events == [] and await stock(pool, "pa") == 10
    async with pool.acquire() as conn:
        reservation = await queries.reservation(conn, CITY, "o4")
    assert reservation is not None and reservation["status"] == "released"
