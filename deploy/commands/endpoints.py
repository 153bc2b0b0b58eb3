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


def jwt_secret() -> str:
    from deploy import stack

    return stack.jwt_secret()


def bearer(city: str, *, roles: list[str], sub: str, secret: str | None = None, **claims: Any) -> dict[str, str]:
    """An ``Authorization`` header with a development token signed with the stack's secret."""
    from shared.auth import mint_token

    token = mint_token(secret or jwt_secret(), sub=sub, city=city, roles=roles, **claims)
    return {"Authorization": f"Bearer {token}"}


def webhook_secret(city: str) -> str:
    """The acquirer webhook secret of a city, by the deployment's convention (docs/configuration.md):
    ``PASARKOTA_CITY_<SLUG>_WEBHOOK_SECRET``, the development default otherwise. Read from the environment as
    the payments service does, so the tools do not depend on how payments models its city settings."""
    return os.environ.get(f"PASARKOTA_CITY_{city.upper()}_WEBHOOK_SECRET", f"dev-webhook-secret-{city}")


def city_slugs() -> list[str]:
    """The cities of this deployment (the city directory, shared.cities)."""
    from shared.cities import all_cities

    return sorted(all_cities())
