"""Per-service contracts, read off the services themselves: what each consumer group receives, an AsyncAPI 3
document of each service's channels and operations, and each service's OpenAPI document.

Written under ``contracts/`` by ``pasarkota contracts export`` and compared by ``pasarkota contracts check``
(freshness, and the breaking-change rules below), beside the event schemas of ``shared.contracts``.
This is tool code (``deploy/``): it imports the service apps to read their declarations, never the other way.

Rules checked against the committed files:

* a consumer group that handled an event version must still find it registered (else its messages would be
  skipped — the producer must keep publishing it until no consumer needs it);
* an HTTP operation keeps working for the clients written against it (the rules: ``openapi_breaks``);
* a topic keeps what consumers and rebuilds rely on (``topic_plan_breaks``): it is not dropped from the plan, does
  not lose partitions (Kafka cannot shrink a topic, and keys would move), keeps its records at least as long as
  before, and a compacted (state) topic stays compacted — a projection rebuilt from offset 0 needs all of it.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from shared.bus import DLQ_SUFFIX
from shared.contracts import schema_by_meaning
from shared.envelope import REGISTRY, Envelope

REPO = Path(__file__).resolve().parent.parent
CONTRACTS = REPO / "contracts"
ASYNCAPI_DIR = CONTRACTS / "asyncapi"
OPENAPI_DIR = CONTRACTS / "openapi"
CONSUMERS_FILE = CONTRACTS / "consumers.json"
TOPIC_PLAN_FILE = CONTRACTS / "topic-plan.json"
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


def topic_plan() -> dict[str, dict[str, Any]]:
    """The topic plan (``deploy/topics.toml``) as a contract: partitions, retention and cleanup policy per topic."""
    from deploy.provision import load_topic_plan

    return {t.name: {"partitions": t.partitions, "retention_hours": t.retention_hours,
                     "cleanup_policy": t.cleanup_policy} for t in sorted(load_topic_plan(), key=lambda t: t.name)}


def topic_plan_breaks(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> list[str]:
    """Topics of the committed plan that vanished, lost partitions, keep records for less time, or stopped being
    compacted."""
    problems = []
    for name, was in old.items():
        now = new.get(name)
        if now is None:
            problems.append(f"topic {name} was removed from the plan (its consumers and DLQ readers would lose it)")
            continue
        if now["partitions"] < was["partitions"]:
            problems.append(f"topic {name}: partitions {was['partitions']} -> {now['partitions']} (Kafka cannot "
                            "shrink a topic; keys would map to other partitions)")
        if was["cleanup_policy"] == "compact" and now["cleanup_policy"] != "compact":
            problems.append(f"topic {name} is no longer compacted (projections rebuilt from offset 0 would miss "
                            "state older than its retention)")
        elif was["cleanup_policy"] == "delete" and now["cleanup_policy"] == "delete" \
                and now["retention_hours"] < was["retention_hours"]:
            problems.append(f"topic {name}: retention {was['retention_hours']} h -> {now['retention_hours']} h "
                            "(consumers and replays counting on it would find records gone)")
    return problems


def documents() -> dict[Path, Any]:
    consumers = consumer_map()
    docs: dict[Path, Any] = {CONSUMERS_FILE: consumers, TOPIC_PLAN_FILE: topic_plan()}
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
        elif path == TOPIC_PLAN_FILE:
            problems.extend(f"{rel}: {p}" for p in topic_plan_breaks(committed, doc))
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


_METHODS = ("get", "post", "put", "patch", "delete")
_COMPONENTS = "#/components/schemas/"
_MAX_DEPTH = 32  # levels of nesting compared inside one body; a body nested deeper is not looked at further


def openapi_breaks(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What would break a client written against ``old`` if the service now answered as ``new`` documents.

    Schemas are compared by meaning (``shared.contracts.schema_by_meaning``: ``$ref``s into the components
    inlined, ``anyOf``/``oneOf`` as sets, titles, descriptions, defaults and examples dropped), so wording and
    ordering never count. Nested objects, arrays' items, maps' values and ``X | None`` are followed down to
    ``_MAX_DEPTH`` levels; a recursive model stops where it refers back to itself. A union of several models is
    compared by the kinds of value it admits only.

    Breaking:

    * an operation removed, or its operationId changed (generated clients would lose the method);
    * a new required parameter (query, header, path), or an optional one that became required;
    * a request body, or an object inside it, that gained a required field;
    * a request field removed while the schema forbids unknown fields (clients still sending it get 422);
    * a request enum (a body field's or a parameter's) that no longer accepts a value;
    * a 2xx status code no longer answered (200 became 201), or a 2xx media type no longer offered;
    * a 2xx response field removed, or no longer required (clients read it, and rely on it being present);
    * a 2xx response field whose type now admits values the old one did not (``int`` -> ``str``,
      ``str`` -> ``str | None``, a date-time that became any string). Narrowing (``str | None`` -> ``str``) is
      safe for readers.

    Not breaking, by choice: a response enum or Literal that gains a value (clients must tolerate new states, as
    event consumers do) or loses one; new operations, status codes, media types, and new optional fields in
    requests or responses. A request field's type change other than a lost enum value is not compared.
    """
    problems: list[str] = []
    for path, item in old.get("paths", {}).items():
        for method in _METHODS:
            if method not in item:
                continue
            new_item = new.get("paths", {}).get(path, {})
            before, now = item[method], new_item.get(method)
            op = f"{method.upper()} {path}"
            if now is None:
                problems.append(f"operation {op} was removed")
                continue
            if before.get("operationId") and now.get("operationId") != before["operationId"]:
                problems.append(f"{op}: operationId {before['operationId']!r} became "
                                f"{now.get('operationId')!r} (generated clients would lose the method)")
            _parameter_breaks(op, old, _parameters(old, item, before), new, _parameters(new, new_item, now),
                              problems)
            before_body = _request_schema(old, before)
            if before_body:
                _request_breaks(f"{op}: request body", _meaning(old, before_body),
                                _meaning(new, _request_schema(new, now)), problems)
            _response_breaks(op, old, before, new, now, problems)
    return problems


