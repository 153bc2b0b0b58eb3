"""The HTTP kernel: problem+json errors, bearer auth with roles and city scoping, health endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import jwt
import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from shared.auth import Principal, require
from shared.problems import Problem
from shared.service import ServiceKernel
from tests.tokens import bearer, claims_for, mint

router = APIRouter()


class Checkout(BaseModel):
    market_id: str
    quantity: int = Field(gt=0)


@router.post("/cities/{city}/things")
async def create_thing(city: str, body: Checkout,
                       who: Annotated[Principal, Depends(require("buyer"))]) -> dict[str, str]:
    if body.market_id == "closed":
        raise Problem(409, "Pasar sedang tutup. / The market is closed.", code="market-closed")
    return {"city": city, "sub": who.sub}


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("secret internals")


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    kernel = ServiceKernel("unit", None, uses_database=False)
    with TestClient(kernel.http_app(router), raise_server_exceptions=False) as c:
        yield c


def token(city: str = "cimahi", roles: list[str] | None = None, **kw: str) -> dict[str, str]:
    return bearer(city, roles or ["buyer"], sub="u1", **kw)  # type: ignore[arg-type]


def test_health_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "service": "unit"}
    assert client.get("/readyz").status_code == 200
    assert "pasarkota_http_request_seconds" in client.get("/metrics").text


def test_buyer_of_the_city_may_act(client: TestClient) -> None:
    r = client.post("/cities/cimahi/things", json={"market_id": "m1", "quantity": 2}, headers=token())
    assert r.status_code == 200 and r.json() == {"city": "cimahi", "sub": "u1"}


@pytest.mark.parametrize(("headers", "status", "code"), [
    ({}, 401, "unauthenticated"),
    ({"Authorization": "Bearer not-a-jwt"}, 401, "invalid-token"),
    ({"Authorization": "Bearer " + mint("cimahi", "buyer", kid="not-published")}, 401, "invalid-token"),
    ({"Authorization": "Bearer " + jwt.encode(claims_for("cimahi", ["buyer"], sub="u"), "old-shared-secret-0123456789",
                                              algorithm="HS256")}, 401, "invalid-token"),
    (None, 403, "other-city"),
    ("vendor", 403, "forbidden-role"),
])
def test_auth_refusals_are_problems(client: TestClient, headers: object, status: int, code: str) -> None:
    if headers is None:
        headers = token(city="tegal")
    elif headers == "vendor":
        headers = token(roles=["vendor"], vendor_id="v1")
    r = client.post("/cities/cimahi/things", json={"market_id": "m1", "quantity": 1}, headers=headers)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/" + code)


def test_operator_spans_cities_but_needs_a_permitted_role(client: TestClient) -> None:
    r = client.post("/cities/cimahi/things", json={"market_id": "m1", "quantity": 1},
                    headers=token(city="tegal", roles=["operator", "buyer"]))
    assert r.status_code == 200


def test_expired_token_is_refused(client: TestClient) -> None:
    expired = mint("cimahi", "buyer", sub="u", ttl_seconds=-10)
    r = client.post("/cities/cimahi/things", json={"market_id": "m1", "quantity": 1},
                    headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and r.json()["type"].endswith("/token-expired")


def test_invalid_body_is_a_422_problem_naming_the_field(client: TestClient) -> None:
    r = client.post("/cities/cimahi/things", json={"market_id": "m1", "quantity": 0}, headers=token())
    assert r.status_code == 422
    body = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in body["errors"]] == ["quantity"]
    assert "Periksa" in body["detail"]


def test_domain_problem_and_unexpected_errors(client: TestClient) -> None:
    r = client.post("/cities/cimahi/things", json={"market_id": "closed", "quantity": 1}, headers=token())
    assert r.status_code == 409 and r.json()["detail"].startswith("Pasar sedang tutup")
    r = client.get("/boom")
    assert r.status_code == 500 and "secret internals" not in r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert client.get("/nowhere").status_code == 404


def test_correlation_id_is_echoed_or_created_and_requests_are_measured(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-Correlation-ID": "abc-123"}).headers["x-correlation-id"] == "abc-123"
    created = client.get("/healthz").headers["x-correlation-id"]
    assert len(created) == 36
    metrics = client.get("/metrics").text
    assert 'pasarkota_http_request_seconds_count{method="GET",route="/healthz",service="unit",status="200"}' in metrics


def test_database_outage_is_a_503_problem_with_retry_after() -> None:
    outage_router = APIRouter()

    @outage_router.get("/down")
    async def down() -> None:
        raise ConnectionRefusedError(111, "Connect call failed")

    kernel = ServiceKernel("unit-outage", None, uses_database=False)
    with TestClient(kernel.http_app(outage_router), raise_server_exceptions=False) as c:
        r = c.get("/down")
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert r.headers["content-type"] == "application/problem+json" and "Connect call" not in r.text
