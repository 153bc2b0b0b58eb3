"""Where the tools find a running platform and how they sign in: the only stack knowledge the commands need.

Every command talks to the services over HTTP (and, for the benchmark, Kafka and Postgres) exactly as an
outside client would; nothing here imports a service's internals.
"""

from __future__ import annotations

import os
from typing import Any

from deploy.local.errors import RuntimeProblem


def service_url(name: str) -> str:
    """``PASARKOTA_<NAME>_URL``, else the URL the running stack recorded, else the stack's default port."""
    from deploy import stack

    if os.environ.get(f"PASARKOTA_{name.upper()}_URL"):
        return os.environ[f"PASARKOTA_{name.upper()}_URL"].rstrip("/")
    recorded = stack.read_state().get("services", {}).get(name, {}).get("url")
    if recorded:
        return str(recorded).rstrip("/")
    return next(s.url for s in stack.SERVICES if s.name == name)


def service_urls() -> dict[str, str]:
    from deploy import stack

    return {s.name: service_url(s.name) for s in stack.SERVICES}


def stack_endpoints() -> tuple[str, str]:
    """Kafka bootstrap and the Postgres admin URL of the running stack (or of the environment's servers)."""
    from deploy import stack

    state = stack.read_state()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or state.get("kafka", {}).get("bootstrap")
    admin_url = os.environ.get("DATABASE_URL") or state.get("postgres", {}).get("admin_url")
    if not bootstrap or not admin_url:
        raise RuntimeProblem("no running stack found: start one with `pasarkota up --detach` (same PASARKOTA_HOME)")
    return bootstrap, admin_url


def dev_token(city: str, *, roles: list[str], sub: str, identity_url: str | None = None,
              vendor_id: str | None = None, market_id: str | None = None, ttl_seconds: int | None = None) -> str:
    """A development token, asked from the identity service (the only one that signs); refused in production."""
    import httpx

    url = (identity_url or service_url("identity")).rstrip("/") + f"/cities/{city}/dev/tokens"
    body: dict[str, Any] = {"sub": sub, "roles": roles, "vendor_id": vendor_id, "market_id": market_id}
    if ttl_seconds:
        body["ttl_seconds"] = ttl_seconds
    try:
        response = httpx.post(url, json=body, timeout=10)
    except httpx.HTTPError as exc:
        raise RuntimeProblem(f"identity is not reachable at {url}: {exc} (is the stack up?)") from None
    if response.status_code != 200:
        detail = response.json().get("detail", response.text) if response.headers.get("content-type", "").endswith(
            "json") else response.text
        raise RuntimeProblem(f"identity refused a development token ({response.status_code}): {detail}")
    return str(response.json()["access_token"])


def bearer(city: str, *, roles: list[str], sub: str, identity_url: str | None = None, **claims: Any) -> dict[str, str]:
    """An ``Authorization`` header with a development token from identity."""
    return {"Authorization": f"Bearer {dev_token(city, roles=roles, sub=sub, identity_url=identity_url, **claims)}"}


def webhook_secret(city: str) -> str:
    """The acquirer webhook secret of a city, by the deployment's convention (docs/configuration.md):
    ``PASARKOTA_CITY_<SLUG>_WEBHOOK_SECRET``, the development default otherwise. Read from the environment as
    the payments service does, so the tools do not depend on how payments models its city settings."""
    return os.environ.get(f"PASARKOTA_CITY_{city.upper()}_WEBHOOK_SECRET", f"dev-webhook-secret-{city}")


def city_slugs() -> list[str]:
    """The cities of this deployment (the city directory, shared.cities)."""
    from shared.cities import all_cities

    return sorted(all_cities())
