"""Envelope building/decoding, the event registry, and settings validation."""

from __future__ import annotations

import json
import uuid

import pytest

import shared.events  # noqa: F401
from shared.envelope import REGISTRY, DecodeError, build_event, decode
from shared.events.orders import OrderPlaced
from shared.settings import Settings


def placed() -> OrderPlaced:
    return OrderPlaced(order_id="o-1", buyer_id="b-1", market_id="m-1", subtotal=30000, total=30000,
                       fulfilment="pickup_rw_hub", rw_hub_id="rw-5",
                       lines=[{"product_id": "p-1", "vendor_id": "v-1", "quantity": 2, "unit_price": 15000}])


def test_event_carries_city_ids_and_key_by_aggregate() -> None:
    out = build_event(placed(), city="cimahi", correlation_id="corr-1")
    assert out.topic == "orders.order.v1" and out.key == "o-1"
    assert out.headers()["city"] == "cimahi" and out.headers()["event_type"] == "OrderPlaced"
    env, payload = decode(out.body())
    assert env.event_id == out.envelope.event_id and env.correlation_id == "corr-1"
    assert payload == placed()


def test_follow_up_events_inherit_correlation_and_name_their_cause() -> None:
    cause = build_event(placed(), city="tegal").envelope
    follow = build_event(placed(), city="tegal", causation=cause).envelope
    assert follow.correlation_id == cause.correlation_id
    assert follow.causation_id == str(cause.event_id)


@pytest.mark.parametrize("raw", [
    b"\xff\xfe",
    b"[]",
    json.dumps({"event_id": "nope"}).encode(),
    json.dumps({"event_id": str(uuid.uuid4()), "event_type": "OrderPlaced", "event_version": 1,
                "occurred_at": "2026-01-01T00:00:00Z", "city": "cimahi", "correlation_id": "c",
                "payload": {"order_id": "o"}}).encode(),
])
def test_undecodable_messages_raise_decode_error(raw: bytes) -> None:
    with pytest.raises(DecodeError):
        decode(raw)


def test_unknown_event_types_decode_to_envelope_only() -> None:
    raw = json.dumps({"event_id": str(uuid.uuid4()), "event_type": "SomethingNew", "event_version": 9,
                      "occurred_at": "2026-01-01T00:00:00Z", "city": "cimahi", "correlation_id": "c",
                      "payload": {}}).encode()
    env, payload = decode(raw)
    assert env.event_type == "SomethingNew" and payload is None


def test_registry_topics_follow_the_naming_rule() -> None:
    for spec in REGISTRY.values():
        if spec.topic.startswith("test."):
            continue
        service, aggregate, version = spec.topic.split(".")
        assert service in {"catalog", "orders", "payments", "learning", "identity", "notifications"}
        assert version == "v1" and aggregate


STRONG = "3f9c2a7e5b1d8c4f6a0e9b2d7c5a1f3e8b6d4c2a0f9e7d5c"


@pytest.mark.parametrize("weak", ["", "x", "a-real-secret", "CHANGE_ME_LONG_RANDOM_JWT_SECRET",
                                  "pasarkota-dev-secret-not-for-production", "a" * 64, "ab" * 16])
def test_prod_refuses_weak_secrets_naming_the_variable(weak: str) -> None:
    with pytest.raises(RuntimeError, match="PASARKOTA_CODE_SEAL_KEY") as caught:
        Settings(env="prod", service="identity", code_seal_key=weak).refuse_weak_secrets()
    assert len(weak) < 8 or weak not in str(caught.value), "the message names the variable, never the value"


def test_prod_refuses_a_weak_database_password_and_accepts_strong_secrets() -> None:
    with pytest.raises(RuntimeError, match="PASARKOTA_DATABASE_URL"):
        Settings(env="prod", database_url="postgresql://pk_orders:pk-orders-dev@db/pasarkota").refuse_weak_secrets()
    ok = Settings(env="prod", database_url=f"postgresql://pk_orders:{STRONG}@db/pasarkota")
    assert ok.refuse_weak_secrets().env == "prod"
    assert Settings(env="dev", code_seal_key="x").refuse_weak_secrets().env == "dev"  # dev keeps its easy defaults


def test_sealed_codes_open_only_under_their_key_and_context() -> None:
    from shared.sealed import SealBroken, seal, unseal

    sealed = seal("k" * 40, "123456", context="challenge-1")
    assert "123456" not in sealed
    assert unseal("k" * 40, sealed, context="challenge-1") == "123456"
    for key, context in (("k" * 40, "challenge-2"), ("j" * 40, "challenge-1")):
        with pytest.raises(SealBroken):
            unseal(key, sealed, context=context)


def test_prod_identity_refuses_a_weak_seal_key() -> None:
    with pytest.raises(RuntimeError, match="PASARKOTA_CODE_SEAL_KEY"):
        Settings(env="prod", service="identity").refuse_weak_secrets()
