"""Sealed values: secrets that must cross the bus without being readable there (sign-in codes).

A sign-in code travels identity → Kafka → notifications, and must not appear in clear in a topic, a log
or a metric. It is sealed with AES-256-GCM under a key both services hold (``PASARKOTA_CODE_SEAL_KEY``),
bound to the message it belongs to (``context``, e.g. the challenge id), so a sealed value copied into
another event does not open.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE = 12


def _key(secret: str) -> bytes:
    # the setting is a passphrase-like string (`openssl rand -hex 32`); hash it to the 256-bit key
    return hashlib.sha256(("pasarkota-seal:" + secret).encode()).digest()


def seal(secret: str, plaintext: str, *, context: str) -> str:
    """``plaintext`` encrypted and authenticated, as URL-safe base64 (nonce ‖ ciphertext ‖ tag)."""
    nonce = os.urandom(_NONCE)
    sealed = AESGCM(_key(secret)).encrypt(nonce, plaintext.encode(), context.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


class SealBroken(ValueError):
    """The sealed value was tampered with, sealed under another key, or belongs to another context."""


def unseal(secret: str, sealed: str, *, context: str) -> str:
    """The plaintext of :func:`seal`; :class:`SealBroken` when it does not open."""
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        opened = AESGCM(_key(secret)).decrypt(raw[:_NONCE], raw[_NONCE:], context.encode())
    except (InvalidTag, ValueError) as exc:
        raise SealBroken("sealed value does not open") from exc
    return opened.decode()
