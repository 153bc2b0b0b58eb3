"""The OpenAPI breaking-change rules (``deploy.service_contracts.openapi_breaks``): each rule fails on a small
document pair, and changes clients do not notice (wording, additions, a new response state) pass."""

from __future__ import annotations

import copy
import json
from typing import Any

from deploy import service_contracts as sc

OP = "POST /cities/{city}/orders"
PROBLEM = {"content": {"application/problem+json": {"schema": {"type": "object"}}}, "description": "Invalid"}
BASE: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "orders", "version": "1"},
    "paths": {"/cities/{city}/orders": {"post": {
        "operationId": "checkout",
        "summary": "Place an order",
        "parameters": [
            {"in": "path", "name": "city", "required": True, "schema": {"type": "string", "title": "City"}},
            {"in": "query", "name": "channel", "required": False,
             "schema": {"anyOf": [{"enum": ["web", "wa"], "type": "string"}, {"type": "null"}]}},
        ],
        "requestBody": {"required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CheckoutIn"}}}},
        "responses": {
            "201": {"description": "Created",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OrderOut"}}}},
            "422": PROBLEM,
        },
    }}},
    "components": {"schemas": {
        "CheckoutIn": {"type": "object", "additionalProperties": False, "required": ["market_id", "lines"],
                       "properties": {
                           "market_id": {"type": "string"},
                           "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
                           "payment": {"$ref": "#/components/schemas/PaymentMethod"},
                           "lines": {"type": "array", "items": {"$ref": "#/components/schemas/LineIn"}}}},
        "LineIn": {"type": "object", "required": ["product_id"],
                   "properties": {"product_id": {"type": "string"}, "qty": {"type": "integer"}}},
        "PaymentMethod": {"enum": ["qris", "cash"], "type": "string", "title": "PaymentMethod"},
        "OrderOut": {"type": "object", "required": ["order_id", "total", "state", "lines"], "properties": {
            "order_id": {"type": "string"},
            "total": {"type": "integer", "description": "rupiah"},
            "state": {"$ref": "#/components/schemas/OrderState"},
            "placed_at": {"type": "string", "format": "date-time"},
            "lines": {"type": "array", "items": {"$ref": "#/components/schemas/LineOut"}},
            "delivery": {"anyOf": [{"$ref": "#/components/schemas/Delivery"}, {"type": "null"}]},
            # a recursive model: the comparison must stop where it refers back to itself
            "replaces": {"anyOf": [{"$ref": "#/components/schemas/OrderOut"}, {"type": "null"}]}}},
        # a field named like a documentation keyword is still a field
        "LineOut": {"type": "object", "required": ["product_id", "qty"], "properties": {
            "product_id": {"type": "string"}, "qty": {"type": "integer"}, "title": {"type": "string"}}},
        "Delivery": {"type": "object", "required": ["fee"], "properties": {"fee": {"type": "integer"}}},
        "OrderState": {"enum": ["placed", "paid"], "type": "string"},
    }},
}


