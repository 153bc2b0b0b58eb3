"""HTTP routes of the notifications service: declarations only — wire model → use case (``ctx.run``) or query.

* ``GET/POST /webhooks/whatsapp`` — the WhatsApp Business Platform webhook: the subscription handshake, then
  signed (``X-Hub-Signature-256``) delivery statuses (sent / delivered / read / failed) and replies
  (*BERHENTI* opts out, *MULAI* back in). Unsigned or forged → 401, a replayed body → 409, nothing changed.
* ``GET/PUT /cities/{city}/me/notifications`` — a signed-in person's own settings (opt-out).
* ``/dev/...`` (not in production) — the simulator: the messages each phone received, replies, failures to
  inject, delivery statuses to answer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from notifications import policy, queries, wire
from notifications.handlers import Messages
from notifications.settings import NotificationsSettings
from shared.auth import Principal, require
from shared.errors import NotFound
from shared.http import CityContext, service_context
from shared.phone import valid_phone, wa_link
from shared.problems import Problem
from shared.uow import UnitOfWork, Work

router = APIRouter()
dev = APIRouter(prefix="/dev", tags=["dev (simulator)"])

PhoneText = Annotated[str, Field(min_length=6, max_length=32)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def messages_of(request: Request) -> Messages:
    m: Messages = request.app.state.messages
    return m


def settings_of(request: Request) -> NotificationsSettings:
    s: NotificationsSettings = request.app.state.notifications_settings
    return s


# ------------------------------------------------------------------------------------------------ webhooks

@router.get("/webhooks/whatsapp", response_class=PlainTextResponse, tags=["webhooks"])
async def whatsapp_subscribe(request: Request,
                             mode: Annotated[str, Query(alias="hub.mode", max_length=20)] = "",
                             token: Annotated[str, Query(alias="hub.verify_token", max_length=200)] = "",
                             challenge: Annotated[str, Query(alias="hub.challenge", max_length=200)] = ""
                             ) -> PlainTextResponse:
    """Meta's subscription handshake: echo ``hub.challenge`` when the verify token is ours."""
    expected = settings_of(request).whatsapp_verify_token.get_secret_value()
    if mode != "subscribe" or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Problem(403, "Token verifikasi salah. / Wrong verify token.", code="bad-verify-token")
    return PlainTextResponse(challenge)


def _parse_whatsapp(payload: Any, city_of_number: dict[str, str]
                    ) -> tuple[list[tuple[str, str, str | None]], list[tuple[str | None, str | None, str | None]]]:
    """Statuses (provider id, status, error) and replies (city, phone, text) of a Cloud API webhook body."""
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        raise Problem(422, "Bukan webhook WhatsApp. / Not a WhatsApp webhook.", code="bad-webhook")
    statuses: list[tuple[str, str, str | None]] = []
    replies: list[tuple[str | None, str | None, str | None]] = []
    try:
        for entry in payload.get("entry") or []:
            for change in entry.get("changes") or []:
                value = change.get("value") or {}
                number_id = str((value.get("metadata") or {}).get("phone_number_id", ""))
                for s in value.get("statuses") or []:
                    errors = s.get("errors") or []
                    error = "; ".join(f"({e.get('code')}) {e.get('title') or e.get('message')}" for e in errors) \
                        or None
                    statuses.append((str(s["id"])[:200], str(s["status"])[:20], error))
                for msg in value.get("messages") or []:
                    text = (msg.get("text") or {}).get("body") if msg.get("type") == "text" else \
                        (msg.get("button") or {}).get("text")
                    replies.append((city_of_number.get(number_id), str(msg.get("from", ""))[:32] or None,
                                    str(text)[:200] if text is not None else None))
    except (AttributeError, KeyError, TypeError):
        raise Problem(422, "Isi webhook WhatsApp tidak valid. / Malformed WhatsApp webhook.",
                      code="bad-webhook") from None
    return statuses, replies


