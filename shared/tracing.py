"""Traces across HTTP → outbox → Kafka → consumer, with OpenTelemetry.

Every request and every consumed event runs in a span: a request continues the caller's ``traceparent``
(W3C Trace Context) or starts a trace; an event continues the ``traceparent`` its producer stored with it in
the outbox (it travels as a Kafka header), so one checkout is one trace through orders, catalog and payments.
Spans are always made (their ids are in every log line as ``trace_id``); they are **exported** only when
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) is set, by OTLP over HTTP — off by default.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

_configured = False
TRACER = trace.get_tracer("pasarkota")


def configure_tracing(service: str) -> bool:
    """Install the SDK's tracer provider once per process; export by OTLP when configured. True if exporting."""
    global _configured
    exporting = bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or
                     os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
    if _configured:
        return exporting
    provider = TracerProvider(resource=Resource.create({"service.name": service, "service.namespace": "pasarkota"}))
    if exporting:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _configured = True
    return exporting


def _carrier(headers: Mapping[str, str] | Iterable[tuple[Any, Any]] | None) -> dict[str, str]:
    if headers is None:
        return {}
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for k, v in items:
        key = k.decode("latin-1") if isinstance(k, bytes) else str(k)
        if key.lower() in ("traceparent", "tracestate"):
            out[key.lower()] = v.decode("latin-1") if isinstance(v, bytes) else str(v)
    return out


@contextlib.contextmanager
def span(name: str, *, parent: Mapping[str, str] | Iterable[tuple[Any, Any]] | None = None,
         kind: SpanKind = SpanKind.INTERNAL, **attributes: Any) -> Iterator[trace.Span]:
    """A span continuing the trace in ``parent`` headers (HTTP or Kafka), current for the block."""
    context = propagate.extract(_carrier(parent)) if parent is not None else None
    with TRACER.start_as_current_span(name, context=context, kind=kind,
                                      attributes={k: v for k, v in attributes.items() if v is not None}) as current:
        yield current


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, to store with an event; None outside any span."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


def add_trace_id(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: the current trace id on every log line."""
    trace_id = current_trace_id()
    if trace_id and "trace_id" not in event_dict:
        event_dict["trace_id"] = trace_id
    return event_dict