def changed() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A copy of BASE to mutate, its operation, and its component schemas."""
    doc = copy.deepcopy(BASE)
    return doc, doc["paths"]["/cities/{city}/orders"]["post"], doc["components"]["schemas"]


def breaks(new: dict[str, Any]) -> list[str]:
    return sc.openapi_breaks(BASE, new)


def test_a_response_field_that_disappears_fails() -> None:
    doc, _, schemas = changed()
    del schemas["LineOut"]["properties"]["qty"]
    del schemas["LineOut"]["properties"]["title"]
    found = breaks(doc)
    assert f"{OP}: 201 response field 'lines[].qty' was removed (clients read it)" in found
    assert f"{OP}: 201 response field 'lines[].title' was removed (clients read it)" in found


def test_a_response_field_whose_type_changes_fails() -> None:
    doc, _, schemas = changed()
    schemas["OrderOut"]["properties"]["total"] = {"type": "string"}
    schemas["OrderOut"]["properties"]["order_id"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    schemas["OrderOut"]["properties"]["placed_at"] = {"type": "string"}
    schemas["Delivery"]["properties"]["fee"] = {"type": "number"}
    schemas["LineOut"]["properties"]["qty"] = {"type": "string"}
    found = breaks(doc)
    assert f"{OP}: 201 response field 'total' changed type: integer -> string" in found
    assert f"{OP}: 201 response field 'order_id' changed type: string -> null | string" in found
    assert f"{OP}: 201 response field 'placed_at' changed type: string (date-time) -> string" in found
    # through `X | None` into a component, and through an array's items
    assert f"{OP}: 201 response field 'delivery.fee' changed type: integer -> number" in found
    assert f"{OP}: 201 response field 'lines[].qty' changed type: integer -> string" in found
    # `replaces` refers back to OrderOut, already being compared: the walk stops there, once per change
    assert not [p for p in found if "replaces" in p]
    gone = copy.deepcopy(BASE)
    gone["paths"]["/cities/{city}/orders"]["post"]["responses"]["201"]["content"]["application/json"]["schema"] = {}
    assert breaks(gone) == [f"{OP}: 201 response changed type: object -> any value"]


def test_a_response_field_no_longer_always_present_fails() -> None:
    doc, _, schemas = changed()
    schemas["OrderOut"]["required"].remove("total")
    assert breaks(doc) == [
        f"{OP}: 201 response field 'total' is no longer required (clients rely on it being present)"]


def test_a_success_status_that_disappears_fails() -> None:
    doc, operation, _ = changed()
    operation["responses"]["200"] = operation["responses"].pop("201")
    assert breaks(doc) == [f"{OP}: success status 201 is no longer answered (now 200)"]


def test_a_success_media_type_that_disappears_fails() -> None:
    doc, operation, _ = changed()
    operation["responses"]["201"]["content"] = {"text/csv": {"schema": {"type": "string"}}}
    assert breaks(doc) == [f"{OP}: the 201 response is no longer offered as application/json (now text/csv)"]


def test_a_request_field_removed_while_unknown_fields_are_rejected_fails() -> None:
    doc, _, schemas = changed()
    del schemas["CheckoutIn"]["properties"]["note"]
    assert breaks(doc) == [f"{OP}: request body field 'note' was removed and unknown fields are rejected "
                           "(clients still sending it get 422)"]
    schemas["CheckoutIn"]["additionalProperties"] = True  # now ignored when sent: no client notices
    assert breaks(doc) == []


def test_a_new_required_parameter_fails() -> None:
    doc, operation, _ = changed()
    operation["parameters"][1]["required"] = True
    operation["parameters"] += [{"in": "query", "name": "market", "required": True, "schema": {"type": "string"}},
                                {"in": "header", "name": "idempotency-key", "required": True,
                                 "schema": {"type": "string"}},
                                {"in": "query", "name": "page", "required": False, "schema": {"type": "integer"}}]
    assert breaks(doc) == [f"{OP}: query parameter 'channel' became required",
                           f"{OP}: new required query parameter 'market'",
                           f"{OP}: new required header parameter 'idempotency-key'"]


def test_a_request_enum_that_loses_a_value_fails() -> None:
    doc, operation, schemas = changed()
    schemas["PaymentMethod"]["enum"] = ["qris"]
    operation["parameters"][1]["schema"]["anyOf"][0] = {"const": "web", "type": "string"}
    assert breaks(doc) == [f"{OP}: query parameter 'channel' no longer accepts \"wa\"",
                           f"{OP}: request body field 'payment' no longer accepts \"cash\""]


def test_a_request_that_gains_a_required_field_fails_at_any_depth() -> None:
    doc, _, schemas = changed()
    schemas["LineIn"]["required"].append("qty")
    schemas["CheckoutIn"]["required"].append("payment")
    assert breaks(doc) == [f"{OP}: request body gained required field(s) ['payment']",
                           f"{OP}: request body field 'lines[]' gained required field(s) ['qty']"]


def test_changes_clients_do_not_notice_report_nothing() -> None:
    for path in sorted(sc.OPENAPI_DIR.glob("*.json")):
        committed = json.loads(path.read_text())
        assert sc.openapi_breaks(committed, committed) == [], path.name
    doc, operation, schemas = changed()
    operation["summary"] = "Check out a basket"  # wording
    operation["responses"]["201"]["description"] = "The order, placed"
    schemas["OrderOut"]["properties"]["total"]["description"] = "integer rupiah"
    schemas["OrderOut"]["title"] = "Order"
    schemas["OrderOut"]["properties"]["courier"] = {"type": "string"}  # a new optional response field
    schemas["OrderState"]["enum"] = ["placed", "cancelled"]  # a response state gained (and one lost)
    schemas["OrderOut"]["properties"]["replaces"]["anyOf"].reverse()  # ordering
    schemas["LineIn"]["properties"]["note"] = {"type": "string"}  # a new optional request field
    schemas["PaymentMethod"]["enum"].append("transfer")  # a request accepts more
    operation["responses"]["200"] = {"description": "Replayed", "content": {"application/json": {"schema": {}}}}
    operation["responses"]["201"]["content"]["text/csv"] = {"schema": {"type": "string"}}
    doc["paths"]["/cities/{city}/orders/{order_id}"] = {"get": {"operationId": "get_order", "responses": {}}}
    assert breaks(doc) == []
    # a loose object answer that becomes a precise model promises more, never less
    loose = copy.deepcopy(BASE)
    loose["components"]["schemas"]["OrderOut"] = {"type": "object", "additionalProperties": True}
    assert sc.openapi_breaks(loose, BASE) == []


def test_a_committed_response_model_that_loses_a_field_fails() -> None:
    """The rules read real pydantic/FastAPI output: a component's field removed from a committed document."""
    found = 0
    for path in sorted(sc.OPENAPI_DIR.glob("*.json")):
        old = json.loads(path.read_text())
        for name, schema in old["components"]["schemas"].items():
            if not schema.get("properties") or name in ("Problem", "ValidationError", "HTTPValidationError"):
                continue
            new = copy.deepcopy(old)
            field = next(iter(schema["properties"]))
            del new["components"]["schemas"][name]["properties"][field]
            if any("response" in p and f"'{field}' was removed" in p for p in sc.openapi_breaks(old, new)):
                found += 1
    assert found >= 10
