"""The real adapters against a local fake provider (a real HTTP server on a free port) that checks the wire
format the way the WhatsApp Cloud API and our SMS gateway shape expect it: path, headers, JSON body; and the
provider's answers (ids, 5xx, 4xx, timeouts) as the sender sees them. No real provider is called."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from deploy.local.procs import free_port
from notifications.channels import Outgoing, ProviderError, SmsGateway, WhatsAppCloud


class FakeProvider:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[tuple[int, Any]] = []  # consumed in order; then success
        self.delay = 0.0
        self.app = FastAPI()

        @self.app.post("/{version}/{number_id}/messages")
        async def whatsapp(version: str, number_id: str, request: Request) -> JSONResponse:
            return await self._answer(request, {"version": version, "number_id": number_id},
                                      {"messaging_product": "whatsapp", "contacts": [{"input": "x", "wa_id": "x"}],
                                       "messages": [{"id": "wamid.HBgLNjI4MTIzNDU2Nzg5MBUCABEYEjA="}]})

        @self.app.post("/sms/messages")
        async def sms(request: Request) -> JSONResponse:
            return await self._answer(request, {}, {"id": "sms-42", "status": "queued"})

    async def _answer(self, request: Request, path: dict[str, str], ok: Any) -> JSONResponse:
        self.requests.append({"path": path, "headers": dict(request.headers), "json": await request.json()})
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.answers:
            status, body = self.answers.pop(0)
            return JSONResponse(body, status_code=status)
        return JSONResponse(ok)


@pytest.fixture
async def provider() -> AsyncIterator[tuple[FakeProvider, str]]:
    fake, port = FakeProvider(), free_port()
    server = uvicorn.Server(uvicorn.Config(fake.app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield fake, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task


def message(template: str = "order_ready", **kw: Any) -> Outgoing:
    base: dict[str, Any] = dict(
        message_id="5f0c8a7e-1111-4222-8333-944455556666", city="cimahi", phone="081234567890", channel="whatsapp",
        template=template, params=[("order_ref", "AB12CD34"), ("pickup_code", "482913"), ("place", "Hub RW 03")],
        text="Pesanan AB12CD34 siap diambil.", sender_id="100000000000001")
    return Outgoing(**(base | kw))


async def test_whatsapp_template_message_on_the_wire(provider: tuple[FakeProvider, str]) -> None:
    fake, url = provider
    async with httpx.AsyncClient(timeout=2) as client:
        wa = WhatsAppCloud(client, url, "v21.0", {"cimahi": "token-cimahi", "tegal": "token-tegal"})
        assert await wa.send(message()) == "wamid.HBgLNjI4MTIzNDU2Nzg5MBUCABEYEjA="
    sent = fake.requests[0]
    assert sent["path"] == {"version": "v21.0", "number_id": "100000000000001"}  # the city's sender number
    assert sent["headers"]["authorization"] == "Bearer token-cimahi"
    assert sent["headers"]["content-type"] == "application/json"
    assert sent["json"] == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": "6281234567890", "type": "template",
        "template": {"name": "order_ready", "language": {"code": "id"}, "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "AB12CD34"}, {"type": "text", "text": "482913"},
                                            {"type": "text", "text": "Hub RW 03"}]}]}}


async def test_whatsapp_authentication_template_carries_the_code_in_its_button(
        provider: tuple[FakeProvider, str]) -> None:
    fake, url = provider
    async with httpx.AsyncClient(timeout=2) as client:
        wa = WhatsAppCloud(client, url, "v21.0", {"tegal": "token-tegal"})
        await wa.send(message("signin_code", city="tegal", sender_id="100000000000002",
                              params=[("code", "735102"), ("minutes", "5")]))
    sent = fake.requests[0]
    assert sent["path"]["number_id"] == "100000000000002" and sent["headers"]["authorization"] == "Bearer token-tegal"
    components = sent["json"]["template"]["components"]
    assert components[1] == {"type": "button", "sub_type": "url", "index": "0",
                             "parameters": [{"type": "text", "text": "735102"}]}


async def test_provider_errors_keep_the_providers_words_and_say_whether_to_retry(
        provider: tuple[FakeProvider, str]) -> None:
    fake, url = provider
    fake.answers = [(500, {"error": {"message": "An unknown error occurred", "type": "OAuthException", "code": 1}}),
                    (400, {"error": {"message": "(#132001) Template name does not exist in the translation",
                                     "code": 132001}}),
                    (429, {"error": {"message": "Rate limit hit", "code": 130429}})]
    async with httpx.AsyncClient(timeout=2) as client:
        wa = WhatsAppCloud(client, url, "v21.0", {"cimahi": "token-cimahi"})
        with pytest.raises(ProviderError) as e500:
            await wa.send(message())
        with pytest.raises(ProviderError) as e400:
            await wa.send(message())
        with pytest.raises(ProviderError) as e429:
            await wa.send(message())
    assert e500.value.retryable and e500.value.error == "HTTP 500: (1) An unknown error occurred"
    assert not e400.value.retryable and "132001" in e400.value.error
    assert e429.value.retryable


async def test_a_city_without_credentials_fails_without_calling_the_provider(
        provider: tuple[FakeProvider, str]) -> None:
    fake, url = provider
    async with httpx.AsyncClient(timeout=2) as client:
        with pytest.raises(ProviderError) as exc:
            await WhatsAppCloud(client, url, "v21.0", {"tegal": "t"}).send(message())
    assert not exc.value.retryable and "cimahi" in exc.value.error and fake.requests == []


async def test_a_provider_that_does_not_answer_is_a_retryable_timeout(provider: tuple[FakeProvider, str]) -> None:
    fake, url = provider
    fake.delay = 0.5
    async with httpx.AsyncClient(timeout=0.2) as client:
        with pytest.raises(ProviderError) as exc:
            await SmsGateway(client, url + "/sms", {"cimahi": "key"}).send(message(channel="sms"))
    assert exc.value.retryable and exc.value.error.startswith("timeout")


async def test_sms_gateway_on_the_wire(provider: tuple[FakeProvider, str]) -> None:
    fake, url = provider
    async with httpx.AsyncClient(timeout=2) as client:
        sms = SmsGateway(client, url + "/sms", {"cimahi": "key-cimahi"})
        assert await sms.send(message(channel="sms", sender_id="PASARCMH")) == "sms-42"
    sent = fake.requests[0]
    assert sent["headers"]["authorization"] == "Bearer key-cimahi"
    assert sent["headers"]["idempotency-key"] == "5f0c8a7e-1111-4222-8333-944455556666"
    assert sent["json"] == {"to": "+6281234567890", "from": "PASARCMH", "text": "Pesanan AB12CD34 siap diambil.",
                            "reference": "5f0c8a7e-1111-4222-8333-944455556666"}
