"""The audit list: every back-office change, with who made it, when, and what it was before → after.

A use case records a change on its unit of work, next to the state change and its events::

    before = market.as_dict()
    market.hours = command.hours
    await uow.store.save_market(market)
    uow.audit(actor, "market", market.id, "hours_changed", before=before, after=market.as_dict())

The entry is written into the service's own ``audit_log`` table in the same transaction (so it exists if and
only if the change committed). Only the fields that differ are kept (``changed``). The read side is
``entries(conn, city=..., entity=..., entity_id=...)``; every service also serves
``GET /cities/{city}/audit`` to its city admin (and operator), see ``audit_router``.
"""

# no `from __future__ import annotations`: audit_router imports its FastAPI dependencies lazily (uow → audit →
# http → uow would be a cycle) and FastAPI must see the real types of its parameters.

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

ERASED_ACTOR = "dihapus"
"""The subject written over an actor's id when their personal data is deleted (the change itself stays)."""


@dataclass(frozen=True)
class AuditEntry:
    city: str
    actor: str
    actor_roles: tuple[str, ...]
    entity: str
    entity_id: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    correlation_id: str = ""


def _plain(value: Any) -> Any:
    """JSON-safe: dates, uuids and the like as their string form."""
    return json.loads(json.dumps(value, default=str))


def changed(before: dict[str, Any] | None, after: dict[str, Any] | None
            ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The fields that differ, on each side (a creation keeps all of ``after``; a removal all of ``before``)."""
    b, a = _plain(before) if before is not None else None, _plain(after) if after is not None else None
    if b is None or a is None:
        return b, a
    keys = sorted(set(b) | set(a))
    diff = [k for k in keys if b.get(k) != a.get(k)]
    return {k: b.get(k) for k in diff if k in b}, {k: a.get(k) for k in diff if k in a}


def entry(*, city: str, actor: Any, entity: str, entity_id: str, action: str, before: dict[str, Any] | None,
          after: dict[str, Any] | None, correlation_id: str = "") -> AuditEntry:
    """Build an entry; ``actor`` is a ``shared.auth.Principal`` (or a plain subject string for tools)."""
    subject = getattr(actor, "sub", None) or str(actor)
    roles = tuple(sorted(getattr(actor, "roles", ()) or ()))
    b, a = changed(before, after)
    return AuditEntry(city, subject, roles, entity, str(entity_id), action, b, a, correlation_id)


async def write(conn: asyncpg.Connection, entries: list[AuditEntry]) -> None:
    """Insert the entries in one statement (called by the unit of work just before commit)."""
    if not entries:
        return
    await conn.execute(
        "INSERT INTO audit_log (city, actor, actor_roles, entity, entity_id, action, before, after, correlation_id)"
        " SELECT c, a, r::text[], e, i, x, b, f, k FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],"
        " $5::text[], $6::text[], $7::jsonb[], $8::jsonb[], $9::text[]) AS t(c, a, r, e, i, x, b, f, k)",
        [e.city for e in entries], [e.actor for e in entries],
        ["{" + ",".join(e.actor_roles) + "}" for e in entries],
        [e.entity for e in entries], [e.entity_id for e in entries], [e.action for e in entries],
        [json.dumps(e.before) if e.before is not None else None for e in entries],
        [json.dumps(e.after) if e.after is not None else None for e in entries],
        [e.correlation_id for e in entries])


class AuditRow(BaseModel):
    id: int
    at: datetime
    actor: str
    actor_roles: list[str]
    entity: str
    entity_id: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


async def entries(conn: asyncpg.Connection, *, city: str, entity: str | None = None, entity_id: str | None = None,
                  limit: int = 100, before_id: int | None = None) -> list[AuditRow]:
    """The newest entries of a city (optionally of one entity, or one entity id), newest first."""
    rows = await conn.fetch(
        "SELECT id, at, actor, actor_roles, entity, entity_id, action, before, after FROM audit_log"
        " WHERE city = $1 AND ($2::text IS NULL OR entity = $2) AND ($3::text IS NULL OR entity_id = $3)"
        " AND ($4::bigint IS NULL OR id < $4) ORDER BY id DESC LIMIT $5",
        city, entity, entity_id, before_id, max(1, min(limit, 500)))
    return [AuditRow(id=r["id"], at=r["at"], actor=r["actor"], actor_roles=list(r["actor_roles"]),
                     entity=r["entity"], entity_id=r["entity_id"], action=r["action"],
                     before=json.loads(r["before"]) if r["before"] is not None else None,
                     after=json.loads(r["after"]) if r["after"] is not None else None) for r in rows]


async def erase_actor(conn: asyncpg.Connection, subject: str) -> int:
    """Personal-data deletion: the changes stay on the list, the person's subject does not."""
    status = await conn.execute("UPDATE audit_log SET actor = $2 WHERE actor = $1", subject, ERASED_ACTOR)
    return int(status.split()[-1])


async def forget_fields(conn: asyncpg.Connection, entity: str, entity_ids: list[str], fields: tuple[str, ...],
                        *, placeholder: str = "(dihapus)") -> int:
    """Personal-data deletion: in the entries of these entities, ``fields`` (an owner's name, a phone) lose their
    value in before and after; the change itself stays on the list. Returns how many entries changed."""
    if not entity_ids:
        return 0
    rows = await conn.fetch("SELECT id, before, after FROM audit_log WHERE entity = $1 AND entity_id = ANY($2::text[])",
                            entity, entity_ids)
    changed_rows = 0
    for r in rows:
        sides = [json.loads(r[side]) if r[side] is not None else None for side in ("before", "after")]
        scrubbed = [{k: (placeholder if k in fields and v is not None else v) for k, v in side.items()}
                    if isinstance(side, dict) else side for side in sides]
        if scrubbed != sides:
            await conn.execute("UPDATE audit_log SET before = $2, after = $3 WHERE id = $1", r["id"],
                               *[json.dumps(side) if side is not None else None for side in scrubbed])
            changed_rows += 1
    return changed_rows


def audit_router() -> APIRouter:
    """``GET /cities/{city}/audit`` for the service's city admin and operator (every service mounts it)."""
    from shared.auth import Principal, require
    from shared.http import CityContext

    router = APIRouter(tags=["audit"])

    @router.get("/cities/{city}/audit", operation_id="list_audit_entries", response_model=list[AuditRow],
                summary="Back-office changes of this city in this service, newest first")
    async def list_audit(ctx: CityContext, _: Annotated[Principal, Depends(require("city_admin", "operator"))],
                         entity: Annotated[str | None, Query(max_length=40)] = None,
                         entity_id: Annotated[str | None, Query(max_length=80)] = None,
                         before_id: Annotated[int | None, Query(ge=1)] = None,
                         limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[AuditRow]:
        return await ctx.read(entries, city=ctx.slug, entity=entity, entity_id=entity_id, limit=limit,
                              before_id=before_id)

    return router
