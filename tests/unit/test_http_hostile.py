"""The kernel's doors against hostile requests (issue #18, items 4, 5, 9): body limits while streaming, the NUL
rule, domain errors → problem+json in one place, and only a lost connection counts as a database outage."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from typing import Annotated, Any

import asyncpg
import pytest
from fastapi import APIRouter, Depends, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel

from shared.auth import Principal, require
from shared.db import is_outage
from shared.errors import Conflict, Forbidden, Invalid, NotFound, TooMany
from shared.http import CityContext
from shared.service import ServiceKernel

router = APIRouter()
consumed: list[int] = []


class Note(BaseModel):
    text: str


@router.post("/cities/{city}/notes")
async def add_note(ctx: CityContext, body: Note) -> dict[str, Any]:
    return {"city": ctx.slug, "text": body.text, "correlation_id": ctx.correlation_id}


@router.post("/raw")
async def raw(request: Request) -> dict[str, int]:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    consumed.append(size)
    return {"size": size}


@router.post("/small/upload")
async def small(request: Request) -> dict[str, int]:
    return {"size": len(await request.body())}


@router.get("/errors/{kind}")
async def errors(kind: str) -> None:
    error = {"nf": NotFound, "cf": Conflict, "in": Invalid, "fb": Forbidden, "tm": TooMany}[kind]
    raise error(f"code-{kind}", "Rincian. / Detail.", attempts_left=2,
                **({"retry_after_seconds": 42} if kind == "tm" else {}))


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    kernel = ServiceKernel("unit", None, uses_database=False)
    kernel.body_limits["/small/"] = 1024
    with TestClient(kernel.http_app(router), raise_server_exceptions=False) as c:
        yield c


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(client: TestClient) -> None:
    consumed.clear()
    r = client.post("/raw", content=b"x" * (300 * 1024))
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/body-too-large")
    assert consumed == [], "the route never ran"


def test_a_streamed_body_is_cut_off_at_the_limit(client: TestClient) -> None:
    consumed.clear()

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
        for _ in range(10_000):
            yield b"y" * 1024

    r = client.post("/raw", content=chunks())
    assert r.status_code == 413 and r.json()["status"] == 413
    assert consumed == []


def test_a_route_may_have_a_smaller_limit_and_bodies_under_it_pass(client: TestClient) -> None:
    assert client.post("/small/upload", content=b"z" * 1000).json() == {"size": 1000}
    assert client.post("/small/upload", content=b"z" * 1025).status_code == 413
    assert client.post("/raw", content=b"z" * 2000).json() == {"size": 2000}


def test_memory_stays_flat_under_a_large_unsigned_body(client: TestClient) -> None:
    tracemalloc.start()
    client.post("/raw", content=b"q" * (20 * 1024 * 1024))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # the test client itself holds the 20 MB it sends; the server side must not buffer a second copy
    assert peak < 45 * 1024 * 1024


@pytest.mark.parametrize("path", ["/cities/cim%00ahi/notes", "/cities/cimahi/notes?x=%00"])
def test_nul_in_path_or_query_is_422(client: TestClient, path: str) -> None:
    r = client.post(path, json={"text": "ok"})
    assert r.status_code == 422 and r.json()["type"].endswith("/nul-character")


def test_nul_in_a_json_or_form_body_is_422(client: TestClient) -> None:
    assert client.post("/cities/cimahi/notes", json={"text": "a\x00b"}).status_code == 422
    assert client.post("/cities/cimahi/notes", content=b'{"text": "a\\u0000b"}',
                       headers={"content-type": "application/json"}).status_code == 422
    assert client.post("/raw", content=b"a=b%00c",
                       headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 422
    ok = client.post("/cities/cimahi/notes", json={"text": "100% asli"})
    assert ok.status_code == 200 and ok.json()["text"] == "100% asli"


def test_the_city_is_resolved_once_and_the_correlation_id_reaches_the_route(client: TestClient) -> None:
    r = client.post("/cities/cimahi/notes", json={"text": "hi"}, headers={"X-Correlation-ID": "corr-123"})
    assert r.json() == {"city": "cimahi", "text": "hi", "correlation_id": "corr-123"}
    assert r.headers["x-correlation-id"] == "corr-123"
    unknown = client.post("/cities/atlantis/notes", json={"text": "hi"})
    assert unknown.status_code == 404 and unknown.json()["type"].endswith("/unknown-city")


@pytest.mark.parametrize(("kind", "status"), [("nf", 404), ("cf", 409), ("in", 422), ("fb", 403), ("tm", 429)])
def test_domain_errors_map_to_problem_statuses_in_one_place(client: TestClient, kind: str, status: int) -> None:
    r = client.get(f"/errors/{kind}")
    assert r.status_code == status and r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"].endswith(f"/code-{kind}") and body["detail"] == "Rincian. / Detail."
    assert body["attempts_left"] == 2
    assert r.headers.get("retry-after") == ("42" if kind == "tm" else None)


def test_only_a_lost_connection_is_an_outage() -> None:
    assert is_outage(ConnectionRefusedError(111, "refused"))
    assert is_outage(TimeoutError())
    assert is_outage(asyncpg.InterfaceError("cannot call Connection.fetch(): connection is closed"))
    assert is_outage(asyncpg.exceptions.CannotConnectNowError("the database system is starting up"))
    # our own bugs must surface as bugs, not as "database unavailable"
    assert not is_outage(asyncpg.InterfaceError("the server expects 3 arguments for this query, 2 were passed"))
    assert not is_outage(asyncpg.exceptions.UndefinedColumnError("column x does not exist"))
    assert not is_outage(ValueError("bad"))


secured = APIRouter()


@secured.post("/cities/{city}/secret")
async def secret(ctx: CityContext, who: Annotated[Principal, Depends(require("buyer"))]) -> dict[str, str]:
    return {}


def test_the_openapi_declares_the_problems_the_kernel_answers() -> None:
    app = ServiceKernel("unit", None, uses_database=False).http_app(router, secured)
    spec = app.openapi()
    op = spec["paths"]["/cities/{city}/secret"]["post"]
    assert op["security"] == [{"bearer": []}]
    for status in ("401", "403", "404", "409", "413", "422", "429"):
        assert "application/problem+json" in op["responses"][status]["content"], status
    public = spec["paths"]["/cities/{city}/notes"]["post"]
    assert "security" not in public and "401" not in public["responses"]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
