"""Per-service contracts (consumers, AsyncAPI, OpenAPI): fresh, and each breaking-change rule fails."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from deploy import service_contracts as sc


def test_committed_service_contracts_match_the_code() -> None:
    assert sc.check() == []


def test_a_consumer_keeps_its_event_versions() -> None:
    committed = json.loads(sc.CONSUMERS_FILE.read_text())
    assert sc.consumer_breaks(committed) == []
    gone = copy.deepcopy(committed)
    gone["orders"]["orders.saga"]["events"].append("PaymentSucceeded.v7")
    assert any("PaymentSucceeded.v7, which is no longer registered" in p for p in sc.consumer_breaks(gone))
    moved = copy.deepcopy(committed)
    moved["orders"]["orders.saga"]["topics"].remove("payments.payment.v1")
    assert any("is on payments.payment.v1" in p for p in sc.consumer_breaks(moved))


def test_an_operation_may_not_disappear_nor_a_request_gain_a_required_field() -> None:
    old = json.loads((sc.OPENAPI_DIR / "orders.json").read_text())
    assert sc.openapi_breaks(old, old) == []
    removed = copy.deepcopy(old)
    path = next(p for p, item in removed["paths"].items() if "post" in item)
    del removed["paths"][path]["post"]
    assert any(f"POST {path} was removed" in p for p in sc.openapi_breaks(old, removed))
    stricter = copy.deepcopy(old)
    target = next((p, m) for p, item in stricter["paths"].items() for m, op in item.items()
                  if isinstance(op, dict) and op.get("requestBody"))
    schema = sc._request_schema(stricter, stricter["paths"][target[0]][target[1]])
    schema.setdefault("required", []).append("brand_new_field")
    assert any("gained required field(s) ['brand_new_field']" in p for p in sc.openapi_breaks(old, stricter))
    renamed = copy.deepcopy(old)
    renamed["paths"]["/cities/{city}/orders"]["post"]["operationId"] = "checkout_v2"
    assert any("operationId 'checkout' became 'checkout_v2'" in p for p in sc.openapi_breaks(old, renamed))


def test_operation_ids_are_the_route_names_and_unique_per_service() -> None:
    for path in sorted(sc.OPENAPI_DIR.glob("*.json")):
        doc = json.loads(path.read_text())
        ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
        assert len(ids) == len(set(ids)), path.name
        assert not [i for i in ids if i.endswith(("_get", "_post", "_put", "_patch", "_delete"))], path.name


def test_every_service_documents_what_it_sends_and_receives() -> None:
    consumers = sc.consumer_map()
    orders = sc.asyncapi("orders", consumers["orders"])
    assert orders["asyncapi"] == "3.0.0"
    assert orders["channels"]["orders_order_v1"]["bindings"]["kafka"]["partitions"] == 12
    assert orders["operations"]["send_orders_order_v1"]["action"] == "send"
    assert "orders.saga" in orders["operations"]["receive_payments_payment_v1"]["summary"]
    assert "payments_payment_v1_dlq" in orders["channels"]


def test_a_topic_keeps_its_partitions_retention_and_compaction() -> None:
    committed = json.loads(sc.TOPIC_PLAN_FILE.read_text())
    assert sc.topic_plan_breaks(committed, sc.topic_plan()) == []
    state = next(t for t, v in committed.items() if v["cleanup_policy"] == "compact")
    stream = next(t for t, v in committed.items() if v["cleanup_policy"] == "delete")

    def changed(topic: str, **values: object) -> dict[str, dict[str, object]]:
        plan = copy.deepcopy(committed)
        plan[topic].update(values)
        return plan

    gone = copy.deepcopy(committed)
    del gone[stream]
    assert any(f"topic {stream} was removed" in p for p in sc.topic_plan_breaks(committed, gone))
    fewer = changed(stream, partitions=committed[stream]["partitions"] - 1)
    assert any("cannot shrink" in p for p in sc.topic_plan_breaks(committed, fewer))
    shorter = changed(stream, retention_hours=committed[stream]["retention_hours"] - 1)
    assert any(f"topic {stream}: retention" in p for p in sc.topic_plan_breaks(committed, shorter))
    uncompacted = changed(state, cleanup_policy="delete")
    assert any(f"topic {state} is no longer compacted" in p for p in sc.topic_plan_breaks(committed, uncompacted))
    # what never breaks anyone: more partitions, longer retention, a new topic
    grown = changed(stream, partitions=committed[stream]["partitions"] + 4,
                    retention_hours=committed[stream]["retention_hours"] * 2)
    grown["orders.new-thing.v1"] = {"partitions": 3, "retention_hours": 1, "cleanup_policy": "delete"}
    assert sc.topic_plan_breaks(committed, grown) == []


def test_a_committed_document_that_drifted_from_the_code_fails(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(sc.CONTRACTS, tmp_path / "contracts")
    contracts = tmp_path / "contracts"
    for name, value in (("REPO", tmp_path), ("CONTRACTS", contracts), ("ASYNCAPI_DIR", contracts / "asyncapi"),
                        ("OPENAPI_DIR", contracts / "openapi"), ("CONSUMERS_FILE", contracts / "consumers.json"),
                        ("TOPIC_PLAN_FILE", contracts / "topic-plan.json")):
        monkeypatch.setattr(sc, name, value)
    for doc_path in (contracts / "openapi" / "orders.json", contracts / "asyncapi" / "payments.json"):
        doc = json.loads(doc_path.read_text())
        doc["info"]["description"] = "edited by hand"
        doc_path.write_text(json.dumps(doc))
    problems = sc.check()
    assert "contracts/openapi/orders.json: differs from the code; run `pasarkota contracts export` and commit" \
        in problems
    assert "contracts/asyncapi/payments.json: differs from the code; run `pasarkota contracts export` and commit" \
        in problems
