"""Committed event contracts: fresh, and never broken within a version."""

from __future__ import annotations

import copy

from shared.contracts import breaking_changes, check, current_schemas


def test_committed_contracts_match_the_code_and_history() -> None:
    assert check() == []


def test_compatibility_check_catches_each_kind_of_break() -> None:
    old = current_schemas()["OrderPlaced.v1.json"]

    added_optional = copy.deepcopy(old)
    added_optional["properties"]["note"] = {"type": "string", "default": ""}
    assert breaking_changes(old, added_optional) == []

    removed = copy.deepcopy(old)
    del removed["properties"]["buyer_id"]
    assert any("'buyer_id' was removed" in p for p in breaking_changes(old, removed))

    retyped = copy.deepcopy(old)
    retyped["properties"]["total"] = {"type": "string"}
    assert any("'total' changed type" in p for p in breaking_changes(old, retyped))

    new_required = copy.deepcopy(old)
    new_required["properties"]["channel"] = {"type": "string"}
    new_required["required"].append("channel")
    assert any("new required field 'channel'" in p for p in breaking_changes(old, new_required))

    nested = copy.deepcopy(old)
    nested["$defs"]["OrderLine"]["properties"]["quantity"] = {"type": "number"}
    assert any("OrderLine.field 'quantity' changed type" in p for p in breaking_changes(old, nested))
