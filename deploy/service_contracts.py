"""Per-service contracts, read off the services themselves: what each consumer group receives, an AsyncAPI 3
document of each service's channels and operations, and each service's OpenAPI document.

Written under ``contracts/`` by ``pasarkota contracts export`` and compared by ``pasarkota contracts check``
(freshness, and the breaking-change rules below), beside the event schemas of ``shared.contracts``.
This is tool code (``deploy/``): it imports the service apps to read their declarations, never the other way.

Rules checked against the committed files:

* a consumer group that handled an event version must still find it registered (else its messages would be
  skipped — the producer must keep publishing it until no consumer needs it);
* an HTTP operation may not disappear, change its operationId, or have its request body gain a required field.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from shared.bus import DLQ_SUFFIX
from shared.envelope import REGISTRY, Envelope

REPO = Path(__file__).resolve().parent.parent
CONTRACTS = REPO / "contracts"
ASYNCAPI_DIR = CONTRACTS / "asyncapi"
OPENAPI_DIR = CONTRACTS / "openapi"
CONSUMERS_FILE = CONTRACTS / "consumers.json"
# the portal serves HTML pages, not an API
API_SERVICES = ("catalog", "orders", "payments", "learning", "identity", "notifications")


def _services() -> tuple[str, ...]:
    from deploy.provision import DATA_SERVICES

    return tuple(DATA_SERVICES)


def service_app(name: str) -> Any:
    return importlib.import_module(f"{name}.app").app


def consumer_map() -> dict[str, dict[str, dict[str, list[str]]]]:
    """service → consumer group → {"topics": [...], "events": ["Type.vN", ...]}."""
    out: dict[str, dict[str, dict[str, list[str]]]] = {}
    for name in _services():
        bus = service_app(name).state.kernel.bus
        out[name] = {c.group_id: {"topics": sorted(c.topics), "events": [f"{t}.v{v}" for t, v in c.handled()]}
                     for c in bus.consumers}
        # a projection rebuild reads its compacted topics from offset 0 (no group): a receiver like any other
        out[name].update({f"{name}.rebuild.{r.name}": {"topics": sorted(r.topics),
                                                       "events": [f"{t}.v{v}" for t, v in sorted(r.handlers)]}
                          for r in bus.rebuilds.values()})
    return out


def _topic_partitions() -> dict[str, int]:
    from deploy.provision import load_topic_plan

    return {t.name: t.partitions for t in load_topic_plan()}


def asyncapi(service: str, consumers: dict[str, dict[str, list[str]]]) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of one service: the topics it sends to and receives from."""
    partitions = _topic_partitions()
    sent = sorted((s for s in REGISTRY.values() if s.model.__module__.startswith("shared.events")
                   and s.topic.split(".")[0] == service), key=lambda s: s.name)
    received: dict[str, set[str]] = {}
    for group in consumers.values():
        for event_name in group["events"]:
            event_type, version = event_name.rsplit(".v", 1)
            spec = REGISTRY[(event_type, int(version))]
            received.setdefault(spec.topic, set()).add(spec.name)
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}

    def channel_id(topic: str) -> str:
        return topic.replace(".", "_")

    def add_message(spec: Any) -> str:
        schema = spec.model.model_json_schema(ref_template="#/components/schemas/{model}")
        for def_name, definition in schema.pop("$defs", {}).items():
            messages.setdefault("__schemas__", {})[def_name] = definition
        message_id = spec.name.replace(".", "_")
        messages[message_id] = {
            "name": spec.event_type, "title": f"{spec.event_type} v{spec.version}",
            "contentType": "application/json",
            "headers": {"type": "object", "properties": {
                "event_type": {"type": "string", "const": spec.event_type},
                "event_version": {"type": "string", "const": str(spec.version)},
                "city": {"type": "string"}, "event_id": {"type": "string"},
                "correlation_id": {"type": "string"}}},
            "payload": {"allOf": [{"$ref": "#/components/schemas/Envelope"},
                                  {"type": "object", "properties": {"payload": schema}}]},
            "bindings": {"kafka": {"key": {"type": "string", "description": f"the event's {spec.key_field}"},
                                   "bindingVersion": "0.5.0"}},
        }
        return message_id

    def add_channel(topic: str, specs: list[Any], description: str) -> None:
        cid = channel_id(topic)
        channel = channels.setdefault(cid, {"address": topic, "description": description, "messages": {},
                                            "bindings": {"kafka": {"topic": topic,
                                                                   "partitions": partitions.get(topic, 1),
                                                                   "bindingVersion": "0.5.0"}}})
        for spec in specs:
            mid = add_message(spec)
            channel["messages"][mid] = {"$ref": f"#/components/messages/{mid}"}

    by_topic: dict[str, list[Any]] = {}
    for spec in sent:
        by_topic.setdefault(spec.topic, []).append(spec)
    for topic, specs in sorted(by_topic.items()):
        add_channel(topic, specs, f"events {service} publishes (through its outbox), keyed by aggregate id")
        operations[f"send_{channel_id(topic)}"] = {
            "action": "send", "channel": {"$ref": f"#/channels/{channel_id(topic)}"},
            "messages": [{"$ref": f"#/channels/{channel_id(topic)}/messages/{s.name.replace('.', '_')}"}
                         for s in specs]}
    for topic, names in sorted(received.items()):
        specs = [s for s in REGISTRY.values() if s.name in names]
        specs.sort(key=lambda s: s.name)
        add_channel(topic, specs, "events this service consumes")
        groups = sorted(g for g, c in consumers.items() if any(n in c["events"] for n in names))
        operations[f"receive_{channel_id(topic)}"] = {
            "action": "receive", "channel": {"$ref": f"#/channels/{channel_id(topic)}"},
            "summary": "consumer group(s) " + ", ".join(groups),
            "bindings": {"kafka": {"groupId": {"type": "string", "enum": groups}, "bindingVersion": "0.5.0"}},
            "messages": [{"$ref": f"#/channels/{channel_id(topic)}/messages/{s.name.replace('.', '_')}"}
                         for s in specs]}
        dlq = topic + DLQ_SUFFIX
        if dlq in partitions:
            channels[channel_id(dlq)] = {
                "address": dlq, "description": f"messages of {topic} a consumer could not process: the original "
                                              "key, body and headers plus x-dlq-* headers (error, source offset)",
                "messages": {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
                "bindings": {"kafka": {"topic": dlq, "partitions": partitions[dlq], "bindingVersion": "0.5.0"}}}
            operations[f"send_{channel_id(dlq)}"] = {
                "action": "send", "channel": {"$ref": f"#/channels/{channel_id(dlq)}"},
                "messages": [{"$ref": f"#/channels/{channel_id(dlq)}/messages/DeadLetter"}]}
    schemas = messages.pop("__schemas__", {})
    schemas["Envelope"] = Envelope.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schemas["Envelope"].pop("$defs", {}))
    messages["DeadLetter"] = {
        "name": "DeadLetter", "contentType": "application/octet-stream",
        "headers": {"type": "object", "properties": {h: {"type": "string"} for h in (
            "x-dlq-consumer", "x-dlq-source-topic", "x-dlq-source-partition", "x-dlq-source-offset",
            "x-dlq-error-type", "x-dlq-error", "x-dlq-attempts", "x-dlq-failed-at", "x-dlq-body-ref")}},
        "payload": {"type": "string", "description": "the original bytes (a 16 KiB prefix when x-dlq-body-ref is set)"}}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": f"PasarKota {service} events", "version": "1.0.0",
                 "description": "Generated by `pasarkota contracts export` from the event registry and the "
                                "service's consumers. Every message is an Envelope whose payload is the event."},
        "defaultContentType": "application/json",
        "channels": dict(sorted(channels.items())),
        "operations": dict(sorted(operations.items())),
        "components": {"messages": dict(sorted(messages.items())), "schemas": dict(sorted(schemas.items()))},
    }


