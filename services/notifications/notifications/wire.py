"""Notifications' answers on the wire (issue #17): one response model per route, every key the routes and
``queries`` return (``shared.wire.Answer`` refuses any other)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from shared.wire import Answer, Timestamp

Channel = Literal["whatsapp", "sms"]


class WebhookApplied(Answer):
    statuses_changed: int = Field(description="delivery statuses that changed a message")
    replies_applied: int = Field(description="BERHENTI / MULAI replies that changed an opt-out")


class MySettings(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"channel": "whatsapp", "fallback": "sms", "opted_out": False}]})

    channel: Literal["whatsapp"]
    fallback: Literal["sms"] = Field(description="for urgent messages (codes) WhatsApp could not deliver")
    opted_out: bool = Field(description="replied BERHENTI to the city's number (codes still arrive)")


class Contact(Answer):
    role: Literal["vendor", "buyer"]
    vendor_id: str | None = Field(None, description="a vendor contact's vendor; absent for the buyer")
    name: str
    label: str = Field(description="the button's text: Chat penjual / Chat pembeli")
    wa_link: str | None = Field(description="https://wa.me/62… with the order's reference typed in")


class OrderContacts(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [{"order_id": "01JDZ5ORDER0000000CIMAHI01", "contacts": [
        {"role": "vendor", "vendor_id": "v-cimahi-atas-001", "name": "Warung Bu Siti", "label": "Chat penjual",
         "wa_link": "https://wa.me/6281234567890?text=Halo%20Warung%20Bu%20Siti%2C%20tentang%20pesanan%20CIMAHI01"
                    "%20di%20PasarKota"}]}]})

    order_id: str
    contacts: list[Contact]


class SimulatedMessage(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "message_id": "5b0f8f0e-3f7e-4c39-9d0c-2f1b7e9a6c11", "city": "tegal", "phone": "081234567890",
        "channel": "whatsapp", "template": "sign_in_code",
        "text": "Kode masuk PasarKota Anda: 482913. Jangan berikan kepada siapa pun.",
        "received_at": "2026-12-03T06:14:50+00:00"}]})

    message_id: str
    city: str
    phone: str
    channel: Channel
    template: str
    text: str = Field(description="opened for the developer when sealed (codes); ``(tersegel)`` if it cannot be")
    received_at: Timestamp


class SimulatedMessages(Answer):
    messages: list[SimulatedMessage] = Field(description="oldest first")


class MessageState(Answer):
    message_id: str
    city: str
    template: str
    channel: Channel
    status: Literal["queued", "sending", "sent", "delivered", "read", "failed"]
    attempts: int
    last_error: str | None
    not_before: Timestamp = Field(description="not sent before (quiet hours, back-off, rate limits)")
    sent_at: Timestamp | None


class EventMessages(Answer):
    messages: list[MessageState]


class ReplyApplied(Answer):
    intent: Literal["opt_out", "opt_in"] | None = Field(description="None: a chat, not a command")


class FaultSet(Answer):
    phone: str
    channel: Channel
    remaining: int = Field(description="sends still to fail")


class StatusApplied(Answer):
    changed: bool
