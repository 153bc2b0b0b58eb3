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
        schema["x-event-type"] = event_type
        schema["x-event-version"] = version
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


def _strip_docs(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_docs(v) for k, v in node.items() if k not in _DOC_KEYS}
    if isinstance(node, list):
        return [_strip_docs(v) for v in node]
    return node


def breaking_changes(old: dict[str, Any], new: dict[str, Any], where: str = "") -> list[str]:
    """Non-additive differences from ``old`` to ``new``: removed field, changed type, new required field."""
    problems: list[str] = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for field, old_schema in old_props.items():
        if field not in new_props:
            problems.append(f"{where}field '{field}' was removed")
        elif _strip_docs(old_schema) != _strip_docs(new_props[field]):
            problems.append(f"{where}field '{field}' changed type: {_strip_docs(old_schema)} -> "
                            f"{_strip_docs(new_props[field])}")
    added_required = set(new.get("required", [])) - set(old.get("required", []))
    for field in sorted(added_required):
        problems.append(f"{where}field '{field}' became required" if field in old_props
                        else f"{where}new required field '{field}'")
    for name, old_def in old.get("$defs", {}).items():
        new_def = new.get("$defs", {}).get(name)
        if new_def is None:
            problems.append(f"{where}nested type '{name}' was removed")
        else:
            problems.extend(breaking_changes(old_def, new_def, f"{where}{name}."))
    return problems


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
