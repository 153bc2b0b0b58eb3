"""One checkout is one trace: the caller's ``traceparent`` continues through orders' outbox, Kafka, catalog's
reservation and payments' QRIS intent — each event carries it as a header — and shows in the log lines
as ``trace_id``. (Export by OTLP is off unless OTEL_EXPORTER_OTLP_ENDPOINT is set; the ids are there anyway.)
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
import pytest

from shared.events.catalog import RESERVATION
from shared.events.orders import ORDER
from shared.events.payments import PAYMENT
from tests.conftest import Platform, eventually
from tests.integration.probe import read_topic
from tests.orders.e2e_support import Shop

pytestmark = pytest.mark.integration


async def test_a_checkout_is_one_trace_across_orders_catalog_and_payments(platform: Platform) -> None:
    trace_id, parent_span = secrets.token_hex(16), secrets.token_hex(8)
    async with httpx.AsyncClient(timeout=30) as client:
        shop = Shop(platform, client, buyer="trace-buyer")
        market_id, (product,) = await shop.pick(vendors=1, stock=20)
        shop.buyer = {**shop.buyer, "traceparent": f"00-{trace_id}-{parent_span}-01"}
        order = await shop.checkout(market_id, [(product, 1)])
    order_id = order["order_id"]

    async def event(topic: str, event_type: str) -> dict[str, Any] | None:
        for _p, value, headers in await read_topic(platform.infra.bootstrap, topic, order_id.encode()):
            envelope = json.loads(value)
            if envelope["event_type"] == event_type:
                return {"envelope": envelope, "headers": {k: v.decode() for k, v in headers.items()}}
        return None

    hops = [(ORDER, "OrderPlaced"), (RESERVATION, "StockReserved"), (PAYMENT, "PaymentRequested")]
    for topic, event_type in hops:
        found = await eventually(lambda t=topic, e=event_type: event(t, e), timeout=90, what=f"{event_type}")
        version, tid, span_id, _flags = found["headers"]["traceparent"].split("-")
        assert (version, tid) == ("00", trace_id), f"{event_type} continues the caller's trace"
        assert span_id != parent_span, f"{event_type} was emitted in a span of its own service"

    async def in_the_logs() -> bool:
        lines = (platform.home / "catalog.log").read_text(errors="replace").splitlines()
        return any(order_id in line and f'"trace_id": "{trace_id}"' in line for line in lines)

    assert await eventually(in_the_logs, timeout=30, what="the trace id on catalog's log line for the order")


async def test_spans_are_exported_by_otlp_when_an_endpoint_is_configured(platform: Platform) -> None:
    """A portal process told OTEL_EXPORTER_OTLP_ENDPOINT sends its request spans, by OTLP/HTTP, to a collector
    (here a minimal one decoding the protobuf with OpenTelemetry's own message types)."""
    import subprocess
    import sys
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from threading import Thread

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    from deploy.local.procs import free_port

    received: list[ExportTraceServiceRequest] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            if self.path == "/v1/traces":
                received.append(ExportTraceServiceRequest.FromString(body))
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    collector = HTTPServer(("127.0.0.1", free_port()), Collector)
    Thread(target=collector.serve_forever, daemon=True).start()
    port = free_port()
    env = {**platform.env("portal"), "PASARKOTA_HTTP_PORT": str(port),
           "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.server_port}", "OTEL_BSP_SCHEDULE_DELAY": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "deploy.cli", "serve", "portal"], env=env,  # noqa: ASYNC220
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    trace_id = secrets.token_hex(16)
    try:
        async def answered() -> bool:
            try:
                async with httpx.AsyncClient(timeout=5) as client:
                    r = await client.get(f"http://127.0.0.1:{port}/healthz",
                                         headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"})
                return r.status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(answered, timeout=60, what="the portal with OTLP export")

        async def exported() -> list[Any] | None:
            spans = [s for req in received for rs in req.resource_spans for ss in rs.scope_spans for s in ss.spans]
            ours = [s for s in spans if s.trace_id.hex() == trace_id]
            return ours or None

        ours = await eventually(exported, timeout=30, what="the request's span at the collector")
        kernel_spans = [s for s in ours if any(a.key == "pasarkota.correlation_id" for a in s.attributes)]
        assert [(s.name, s.kind) for s in kernel_spans] == [("GET /healthz", 2)]  # 2 = SPAN_KIND_SERVER
        services = {a.value.string_value for req in received for rs in req.resource_spans
                    for a in rs.resource.attributes if a.key == "service.name"}
        assert services == {"portal"}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        collector.shutdown()