@router.post("/webhooks/whatsapp", tags=["webhooks"], response_model=wire.WebhookApplied)
async def whatsapp_webhook(request: Request, work: Annotated[Work, Depends(service_context)]) -> dict[str, Any]:
    raw = await request.body()
    secret = settings_of(request).whatsapp_app_secret.get_secret_value()
    if not policy.valid_signature(secret, raw, request.headers.get("x-hub-signature-256")):
        from notifications.metrics import WEBHOOKS

        WEBHOOKS.labels("forged").inc()
        raise Problem(401, "Tanda tangan webhook tidak valid. / Invalid webhook signature.", code="bad-signature")
    try:
        payload = json.loads(raw)
    except ValueError:
        raise Problem(422, "Isi webhook bukan JSON. / Webhook body is not JSON.", code="bad-webhook") from None
    m = messages_of(request)
    numbers = {r.whatsapp_phone_number_id: city for city, r in m.rules.items() if r.whatsapp_phone_number_id}
    statuses, replies = _parse_whatsapp(payload, numbers)
    async with work(city=None, correlation_id=request.scope.get("state", {}).get("correlation_id")) as uow:
        return await m.apply_webhook(uow, hashlib.sha256(raw).hexdigest(), statuses, replies)


# --------------------------------------------------------------------------------------- own settings

class SettingsBody(Body):
    opted_out: bool


@router.get("/cities/{city}/me/notifications", tags=["settings"], response_model=wire.MySettings)
async def my_settings(ctx: CityContext, who: Annotated[Principal, Depends(require())]) -> dict[str, Any]:
    policy.ensure_own_settings(who, ctx.slug)
    found = await ctx.read(queries.settings_of, ctx.slug, who.sub)
    if found is None:
        raise NotFound("no-phone", "Nomor HP akun belum dikenal layanan pesan. / No phone known for this account.")
    return found


@router.put("/cities/{city}/me/notifications", tags=["settings"], response_model=wire.MySettings)
async def change_my_settings(ctx: CityContext, body: SettingsBody, request: Request,
                             who: Annotated[Principal, Depends(require())]) -> dict[str, Any]:
    policy.ensure_own_settings(who, ctx.slug)
    m = messages_of(request)

    async def change(uow: UnitOfWork[Any]) -> None:
        phone = await uow.store.account_phone(who.sub)
        if phone is None:
            raise NotFound("no-phone", "Nomor HP akun belum dikenal layanan pesan. / No phone known for this account.")
        await m.on_reply(uow, phone, "BERHENTI" if body.opted_out else "MULAI")

    await ctx.run(change)
    found = await ctx.read(queries.settings_of, ctx.slug, who.sub)
    assert found is not None
    return found


# ----------------------------------------------------------------------------------- chat with the other side

@router.get("/cities/{city}/orders/{order_id}/contacts", tags=["contacts"],
            response_model=wire.OrderContacts, response_model_exclude_unset=True)
async def order_contacts(ctx: CityContext, order_id: Annotated[str, Path(min_length=1, max_length=64)],
                         who: Annotated[Principal, Depends(require("buyer", "vendor"))]) -> dict[str, Any]:
    """"Chat penjual" for the buyer, "Chat pembeli" for a vendor of the order: ``wa.me`` links, nobody else."""
    parties = await ctx.read(queries.order_parties, ctx.slug, order_id)
    side = policy.party_to_order(who, parties["buyer_id"], parties["vendor_ids"]) if parties else None
    if parties is None or side is None:
        raise NotFound("order-not-found", "Pesanan tidak ditemukan. / Order not found.")
    ref = order_id[-8:].upper()
    if side == "buyer":
        contacts = [{"role": "vendor", "vendor_id": v["vendor_id"], "name": v["name"], "label": "Chat penjual",
                     "wa_link": wa_link(v["phone"], f"Halo {v['name']}, tentang pesanan {ref} di PasarKota")}
                    for v in parties["vendors"] if v["phone"]]
    else:
        contacts = [{"role": "buyer", "name": "Pembeli", "label": "Chat pembeli",
                     "wa_link": wa_link(parties["buyer_phone"], f"Halo, tentang pesanan {ref} di PasarKota")}
                    ] if parties["buyer_phone"] else []
    return {"order_id": order_id, "contacts": contacts}


