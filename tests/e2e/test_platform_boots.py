"""Every service starts as its own process on the real Kafka and Postgres, migrates, and is ready."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Platform

pytestmark = pytest.mark.integration


def test_every_service_is_ready_with_its_checks(platform: Platform) -> None:
    for name in ("catalog", "orders", "payments", "learning", "identity", "notifications"):
        body = httpx.get(platform.url(name) + "/readyz").json()
        assert {k: body[k] for k in ("ready", "service", "checks")} == {
            "ready": True, "service": name, "checks": {"postgres": True, "kafka": True, "outbox_relay": True}}
        assert body["consumers"] and all(c["lag"] >= 0 for c in body["consumers"].values())
        assert "pasarkota_outbox_lag_events" in httpx.get(platform.url(name) + "/metrics").text
        assert httpx.get(platform.url(name) + "/openapi.json").status_code == 200
    assert httpx.get(platform.url("portal") + "/").status_code == 200
