"""Building blocks of response models (issue #17): what every service's ``wire.py`` declares its answers with.

``Answer`` is the base of every response model. Its documents are open (no ``additionalProperties: false``):
a client must tolerate a field added later, which is not a breaking change. FastAPI validates each answer
against its ``response_model`` and drops keys the model does not list — so, for the tests, a key a model
forgot must not vanish silently (the portal reads these answers): with ``PASARKOTA_STRICT_ANSWERS=1`` (set by
the test session for every service it starts) an unknown key fails the answer loudly, a 500 naming it. In
production nothing breaks for a forgotten key; it is dropped, as FastAPI does.

``Timestamp`` is a datetime on the wire as the queries have always written it (``datetime.isoformat()``,
``+00:00``), documented as ``date-time``.
"""

from __future__ import annotations

import copy
import os
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer, WithJsonSchema, model_validator

Timestamp = Annotated[datetime, PlainSerializer(lambda v: v.isoformat(), return_type=str, when_used="json"),
                      WithJsonSchema({"type": "string", "format": "date-time"})]


class Answer(BaseModel):
    """The base of a response model: every key listed; under the tests none dropped without a trace."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _every_key_listed(cls, data: Any) -> Any:
        if isinstance(data, dict) and os.environ.get("PASARKOTA_STRICT_ANSWERS") == "1":
            known = set(cls.model_fields) | {f.alias for f in cls.model_fields.values() if f.alias}
            unknown = sorted(str(k) for k in data if k not in known)
            if unknown:
                raise ValueError(f"{cls.__name__} does not list {unknown}: add them to the model")
        return data

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        _ANSWERS.setdefault(cls.__name__, []).append(cls)


_ANSWERS: dict[str, list[type[Answer]]] = {}


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def restore_examples(spec: dict[str, Any]) -> None:
    """FastAPI renders the OpenAPI document without None values, which takes the null keys out of the answers'
    examples too (an example then lacks required keys); put back each answer model's examples as written."""
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        for model in _ANSWERS.get(name, []):
            extra = model.model_config.get("json_schema_extra")
            examples = extra.get("examples") if isinstance(extra, dict) else None
            if examples and schema.get("examples") == _without_none(examples):
                schema["examples"] = copy.deepcopy(examples)
                break
