"""The event envelope every Kafka message carries, and the registry of event types and versions.

Payload models register themselves with ``@event(type, version, topic, key=...)``. A message on the wire
is the JSON of an :class:`Envelope`; its Kafka key is the aggregate id; its headers repeat the routing
fields (type, version, city, ids) so consumers and tools can filter without decoding the body.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.tracing import current_traceparent


class EventPayload(BaseModel):
    """Base of every event payload. Unknown fields are ignored so consumers tolerate additive changes."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Envelope(BaseModel):
    """What travels on Kafka: routing and tracing fields plus the payload."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: uuid.UUID
    event_type: str = Field(pattern=r"^[A-Z][A-Za-z]+$")
    event_version: int = Field(ge=1)
    occurred_at: datetime
    city: str = Field(min_length=1, max_length=64)
    correlation_id: str = Field(min_length=1, max_length=128)
    causation_id: str | None = None
    payload: dict[str, Any]


@dataclass(frozen=True)
class EventSpec:
    event_type: str
    version: int
    topic: str
    model: type[EventPayload]
    key: Callable[[Any], str]
    key_field: str = ""

    @property
    def name(self) -> str:
        return f"{self.event_type}.v{self.version}"


REGISTRY: dict[tuple[str, int], EventSpec] = {}
_BY_MODEL: dict[type[EventPayload], EventSpec] = {}

P = TypeVar("P", bound=type[EventPayload])


def event(event_type: str, version: int, topic: str, key: str) -> Callable[[P], P]:
    """Register a payload model as ``event_type`` v``version`` on ``topic``, keyed by the field ``key``."""

    def register(model: P) -> P:
        spec = EventSpec(event_type, version, topic, model, key=lambda payload: str(getattr(payload, key)),
                         key_field=key)
        existing = REGISTRY.get((event_type, version))
        if existing and existing.model is not model:
            raise ValueError(f"event {spec.name} registered twice")
        REGISTRY[(event_type, version)] = spec
        _BY_MODEL[model] = spec
        return model

    return register


def spec_of(payload: EventPayload | type[EventPayload]) -> EventSpec:
    model = payload if isinstance(payload, type) else type(payload)
    try:
        return _BY_MODEL[model]
    except KeyError:
        raise KeyError(f"{model.__name__} is not a registered event payload") from None


@dataclass(frozen=True)
class OutgoingEvent:
    """A fully built event ready for the outbox."""

    envelope: Envelope
    topic: str
    key: str
    traceparent: str | None = None  # the span that emitted it (shared.tracing): its consumers continue the trace

    def body(self) -> bytes:
        return self.envelope.model_dump_json().encode()

    def headers(self) -> dict[str, str]:
        env = self.envelope
        headers = {
            "content-type": "application/json",
            "event_id": str(env.event_id),
            "event_type": env.event_type,
            "event_version": str(env.event_version),
            "city": env.city,
            "correlation_id": env.correlation_id,
        }
        if env.causation_id:
            headers["causation_id"] = env.causation_id
        if self.traceparent:
            headers["traceparent"] = self.traceparent
        return headers


def build_event(
    payload: EventPayload, *, city: str, correlation_id: str | None = None,
    causation: Envelope | None = None, key: str | None = None,
) -> OutgoingEvent:
    """Wrap ``payload`` in an envelope. Correlation flows from ``causation`` when given."""
    spec = spec_of(payload)
    if causation is not None:
        correlation_id = correlation_id or causation.correlation_id
    env = Envelope(
        event_id=uuid.uuid4(),
        event_type=spec.event_type,
        event_version=spec.version,
        occurred_at=datetime.now(UTC),
        city=city,
        correlation_id=correlation_id or str(uuid.uuid4()),
        causation_id=str(causation.event_id) if causation is not None else None,
        payload=payload.model_dump(mode="json"),
    )
    return OutgoingEvent(env, spec.topic, key or spec.key(payload), current_traceparent())


class DecodeError(ValueError):
    """A message that can never be processed (bad JSON, bad envelope, bad payload): dead-letter it."""


def decode(raw: bytes) -> tuple[Envelope, EventPayload | None]:
    """Decode a Kafka value into its envelope and (if the type is known here) its typed payload."""
    # Any exception at all is the message's fault: JSON nested 100,000 deep (the parser's nesting limit), MemoryError
    # on a pathological value, a validator's ValueError... A message that cannot be decoded is dead-lettered once.
    # pydantic's own parser reads the bytes straight into the envelope: no intermediate dict, integers exact.
    try:
        env = Envelope.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        if errors and errors[0]["type"] == "json_invalid":
            raise DecodeError(f"not JSON: {errors[0]['msg']}"[:500]) from None
        if errors and errors[0]["type"] == "model_type":
            raise DecodeError("not an envelope: not a JSON object") from None
        raise DecodeError(f"bad envelope: {str(errors)[:1500]}") from None
    except Exception as exc:
        raise DecodeError(f"bad envelope: {type(exc).__name__}: {str(exc)[:300]}") from None
    spec = REGISTRY.get((env.event_type, env.event_version))
    if spec is None:
        return env, None
    try:
        return env, spec.model.model_validate(env.payload)
    except ValidationError as exc:
        raise DecodeError(f"bad {spec.name} payload: "
                          f"{str(exc.errors(include_url=False, include_input=False))[:1500]}") from None
    except Exception as exc:
        raise DecodeError(f"bad {spec.name} payload: {type(exc).__name__}: {str(exc)[:300]}") from None
