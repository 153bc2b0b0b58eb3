"""What every HTTP route of a service gets from one dependency: the city, the correlation id, units of work.

A route is a declaration: wire model → command → ``await ctx.run(handlers.some_use_case, command)`` → render.
``ctx.run`` opens the kernel's unit of work (one transaction), calls ``handle(uow, ...)``, writes the events
the use case emitted into the outbox and commits — before the response is built, so a 2xx always means
committed. Reads go through ``ctx.read(queries.some_query, ...)`` on a plain connection.

The city comes from the ``{city}`` path segment, resolved once here (404 problem for an unknown city); the
correlation id is the one the kernel's middleware bound for this request (from ``X-Correlation-ID`` or new),
so every event a request causes carries the request's id.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Concatenate, ParamSpec, TypeVar

import asyncpg
from fastapi import Depends, Request

from shared.cities import City, get_city
from shared.uow import UnitOfWork, Work

P = ParamSpec("P")
R = TypeVar("R")


def correlation_id_of(request: Request) -> str:
    """The request's correlation id, as bound by the kernel's middleware."""
    cid = request.scope.get("state", {}).get("correlation_id")
    if cid:
        return str(cid)
    return request.headers.get("x-correlation-id", "")[:128] or "unbound"


@dataclass(frozen=True)
class RequestContext:
    """The city of the path, the request's correlation id, and the service's units of work."""

    city: City
    correlation_id: str
    work: Work

    @property
    def slug(self) -> str:
        return self.city.slug

    async def run(self, handler: Callable[Concatenate[UnitOfWork[Any], P], Awaitable[R]],
                  *args: P.args, **kwargs: P.kwargs) -> R:
        """Run one use case in one unit of work for this city and request; commit, then return its result."""
        async with self.work(city=self.city.slug, correlation_id=self.correlation_id) as uow:
            return await handler(uow, *args, **kwargs)

    async def run_grouped(self, handler: Callable[Concatenate[UnitOfWork[Any], P], Awaitable[R]],
                          *args: P.args, **kwargs: P.kwargs) -> R:
        """Like :meth:`run`, but committed together with concurrent requests (``shared.uow.GroupCommit``): for a
        route hit in bursts whose use case is one short write. Answered only after the shared commit."""
        bound = functools.partial(handler, **kwargs) if kwargs else handler
        return await self.work.group_commit().run(bound, *args, city=self.city.slug,
                                                  correlation_id=self.correlation_id)

    async def read(self, query: Callable[Concatenate[asyncpg.Connection, P], Awaitable[R]],
                   *args: P.args, **kwargs: P.kwargs) -> R:
        """Run one read-side query (``queries.py``) on a plain connection; nothing is written."""
        async with self.work.reading() as conn:
            return await query(conn, *args, **kwargs)


async def request_context(request: Request, city: str) -> RequestContext:
    """The dependency behind ``CityContext``: resolves ``{city}`` once for the whole route."""
    kernel = request.app.state.kernel
    return RequestContext(get_city(city), correlation_id_of(request), kernel.work)


async def service_context(request: Request) -> Work:
    """For the few routes without a ``{city}`` in their path (e.g. a webhook that names it otherwise)."""
    work: Work = request.app.state.kernel.work
    return work


CityContext = Annotated[RequestContext, Depends(request_context)]
"""``ctx: CityContext`` in a route under ``/cities/{city}/…``: the one way a route reaches its service."""


def file_answer(*media_types: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of a route that answers bytes (an image, a PDF, a CSV, metrics text): each media
    type a binary string, so a client generator knows it gets a file, not JSON."""
    return {200: {"description": "The file", "content": {m: {"schema": {"type": "string", "format": "binary"}}
                                                         for m in media_types}}}
