"""Events the notifications service emits, keyed by message id: a message reached the provider, or gave up.

Never the text of a message (it may hold a code) and never the phone in full: ``phone_masked`` only.
"""

from __future__ import annotations

from typing import Literal

from shared.envelope import EventPayload, event

MESSAGE = "notifications.message.v1"

Channel = Literal["whatsapp", "sms"]


@event("NotificationSent", 1, MESSAGE, key="message_id")
class NotificationSent(EventPayload):
    message_id: str
    source_event_id: str  # the event the message tells about
    template: str
    channel: Channel
    phone_masked: str


@event("NotificationFailed", 1, MESSAGE, key="message_id")
class NotificationFailed(EventPayload):
    message_id: str
    source_event_id: str
    template: str
    channel: Channel
    phone_masked: str
    error: str  # the provider's error, or why it was not sent (opted out)
