"""Group commit at the edge (``shared.uow.GroupCommit``) on a real Postgres: concurrent use cases share one
transaction, each answered only after it committed, and a bad one fails alone without the others seeing it."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from shared.db import create_pool
from shared.errors import Invalid
from shared.uow import UnitOfWork, Work
from tests.conftest import Infra
from tests.integration.probe import new_schema

pytestmark = pytest.mark.integration


async def remember_word(uow: UnitOfWork[Any], word: str) -> int:
    conn: asyncpg.Connection = uow.store
    if word == "bad":
        await conn.execute("INSERT INTO words(word, city) VALUES ('half-written', $1)", uow.this_city)
        raise Invalid("bad-word", "Kata ditolak. / Word refused.")
    return int(await conn.fetchval("INSERT INTO words(word, city) VALUES ($1, $2) RETURNING txid_current()",
                                   word, uow.this_city))


@pytest.fixture(scope="module")
async def work(infra: Infra) -> Any:
    schema, dsn = await new_schema(infra.admin_url)
    pool = await create_pool(dsn, schema, "group-commit-test", max_size=4)
    async with pool.acquire() as conn:
        await conn.execute("CREATE TABLE words (word text NOT NULL, city text NOT NULL)")
    yield Work(lambda: pool, lambda conn: conn), pool
    await pool.close()


async def test_a_burst_shares_transactions_and_each_answer_follows_the_commit(work: Any) -> None:
    w, pool = work
    group = w.group_commit()
    words = [f"w{i}" for i in range(200)]
    cities = ["cimahi", "tegal"]
    txids = await asyncio.gather(*(group.run(remember_word, word, city=cities[i % 2], correlation_id=f"c{i}")
                                   for i, word in enumerate(words)))
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT word, city FROM words WHERE word LIKE 'w%'")
    assert sorted(r["word"] for r in rows) == sorted(words)  # every answer came after its row was committed
    assert {r["word"]: r["city"] for r in rows} == {w_: cities[i % 2] for i, w_ in enumerate(words)}
    assert len(set(txids)) < len(words) / 4, "a burst shares transactions"
    assert group.grouped == len(words) and group.groups == len(set(txids))


async def test_a_bad_request_fails_alone_and_leaves_nothing_behind(work: Any) -> None:
    w, pool = work
    group = w.group_commit()
    results = await asyncio.gather(*(group.run(remember_word, word, city="cimahi", correlation_id=None)
                                     for word in ["g1", "g2", "bad", "g3"]), return_exceptions=True)
    assert isinstance(results[2], Invalid) and all(isinstance(r, int) for i, r in enumerate(results) if i != 2)
    async with pool.acquire() as conn:
        kept = {r["word"] for r in await conn.fetch("SELECT word FROM words WHERE word LIKE 'g%' OR word = "
                                                     "'half-written'")}
    assert kept == {"g1", "g2", "g3"}


async def test_a_request_arriving_as_the_flushers_stop_is_still_committed(work: Any) -> None:
    """Requests one after another (each the moment the previous one was answered, the flusher stopping): none
    waits for a later request to be committed."""
    w, _pool = work
    group = w.group_commit()
    for i in range(50):
        txid = await asyncio.wait_for(group.run(remember_word, f"s{i}", city="tegal", correlation_id=None), 10)
        assert isinstance(txid, int)
    assert group._active == 0