def openapi(service: str) -> dict[str, Any]:
    doc: dict[str, Any] = service_app(service).openapi()
    return doc


def _render(doc: Any) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def documents() -> dict[Path, Any]:
    consumers = consumer_map()
    docs: dict[Path, Any] = {CONSUMERS_FILE: consumers}
    for service in _services():
        docs[ASYNCAPI_DIR / f"{service}.json"] = asyncapi(service, consumers[service])
    for service in API_SERVICES:
        docs[OPENAPI_DIR / f"{service}.json"] = openapi(service)
    return docs


def export() -> list[Path]:
    written = []
    for path, doc in documents().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_render(doc))
        written.append(path)
    return written


def check() -> list[str]:
    problems: list[str] = []
    docs = documents()
    for path, doc in docs.items():
        rel = path.relative_to(REPO)
        if not path.exists():
            problems.append(f"{rel}: not exported; run `pasarkota contracts export` and commit")
            continue
        committed = json.loads(path.read_text())
        if _render(committed) != _render(doc):
            problems.append(f"{rel}: differs from the code; run `pasarkota contracts export` and commit")
        if path == CONSUMERS_FILE:
            problems.extend(consumer_breaks(committed))
        elif path.parent == OPENAPI_DIR:
            problems.extend(f"{rel}: {p}" for p in openapi_breaks(committed, doc))
    for folder, names in ((ASYNCAPI_DIR, _services()), (OPENAPI_DIR, API_SERVICES)):
        for path in sorted(folder.glob("*.json")):
            if path.stem not in names:
                problems.append(f"{path.relative_to(REPO)}: committed document of a service that does not exist")
    return problems


