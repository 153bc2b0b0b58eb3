"""Channels behind one adapter interface: ``await channel.send(outgoing) -> provider message id``.

* :class:`WhatsAppCloud` — the WhatsApp Business Platform (Cloud API) shape: ``POST {base}/{version}/
  {phone-number-id}/messages`` with a Bearer token and a *template* message (name = our template name,
  language ``id``, the body parameters in the template's order), from the city's own sender number.
* :class:`SmsGateway` — a plain HTTP JSON SMS gateway: ``POST {base}/messages`` with a Bearer key,
  ``Idempotency-Key: <message id>`` and ``{"to", "from", "text", "reference"}``; answers ``{"id": ...}``.
* :class:`Simulator` — the built-in phones for dev, tests and demos: keeps every message per phone in the
  notifications schema (once per message id, so a re-send after a crash is not a second message), can be
  told to fail the next sends of a phone (a status code or a timeout), and answers like a provider.

A failure raises :class:`ProviderError` with the provider's own error text and whether a retry may help
(timeouts, 429 and 5xx do; a refused request does not).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
import httpx

from shared.phone import international
from shared.sealed import seal


@dataclass(frozen=True)
class Outgoing:
    message_id: str
    city: str
    phone: str            # 08…
    channel: str          # whatsapp / sms
    template: str
    params: list[tuple[str, str]]  # (name, value) in the template's order
    text: str             # the rendered text (what SMS and the simulator show)
    sender_id: str        # WhatsApp phone-number id of the city / SMS sender name
    secret: bool = False  # carries a code: never logged, kept sealed by the simulator


class ProviderError(Exception):
    def __init__(self, error: str, *, retryable: bool) -> None:
        super().__init__(error)
        self.error = error[:500]
        self.retryable = retryable


class Channel(Protocol):
    name: str

    async def send(self, message: Outgoing) -> str:
        """Hand the message to the provider; its message id (for status webhooks), or ProviderError."""
        ...


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _provider_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):  # Graph API errors: {"error": {"message", "code", "error_subcode", ...}}
        return f"HTTP {response.status_code}: ({error.get('code')}) {error.get('message')}"
    return f"HTTP {response.status_code}: {json.dumps(body)[:200]}"


class WhatsAppCloud:
    name = "whatsapp"

    def __init__(self, client: httpx.AsyncClient, base_url: str, version: str, tokens: dict[str, str]) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.version = version
        self.tokens = tokens  # city → access token

    def body(self, message: Outgoing) -> dict[str, Any]:
        parameters = [{"type": "text", "text": value} for _name, value in message.params]
        components: list[dict[str, Any]] = [{"type": "body", "parameters": parameters}]
        if message.template == "signin_code":  # authentication templates carry the code in a copy-code button too
            code = dict(message.params).get("code", "")
            components.append({"type": "button", "sub_type": "url", "index": "0",
                               "parameters": [{"type": "text", "text": code}]})
        return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": international(message.phone),
                "type": "template",
                "template": {"name": message.template, "language": {"code": "id"}, "components": components}}

    async def send(self, message: Outgoing) -> str:
        url = f"{self.base_url}/{self.version}/{message.sender_id}/messages"
        token = self.tokens.get(message.city)
        if not token or not message.sender_id:
            raise ProviderError(f"city {message.city} has no WhatsApp sender number or access token configured",
                                retryable=False)
        try:
            response = await self.client.post(url, json=self.body(message),
                                              headers={"Authorization": f"Bearer {token}"})
        except httpx.TimeoutException as exc:
            raise ProviderError(f"timeout: {type(exc).__name__}", retryable=True) from None
        except httpx.HTTPError as exc:
            raise ProviderError(f"unreachable: {type(exc).__name__}", retryable=True) from None
        if response.status_code >= 300:
            raise ProviderError(_provider_text(response), retryable=_retryable(response.status_code))
        try:
            return str(response.json()["messages"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError):
            raise ProviderError(f"unexpected answer: {response.text[:200]}", retryable=False) from None


class SmsGateway:
    name = "sms"

    def __init__(self, client: httpx.AsyncClient, base_url: str, keys: dict[str, str]) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.keys = keys  # city → API key

    async def send(self, message: Outgoing) -> str:
        key = self.keys.get(message.city)
        if not key:
            raise ProviderError(f"city {message.city} has no SMS gateway key configured", retryable=False)
        try:
            response = await self.client.post(
                f"{self.base_url}/messages",
                json={"to": "+" + international(message.phone), "from": message.sender_id, "text": message.text,
                      "reference": message.message_id},
                headers={"Authorization": f"Bearer {key}",
                         "Idempotency-Key": message.message_id})
        except httpx.TimeoutException as exc:
            raise ProviderError(f"timeout: {type(exc).__name__}", retryable=True) from None
        except httpx.HTTPError as exc:
            raise ProviderError(f"unreachable: {type(exc).__name__}", retryable=True) from None
        if response.status_code >= 300:
            raise ProviderError(_provider_text(response), retryable=_retryable(response.status_code))
        try:
            return str(response.json()["id"])
        except (ValueError, KeyError, TypeError):
            raise ProviderError(f"unexpected answer: {response.text[:200]}", retryable=False) from None


class Simulator:
    """Both channels of the dev/test provider, on the notifications schema (``simulated_messages``)."""

    def __init__(self, pool: Any, channel: str, seal_key: str, timeout_seconds: float) -> None:
        self._pool = pool  # a callable returning the asyncpg pool (started after construction)
        self.name = channel
        self.seal_key = seal_key
        self.timeout = timeout_seconds

    async def send(self, message: Outgoing) -> str:
        pool: asyncpg.Pool = self._pool()
        async with pool.acquire() as conn, conn.transaction():
            fault = await conn.fetchrow(
                "UPDATE simulator_faults SET remaining = remaining - 1 WHERE phone = $1 AND channel = $2"
                " AND remaining > 0 RETURNING status, error", message.phone, self.name)
            if fault is None:
                text = seal(self.seal_key, message.text, context=message.message_id) if message.secret \
                    else message.text
                await conn.execute(
                    "INSERT INTO simulated_messages(message_id, city, phone, channel, template, text, sealed)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (message_id) DO NOTHING",
                    message.message_id, message.city, message.phone, self.name, message.template, text,
                    message.secret)
                return f"sim.{self.name}.{message.message_id}"
        if fault["status"] == 0:  # a provider that never answers: we give up after our timeout
            await asyncio.sleep(self.timeout)
            raise ProviderError(f"timeout: {fault['error']}", retryable=True)
        raise ProviderError(f"HTTP {fault['status']}: {fault['error']}", retryable=_retryable(fault["status"]))
