"""The read side's cost does not grow with the page: listing 200 orders runs a constant number of queries.

Counted at the route (``GET /cities/{city}/orders?limit=200`` and the vendor's list), through a pool whose
connections count every statement they run, on a scratch schema with 210 orders of two lines each.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest

from orders.app import MIGRATIONS
from orders.domain import Fulfilment, Line, Order
from orders.http import router
from orders.store import OrdersStore
from shared.ids import new_id
from shared.service import ServiceKernel
from tests.conftest import Infra, scratch_schema
from tests.tokens import bearer

pytestmark = pytest.mark.integration

CITY, MARKET, BUYER, V1, V2 = "cimahi", "m-count", "buyer-count", "v-count-1", "v-count-2"
ORDERS = 210
MAX_QUERIES = 2  # the orders, then all their lines


class CountingConnection:
    """An asyncpg connection that counts the statements it is asked to run."""

    def __init__(self, conn: asyncpg.Connection, counter: list[str]) -> None:
        self._conn, self._counter = conn, counter

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._conn, name)
        if name in ("fetch", "fetchrow", "fetchval", "execute", "executemany", "cursor", "prepare"):
            def counted(query: str, *args: Any, **kw: Any) -> Any:
                self._counter.append(query)
                return attr(query, *args, **kw)
            return counted
        return attr


class CountingPool:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.queries: list[str] = []

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[CountingConnection]:
        async with self.pool.acquire() as conn:
            yield CountingConnection(conn, self.queries)


def auth(role: str, sub: str, **kw: Any) -> dict[str, str]:
    return bearer(CITY, role, sub=sub, **kw)


@pytest.fixture(scope="module")
async def counted(infra: Infra) -> AsyncIterator[tuple[CountingPool, httpx.AsyncClient]]:
    async with scratch_schema(infra, "orders", MIGRATIONS) as pool:
        async with pool.acquire() as conn, conn.transaction():
            store = OrdersStore(conn)
            for _ in range(ORDERS):
                order, _events = Order.place(
                    order_id=new_id(), city=CITY, buyer_id=BUYER, market_id=MARKET,
                    fulfilment=Fulfilment("pickup_stall"), delivery_fee=0,
                    lines=[Line("L1", "p-1", V1, "Beras", "kg", 1, 15_000),
                           Line("L2", "p-2", V2, "Telur", "kg", 2, 28_000)])
                await store.insert(order)
            await conn.execute("UPDATE orders SET status = 'paid'")
        counting = CountingPool(pool)
        kernel = ServiceKernel("orders", None, uses_database=False, store=OrdersStore)
        kernel.pool = counting  # type: ignore[assignment]
        app = kernel.http_app(router)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://orders") as client:
            yield counting, client


@pytest.mark.parametrize(("path", "headers"), [
    (f"/cities/{CITY}/orders?mine=1&limit=200", auth("buyer", BUYER)),
    (f"/cities/{CITY}/orders?mine=0&limit=200", auth("city_admin", "admin")),
    (f"/cities/{CITY}/orders?mine=0&limit=200", auth("market_admin", "ma", market_id=MARKET)),
    (f"/cities/{CITY}/vendor/orders?limit=200", auth("vendor", "v1", vendor_id=V1)),
])
async def test_a_page_of_200_orders_costs_a_constant_number_of_queries(
        counted: tuple[CountingPool, httpx.AsyncClient], path: str, headers: dict[str, str]) -> None:
    pool, client = counted
    pool.queries.clear()
    r = await client.get(path, headers=headers)
    assert r.status_code == 200, r.text
    orders = r.json()["orders"]
    assert len(orders) == 200 and all(len(o["lines"]) in (1, 2) for o in orders)
    assert len(pool.queries) <= MAX_QUERIES, pool.queries
