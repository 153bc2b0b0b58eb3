"""Committed event contracts: fresh, and never broken within a version."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

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
    assert any("lines[].field 'quantity' changed type" in p for p in breaking_changes(old, nested))

    nested_optional = copy.deepcopy(old)
    nested_optional["$defs"]["OrderLine"]["properties"]["unit_note"] = {"type": "string", "default": ""}
    assert breaking_changes(old, nested_optional) == []

    moved = copy.deepcopy(old)
    moved["x-topic"] = "orders.checkout.v1"
    assert any("moved to another topic" in p for p in breaking_changes(old, moved))

    rekeyed = copy.deepcopy(old)
    rekeyed["x-key"] = "buyer_id"
    assert any("changed its message key" in p for p in breaking_changes(old, rekeyed))

    closed = copy.deepcopy(old)
    closed["additionalProperties"] = False
    assert any("no longer accepted" in p for p in breaking_changes(old, closed))


def test_schemas_compare_by_meaning_not_by_spelling() -> None:
    """What a pydantic upgrade may change without changing the wire: docs, alternative order, inlined refs."""
    old = current_schemas()["OrderPlaced.v1.json"]
    respelled = copy.deepcopy(old)
    for schema in respelled["properties"].values():
        schema.pop("title", None)
        if "anyOf" in schema:
            schema["anyOf"].reverse()
    line = respelled["$defs"]["OrderLine"]
    for prop in respelled["properties"].values():
        if prop.get("items", {}).get("$ref") == "#/$defs/OrderLine":
            prop["items"] = copy.deepcopy(line)  # inlined instead of referenced
    assert breaking_changes(old, respelled) == []


def test_every_contract_names_its_topic_key_and_openness() -> None:
    for name, schema in current_schemas().items():
        if name == "Envelope.json":
            continue
        assert schema["x-topic"] and schema["x-key"] in schema["properties"], name
        assert schema["additionalProperties"] is True, name


def test_a_field_named_like_a_doc_keyword_is_compared() -> None:
    """Docs are dropped by key, but ``properties.title`` is a field (here inside an ``X | None``), not a title."""
    old = {"type": "object", "properties": {"course": {"anyOf": [{"$ref": "#/$defs/Course"}, {"type": "null"}]}},
           "$defs": {"Course": {"type": "object", "title": "Course",
                                "properties": {"title": {"type": "string", "title": "Title"}}}}}
    retitled = copy.deepcopy(old)
    retitled["$defs"]["Course"]["properties"]["title"] = {"type": "integer"}
    assert any("'course' changed type" in p for p in breaking_changes(old, retitled))
    assert breaking_changes(old, copy.deepcopy(old)) == []


def test_a_committed_event_version_the_code_no_longer_has_fails(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Deleting an event version (its model and registration) while its contract is committed fails the check:
    producers and consumers written against it would lose it."""
    from shared import contracts

    for path in contracts.EVENTS_DIR.glob("*.json"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "OrderPaid.v9.json").write_text(json.dumps({"title": "OrderPaid", "type": "object"}))
    monkeypatch.setattr(contracts, "EVENTS_DIR", tmp_path)
    monkeypatch.setattr(contracts, "_history", lambda _path: [])  # the copies have no git history
    assert check() == ["OrderPaid.v9.json: committed contract has no event in the code (removed event version)"]


def test_a_committed_event_schema_that_drifted_from_the_code_fails(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from shared import contracts

    for path in contracts.EVENTS_DIR.glob("*.json"):
        shutil.copy(path, tmp_path / path.name)
    drifted = json.loads((tmp_path / "OrderPaid.v1.json").read_text())
    drifted["description"] = "edited by hand"
    (tmp_path / "OrderPaid.v1.json").write_text(json.dumps(drifted))
    monkeypatch.setattr(contracts, "EVENTS_DIR", tmp_path)
    monkeypatch.setattr(contracts, "_history", lambda _path: [])
    assert check() == ["OrderPaid.v1.json: differs from the code; run `pasarkota contracts export` and commit"]
