"""Identifiers: random UUIDs for new things, stable ones for demo data so services agree without talking."""

from __future__ import annotations

import uuid

_DEMO_NAMESPACE = uuid.UUID("6f1c2a52-6a0e-4bb4-9d8e-5a7e9b1f0c11")


def new_id() -> str:
    return str(uuid.uuid4())


def demo_id(kind: str, *parts: str) -> str:
    """The same id for the same demo thing in every service, e.g. ``demo_id("vendor", "cimahi", "bu-sri")``."""
    return str(uuid.uuid5(_DEMO_NAMESPACE, "/".join((kind, *parts))))