def _request_schema(doc: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = operation.get("requestBody", {}).get("content", {})
    first: dict[str, Any] = next(iter(content.values()), {}) if content else {}
    schema: Any = first.get("schema", {})
    ref = schema.get("$ref", "") if isinstance(schema, dict) else ""
    if ref.startswith(_COMPONENTS):
        schema = doc.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[1], {})
    return schema if isinstance(schema, dict) else {}


def _meaning(doc: dict[str, Any], schema: Any) -> Any:
    return schema_by_meaning(schema, doc.get("components", {}).get("schemas", {}), _COMPONENTS)


def _parameters(doc: dict[str, Any], item: dict[str, Any], operation: dict[str, Any]) -> dict[tuple[str, str], Any]:
    """(in, name) → parameter: the path item's, overridden by the operation's; ``$ref``s resolved."""
    out: dict[tuple[str, str], Any] = {}
    for param in [*item.get("parameters", []), *operation.get("parameters", [])]:
        if isinstance(param.get("$ref"), str):
            param = doc.get("components", {}).get("parameters", {}).get(param["$ref"].rsplit("/", 1)[1], {})
        out[(param.get("in", ""), param.get("name", ""))] = param
    return out


def _parameter_breaks(op: str, old_doc: dict[str, Any], before: dict[tuple[str, str], Any],
                      new_doc: dict[str, Any], after: dict[tuple[str, str], Any], problems: list[str]) -> None:
    for (where, name), param in after.items():
        was = before.get((where, name))
        if not param.get("required"):
            continue
        if was is None:
            problems.append(f"{op}: new required {where} parameter '{name}'")
        elif not was.get("required"):
            problems.append(f"{op}: {where} parameter '{name}' became required")
    for (where, name), param in before.items():
        if (where, name) in after:
            _request_breaks(f"{op}: {where} parameter '{name}'", _meaning(old_doc, param.get("schema", {})),
                            _meaning(new_doc, after[(where, name)].get("schema", {})), problems)