def consumer_breaks(committed: dict[str, dict[str, dict[str, list[str]]]]) -> list[str]:
    """Event versions a committed consumer handles that are no longer registered, or not on its topics."""
    problems = []
    registered = {spec.name: spec for spec in REGISTRY.values()}
    for service, groups in committed.items():
        for group, entry in groups.items():
            for name in entry.get("events", []):
                spec = registered.get(name)
                if spec is None:
                    problems.append(f"consumers.json: {group} ({service}) handles {name}, which is no longer "
                                    "registered: keep publishing it until no consumer needs it")
                elif spec.topic not in entry.get("topics", []):
                    problems.append(f"consumers.json: {group} ({service}) handles {name} but reads "
                                    f"{entry.get('topics')} and {name} is on {spec.topic}")
    return problems


def openapi_breaks(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Removed operations, renamed operation ids, and request bodies that gained a required field."""
    problems = []
    methods = ("get", "post", "put", "patch", "delete")
    for path, item in old.get("paths", {}).items():
        for method in methods:
            if method not in item:
                continue
            now = new.get("paths", {}).get(path, {}).get(method)
            if now is None:
                problems.append(f"operation {method.upper()} {path} was removed")
                continue
            if item[method].get("operationId") and now.get("operationId") != item[method]["operationId"]:
                problems.append(f"{method.upper()} {path}: operationId {item[method]['operationId']!r} became "
                                f"{now.get('operationId')!r} (generated clients would lose the method)")
            before, after = _request_schema(old, item[method]), _request_schema(new, now)
            added = set(after.get("required", [])) - set(before.get("required", []))
            if before and added:
                problems.append(f"{method.upper()} {path}: request body gained required field(s) {sorted(added)}")
    return problems


def _request_schema(doc: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = operation.get("requestBody", {}).get("content", {})
    first: dict[str, Any] = next(iter(content.values()), {}) if content else {}
    schema: Any = first.get("schema", {})
    ref = schema.get("$ref", "") if isinstance(schema, dict) else ""
    if ref.startswith("#/components/schemas/"):
        schema = doc.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[1], {})
    return schema if isinstance(schema, dict) else {}
