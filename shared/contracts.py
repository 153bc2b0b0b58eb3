"""Event contracts: JSON Schemas exported from the registry into ``contracts/events/`` and checked in CI.

Two checks:

* **freshness** — the committed files equal what the code exports (run ``pasarkota contracts export``);
* **compatibility** — within an event version only optional fields may be added. The code's schema is
  compared with every committed revision of that version's file (from git history, and the working file),
  so re-exporting a breaking change does not make it pass: bump the version instead.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import shared.events  # noqa: F401  (registers every event type)
from shared.envelope import REGISTRY, Envelope

REPO = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = REPO / "contracts"
EVENTS_DIR = CONTRACTS_DIR / "events"
_DOC_KEYS = {"title", "description", "default", "examples"}


def current_schemas() -> dict[str, dict[str, Any]]:
    """File name → JSON Schema of every registered event payload (plus the envelope)."""
    out = {"Envelope.json": Envelope.model_json_schema()}
    for (event_type, version), spec in sorted(REGISTRY.items()):
        if not spec.model.__module__.startswith("shared.events"):
            continue  # test-only event types are not part of the contract
        schema = spec.model.model_json_schema()
        schema["x-topic"] = spec.topic
        schema["x-key"] = spec.key_field
        schema["x-event-type"] = event_type
        schema["x-event-version"] = version
        # consumers ignore fields they do not know (EventPayload: extra="ignore"): that is what makes adding
        # an optional field compatible, so it is part of the contract
        schema["additionalProperties"] = True
        out[f"{event_type}.v{version}.json"] = schema
    return out


def _render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def export() -> list[Path]:
    EVENTS_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in current_schemas().items():
        path = EVENTS_DIR / name
        path.write_text(_render(schema))
        written.append(path)
    topics: dict[str, list[str]] = {}
    for spec in REGISTRY.values():
        topics.setdefault(spec.topic, []).append(spec.name)
    index = CONTRACTS_DIR / "topics.json"
    index.write_text(json.dumps({t: sorted(v) for t, v in sorted(topics.items())}, indent=2) + "\n")
    written.append(index)
    return written


def schema_by_meaning(node: Any, defs: dict[str, Any] | None = None, prefix: str = "#/$defs/", depth: int = 0,
                      seen: frozenset[str] = frozenset()) -> Any:
    """A schema by meaning: no docs, local ``$ref``s (``prefix`` + name, looked up in ``defs``) inlined,
    ``anyOf``/``oneOf`` as unordered sets, a single alternative unwrapped — so a pydantic upgrade that reorders
    or re-nests a schema raises no false break. A ``$ref`` back into a schema being inlined (a recursive
    model) stays a ``$ref``; property *names* are kept even when they are ``title`` or ``description``."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and defs is not None and ref.startswith(prefix) and ref not in seen and depth < 20:
            return schema_by_meaning(defs.get(ref.removeprefix(prefix), {}), defs, prefix, depth + 1, seen | {ref})
        out: dict[str, Any] = {}
        for k, v in node.items():
            if k in _DOC_KEYS:
                continue
            if k in ("properties", "patternProperties") and isinstance(v, dict):
                out[k] = {name: schema_by_meaning(s, defs, prefix, depth, seen) for name, s in v.items()}
                continue
            value = schema_by_meaning(v, defs, prefix, depth, seen)
            if k in ("anyOf", "oneOf") and isinstance(value, list):
                if len(value) == 1 and isinstance(value[0], dict):
                    out.update(value[0])
                    continue
                value = sorted(value, key=lambda item: json.dumps(item, sort_keys=True))
            out[k] = value
        return out
    if isinstance(node, list):
        return [schema_by_meaning(v, defs, prefix, depth, seen) for v in node]
    return node