def _response_breaks(op: str, old_doc: dict[str, Any], before: dict[str, Any], new_doc: dict[str, Any],
                     now: dict[str, Any], problems: list[str]) -> None:
    def successes(operation: dict[str, Any]) -> dict[str, Any]:
        return {str(c): r for c, r in operation.get("responses", {}).items() if str(c).startswith("2")}

    old_responses, new_responses = successes(before), successes(now)
    for code, response in old_responses.items():
        if code not in new_responses:
            problems.append(f"{op}: success status {code} is no longer answered "
                            f"(now {', '.join(sorted(new_responses)) or 'none'})")
            continue
        old_content, new_content = response.get("content", {}), new_responses[code].get("content", {})
        for media, body in old_content.items():
            if media not in new_content:
                problems.append(f"{op}: the {code} response is no longer offered as {media} "
                                f"(now {', '.join(sorted(new_content)) or 'no body'})")
                continue
            _read_breaks(f"{op}: {code} response", _meaning(old_doc, body.get("schema", {})),
                         _meaning(new_doc, new_content[media].get("schema", {})), problems)


def _subject(prefix: str, field: str) -> str:
    return f"{prefix} field '{field}'" if field else prefix


def _alternatives(node: Any) -> list[Any]:
    if not isinstance(node, dict):
        return [{}]
    alternatives = node.get("anyOf") or node.get("oneOf")
    return alternatives if isinstance(alternatives, list) else [node]


def _single(node: Any, kind: str) -> dict[str, Any] | None:
    """The one alternative besides null, when it is of ``kind`` (``object`` or ``array``)."""
    rest = [a for a in _alternatives(node) if not (isinstance(a, dict) and a.get("type") == "null")]
    if len(rest) != 1 or not isinstance(rest[0], dict):
        return None
    implied = "object" if "properties" in rest[0] else "array" if "items" in rest[0] else None
    return rest[0] if rest[0].get("type", implied) == kind else None


def _json_type(value: Any) -> str:
    for python, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
                         (list, "array"), (dict, "object")):
        if isinstance(value, python):
            return name
    return "null"


def _kinds(node: Any) -> set[tuple[str, str]] | None:
    """The kinds of JSON value a schema admits, as (type, format); None when it admits anything."""
    out: set[tuple[str, str]] = set()
    for alt in _alternatives(node):
        if not isinstance(alt, dict):
            return None
        types = alt.get("type")
        if isinstance(types, str):
            types = [types]
        if not types:
            if "$ref" in alt:  # where a recursive model refers back to itself: compared no further
                out.add(("$ref", ""))
                continue
            values = alt["enum"] if "enum" in alt else [alt["const"]] if "const" in alt else None
            if values is not None:
                types = sorted({_json_type(v) for v in values})
            elif "properties" in alt or "items" in alt:
                types = ["object" if "properties" in alt else "array"]
            else:
                return None
        out |= {(t, str(alt.get("format", ""))) for t in types}
    return out


def _covered(kind: tuple[str, str], old_kinds: set[tuple[str, str]]) -> bool:
    kind_type, kind_format = kind
    return any((t == kind_type or (t, kind_type) == ("number", "integer")) and f in ("", kind_format)
               for t, f in old_kinds)


def _show(kinds: set[tuple[str, str]] | None) -> str:
    if kinds is None:
        return "any value"
    return " | ".join(sorted(f"{t} ({f})" if f else t for t, f in kinds))