# ------------------------------------------------------------------------------------- the simulator (dev)

@dev.get("/messages", response_model=wire.SimulatedMessages)
async def dev_messages(request: Request, work: Annotated[Work, Depends(service_context)],
                       phone: Annotated[str | None, Query(max_length=32)] = None,
                       city: Annotated[str | None, Query(max_length=64)] = None,
                       limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    """What each simulated phone received, oldest first (sign-in and pickup codes readable here, dev only)."""
    normal = valid_phone(phone) if phone else None
    async with work.reading() as conn:
        found = await queries.simulated_messages(conn, request.app.state.seal_key, phone=normal, city=city,
                                                 limit=limit)
    return {"messages": found}


@dev.get("/events/{event_id}/messages", response_model=wire.EventMessages)
async def dev_event_messages(event_id: uuid.UUID, work: Annotated[Work, Depends(service_context)]
                             ) -> dict[str, Any]:
    """The queue rows an event caused (status, attempts, the last provider error)."""
    async with work.reading() as conn:
        return {"messages": await queries.messages_for_event(conn, event_id)}


class ReplyBody(Body):
    city: Annotated[str, Field(min_length=1, max_length=64)]
    phone: PhoneText
    text: Annotated[str, Field(max_length=500)]


@dev.post("/replies", response_model=wire.ReplyApplied)
async def dev_reply(body: ReplyBody, request: Request, work: Annotated[Work, Depends(service_context)]
                    ) -> dict[str, Any]:
    """A simulated phone writes to the city's number (``BERHENTI`` / ``MULAI``)."""
    m = messages_of(request)
    m.city_rules(body.city)
    phone = valid_phone(body.phone)
    async with work(city=body.city) as uow:
        intent = await m.on_reply(uow, phone, body.text)
    return {"intent": intent}


class FaultBody(Body):
    phone: PhoneText
    channel: Literal["whatsapp", "sms"] = "whatsapp"
    count: Annotated[int, Field(ge=0, le=100)] = 1
    status: Annotated[int, Field(ge=0, le=599)] = 500  # 0 = the provider never answers (a timeout)
    error: Annotated[str, Field(max_length=200)] = "simulated provider error"


@dev.post("/faults", response_model=wire.FaultSet)
async def dev_fault(body: FaultBody, work: Annotated[Work, Depends(service_context)]) -> dict[str, Any]:
    """The next ``count`` sends to this phone on this channel fail with ``status`` (0: time out)."""
    phone = valid_phone(body.phone)
    async with work(city=None) as uow:
        await uow.store.set_simulator_fault(phone, body.channel, body.count, body.status, body.error)
    return {"phone": phone, "channel": body.channel, "remaining": body.count}


class StatusBody(Body):
    message_id: uuid.UUID
    status: Literal["sent", "delivered", "read", "failed"]
    error: Annotated[str | None, Field(max_length=200)] = None


@dev.post("/statuses", response_model=wire.StatusApplied)
async def dev_status(body: StatusBody, request: Request, work: Annotated[Work, Depends(service_context)]
                     ) -> dict[str, Any]:
    """The simulator answers a delivery status for a message it received (as a provider's webhook would)."""
    m = messages_of(request)
    async with work(city=None) as uow:
        row = await uow.store.message(body.message_id)
        if row is None or not row["provider_message_id"]:
            raise NotFound("message-not-found", "Pesan tidak ditemukan. / Message not found.")
        changed = await m.on_status(uow, row["provider_message_id"], body.status, body.error)
    return {"changed": changed}
