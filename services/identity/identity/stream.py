"""Kafka consumers of the identity service: declarations only — each event type straight to its use case.

- ``vendors``: catalog.vendor.v1 — an activated vendor's market (for market admins' invitations) and the
  automatic ``vendor`` grant to the vendor's phone;
- ``learning``: learning.participant.v1 / learning.trainer.v1 — automatic ``participant`` / ``trainer`` grants.
"""

from __future__ import annotations

from identity import handlers
from shared.bus import EventBus
from shared.events.catalog import VENDOR, VendorActivated
from shared.events.learning import PARTICIPANT, TRAINER, ParticipantRegistered, TrainerAdded


def register(bus: EventBus) -> None:
    vendors = bus.consumer("vendors", [VENDOR])
    vendors.on(VendorActivated)(handlers.on_vendor_activated)

    learning = bus.consumer("learning", [PARTICIPANT, TRAINER])
    learning.on(ParticipantRegistered)(handlers.on_participant_registered)
    learning.on(TrainerAdded)(handlers.on_trainer_added)