def _nested(before: Any, after: Any, field: str) -> list[tuple[Any, Any, str]]:
    """The pairs of sub-schemas to compare below two schemas of the same shape: array items, map values."""
    pairs = []
    old_array, new_array = _single(before, "array"), _single(after, "array")
    if old_array is not None and new_array is not None:
        pairs.append((old_array.get("items", {}), new_array.get("items", {}), f"{field}[]"))
    old_object, new_object = _single(before, "object"), _single(after, "object")
    if old_object is not None and new_object is not None and all(
            isinstance(o.get("additionalProperties"), dict) for o in (old_object, new_object)):
        pairs.append((old_object["additionalProperties"], new_object["additionalProperties"], f"{field}.*"))
    return pairs


def _read_breaks(prefix: str, before: Any, after: Any, problems: list[str], field: str = "", depth: int = 0) -> None:
    """A response as its readers see it: every promised field still there, still always there, no new kinds."""
    old_kinds, new_kinds = _kinds(before), _kinds(after)
    if old_kinds is None or depth > _MAX_DEPTH:
        return  # the old document promised nothing here (or we are too deep to look)
    if new_kinds is None or not all(_covered(k, old_kinds) for k in new_kinds):
        problems.append(f"{_subject(prefix, field)} changed type: {_show(old_kinds)} -> {_show(new_kinds)}")
        return
    old_object, new_object = _single(before, "object"), _single(after, "object")
    if old_object is not None and new_object is not None:
        old_props, new_props = old_object.get("properties", {}), new_object.get("properties", {})
        always = set(old_object.get("required", [])) - set(new_object.get("required", []))
        for name, schema in old_props.items():
            sub = f"{field}.{name}" if field else name
            if name not in new_props:
                problems.append(f"{_subject(prefix, sub)} was removed (clients read it)")
                continue
            if name in always:
                problems.append(f"{_subject(prefix, sub)} is no longer required (clients rely on it being present)")
            _read_breaks(prefix, schema, new_props[name], problems, sub, depth + 1)
    for old_sub, new_sub, sub in _nested(before, after, field):
        _read_breaks(prefix, old_sub, new_sub, problems, sub, depth + 1)


def _accepted(node: Any) -> set[str] | None:
    """The values (as JSON) a schema lets a client send, when it is an enum, a const or a union of them."""
    values: set[str] = set()
    for alt in _alternatives(node):
        if isinstance(alt, dict) and alt.get("type") == "null":
            values.add("null")
        elif isinstance(alt, dict) and isinstance(alt.get("enum"), list):
            values |= {json.dumps(v) for v in alt["enum"]}
        elif isinstance(alt, dict) and "const" in alt:
            values.add(json.dumps(alt["const"]))
        else:
            return None
    return values


def _request_breaks(prefix: str, before: Any, after: Any, problems: list[str], field: str = "",
                    depth: int = 0) -> None:
    """A request as its senders see it: nothing they may send now refused, nothing new demanded."""
    if depth > _MAX_DEPTH:
        return
    old_values, new_values = _accepted(before), _accepted(after)
    if old_values is not None and new_values is not None and old_values - new_values:
        problems.append(f"{_subject(prefix, field)} no longer accepts {', '.join(sorted(old_values - new_values))}")
    old_object, new_object = _single(before, "object"), _single(after, "object")
    if old_object is not None and new_object is not None:
        old_props, new_props = old_object.get("properties", {}), new_object.get("properties", {})
        added = set(new_object.get("required", [])) - set(old_object.get("required", []))
        if added:
            problems.append(f"{_subject(prefix, field)} gained required field(s) {sorted(added)}")
        for name, schema in old_props.items():
            sub = f"{field}.{name}" if field else name
            if name in new_props:
                _request_breaks(prefix, schema, new_props[name], problems, sub, depth + 1)
            elif new_object.get("additionalProperties") is False:
                problems.append(f"{_subject(prefix, sub)} was removed and unknown fields are rejected "
                                "(clients still sending it get 422)")
    for old_sub, new_sub, sub in _nested(before, after, field):
        _request_breaks(prefix, old_sub, new_sub, problems, sub, depth + 1)