def breaking_changes(old: dict[str, Any], new: dict[str, Any], where: str = "") -> list[str]:
    """Non-additive differences from ``old`` to ``new``: the event moved topic or changed key, stopped accepting
    unknown fields, lost a field, changed a field's type, or gained a required field — nested types included."""
    problems: list[str] = []
    for routing, what in (("x-topic", "moved to another topic"), ("x-key", "changed its message key")):
        if routing in old and old[routing] != new.get(routing):
            problems.append(f"{where}the event {what}: {old[routing]!r} -> {new.get(routing)!r}")
    if old.get("additionalProperties", True) is not False and new.get("additionalProperties", True) is False:
        problems.append(f"{where}unknown fields are no longer accepted (additionalProperties)")
    _compare_object(old, new, old.get("$defs", {}), new.get("$defs", {}), where, problems)
    return problems


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    for _ in range(20):
        ref = node.get("$ref") if isinstance(node, dict) else None
        if not (isinstance(ref, str) and ref.startswith("#/$defs/")):
            return node
        node = defs.get(ref.removeprefix("#/$defs/"), {})
    return node


def _compare_node(old: Any, new: Any, old_defs: dict[str, Any], new_defs: dict[str, Any], where: str, field: str,
                  problems: list[str]) -> None:
    before, after = _resolve(old, old_defs), _resolve(new, new_defs)
    if all(isinstance(x, dict) and "properties" in x for x in (before, after)):
        _compare_object(before, after, old_defs, new_defs, f"{where}{field}.", problems)  # nested: additive rules
    elif all(isinstance(x, dict) and x.get("type") == "array" and "items" in x for x in (before, after)):
        _compare_node(before["items"], after["items"], old_defs, new_defs, where, f"{field}[]", problems)
    elif (b := schema_by_meaning(before, old_defs)) != (a := schema_by_meaning(after, new_defs)):
        problems.append(f"{where}field '{field}' changed type: {b} -> {a}")


def _compare_object(old: dict[str, Any], new: dict[str, Any], old_defs: dict[str, Any], new_defs: dict[str, Any],
                    where: str, problems: list[str]) -> None:
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for field, old_schema in old_props.items():
        if field not in new_props:
            problems.append(f"{where}field '{field}' was removed")
            continue
        _compare_node(old_schema, new_props[field], old_defs, new_defs, where, field, problems)
    added_required = set(new.get("required", [])) - set(old.get("required", []))
    for field in sorted(added_required):
        problems.append(f"{where}field '{field}' became required" if field in old_props
                        else f"{where}new required field '{field}'")


def _history(path: Path) -> list[dict[str, Any]]:
    """Every committed revision of ``path`` (oldest first); empty outside git."""
    rel = path.relative_to(REPO)
    try:
        shas = subprocess.run(["git", "-C", str(REPO), "log", "--format=%H", "--", str(rel)],
                              capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return []
    revisions = []
    for sha in reversed(shas):
        shown = subprocess.run(["git", "-C", str(REPO), "show", f"{sha}:{rel}"], capture_output=True, text=True)
        if shown.returncode == 0:
            revisions.append(json.loads(shown.stdout))
    return revisions


def check() -> list[str]:
    problems: list[str] = []
    current = current_schemas()
    for name, schema in current.items():
        path = EVENTS_DIR / name
        baselines = _history(path)
        if path.exists():
            committed = json.loads(path.read_text())
            baselines.append(committed)
            if _render(committed) != _render(schema):
                problems.append(f"{name}: differs from the code; run `pasarkota contracts export` and commit")
        else:
            problems.append(f"{name}: not exported; run `pasarkota contracts export` and commit")
        for baseline in baselines:
            for p in breaking_changes(baseline, schema):
                msg = f"{name}: breaking change within a version: {p} (publish a new version instead)"
                if msg not in problems:
                    problems.append(msg)
    for path in sorted(EVENTS_DIR.glob("*.json")):
        if path.name not in current:
            problems.append(f"{path.name}: committed contract has no event in the code (removed event version)")
    return problems
