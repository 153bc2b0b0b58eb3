"""Helpers for the notifications tests: the simulator's phones, identity's events (identity is built beside us),
and the notifications schema as an operator would look at it."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx

from deploy.provision import service_database_url
from shared.events.identity import AccountCreated
from tests.conftest import Platform, eventually
from tests.orders.e2e_support import publish


def new_phone() -> str:
    return "0813" + str(uuid.uuid4().int)[:8]


async def inbox(client: httpx.AsyncClient, platform: Platform, phone: str) -> list[dict[str, Any]]:
    """What the simulated phone received, oldest first."""
    r = await client.get(platform.url("notifications") + "/dev/messages", params={"phone": phone})
    assert r.status_code == 200, r.text
    return list(r.json()["messages"])


async def wait_inbox(client: httpx.AsyncClient, platform: Platform, phone: str, count: int,
                     what: str = "messages", timeout: float = 60) -> list[dict[str, Any]]:
    async def arrived() -> list[dict[str, Any]] | None:
        got = await inbox(client, platform, phone)
        return got if len(got) >= count else None

    return await eventually(arrived, timeout=timeout, interval=0.3, what=f"{what} for {phone}")


async def db(platform: Platform) -> asyncpg.Connection:
    """A connection as the notifications role (its own schema only)."""
    return await asyncpg.connect(service_database_url(platform.infra.admin_url, "notifications"))


async def sign_up(platform: Platform, account_id: str, phone: str, city: str = "cimahi") -> None:
    """Identity's AccountCreated, as identity will publish it; waits until notifications knows the phone."""
    await publish(platform.infra.bootstrap, [AccountCreated(account_id=account_id, phone=phone, name="Warga Uji")],
                  city=city)

    async def known() -> bool:
        conn = await db(platform)
        try:
            return bool(await conn.fetchval("SELECT true FROM accounts WHERE account_id = $1 AND phone = $2",
                                            account_id, phone))
        finally:
            await conn.close()

    await eventually(known, timeout=60, what=f"account {account_id} projected by notifications")


async def messages_of_event(platform: Platform, event_id: uuid.UUID) -> list[dict[str, Any]]:
    conn = await db(platform)
    try:
        return [dict(r) for r in await conn.fetch("SELECT * FROM messages WHERE event_id = $1 ORDER BY seq",
                                                  event_id)]
    finally:
        await conn.close()
