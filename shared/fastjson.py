"""JSON encoding on the hot path, in C (orjson), exactly as the standard library would accept it.

orjson refuses integers beyond 64 bits and non-string dict keys, which ``json`` accepts; those rare values fall
back to ``json``. Decoding stays with ``json`` (orjson reads integers beyond 64 bits as floats, which would
silently change an amount) or with pydantic's own parser (``Envelope.model_validate_json``). Used for every
json/jsonb value asyncpg sends (``shared.db``): the outbox headers of every event, the audit list.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> str:
    """Serialise to a JSON string: whatever ``json.dumps`` accepts, accepted, with the same values."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)
