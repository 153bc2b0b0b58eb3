"""The acquirer webhook signature: HMAC-SHA512 over a canonical string (pure functions, no IO).

Canonical string (five lines joined by ``\\n``, no trailing newline)::

    <HTTP method, upper case>
    <request path, e.g. /acquirer/cimahi/notifications>
    <X-Pk-Timestamp: unix seconds, decimal digits>
    <X-Pk-Request-Id>
    <lower-case hex SHA-256 of the raw request body bytes>

``X-Pk-Signature`` = lower-case hex HMAC-SHA512(key = the city's webhook secret (UTF-8), canonical string).
A timestamp more than ``MAX_SKEW_SECONDS`` away from our clock is stale. Documented in docs/payments.md.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

TIMESTAMP_HEADER = "X-Pk-Timestamp"
REQUEST_ID_HEADER = "X-Pk-Request-Id"
SIGNATURE_HEADER = "X-Pk-Signature"
MAX_SKEW_SECONDS = 300

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_TIMESTAMP = re.compile(r"\d{1,12}")
_SIGNATURE = re.compile(r"[0-9a-f]{128}")


class SignatureError(ValueError):
    """Why a notification's signature headers were refused (said in the 401 problem and the log)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def canonical_string(method: str, path: str, timestamp: str, request_id: str, body: bytes) -> str:
    return "\n".join((method.upper(), path, timestamp, request_id, body_digest(body)))


def sign(secret: str, method: str, path: str, timestamp: str, request_id: str, body: bytes) -> str:
    message = canonical_string(method, path, timestamp, request_id, body).encode()
    return hmac.new(secret.encode(), message, hashlib.sha512).hexdigest()


def signed_headers(secret: str, path: str, body: bytes, *, timestamp: int, request_id: str,
                   method: str = "POST") -> dict[str, str]:
    """The headers an acquirer (or our simulator) sends with a notification."""
    ts = str(timestamp)
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: ts,
        REQUEST_ID_HEADER: request_id,
        SIGNATURE_HEADER: sign(secret, method, path, ts, request_id, body),
    }


@dataclass(frozen=True)
class VerifiedRequest:
    request_id: str
    timestamp: int


def verify(secret: str, method: str, path: str, headers: Mapping[str, str], body: bytes, *,
           now: float) -> VerifiedRequest:
    """Check the three headers; raise :class:`SignatureError` (→ 401) when anything is missing or wrong.

    ``headers``: Starlette's case-insensitive Headers, or a plain dict with the names as documented.
    """
    get = headers.get
    timestamp = get(TIMESTAMP_HEADER) or get(TIMESTAMP_HEADER.lower())
    request_id = get(REQUEST_ID_HEADER) or get(REQUEST_ID_HEADER.lower())
    signature = get(SIGNATURE_HEADER) or get(SIGNATURE_HEADER.lower())
    if not timestamp or not request_id or not signature:
        raise SignatureError(f"{TIMESTAMP_HEADER}, {REQUEST_ID_HEADER} and {SIGNATURE_HEADER} are required",
                             "missing-signature")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise SignatureError(f"{TIMESTAMP_HEADER} must be unix seconds", "bad-timestamp")
    if not _REQUEST_ID.fullmatch(request_id):
        raise SignatureError(f"{REQUEST_ID_HEADER} must be 1-64 characters of [A-Za-z0-9._:-]", "bad-request-id")
    if abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        raise SignatureError(f"{TIMESTAMP_HEADER} is more than {MAX_SKEW_SECONDS}s from our clock",
                             "stale-timestamp")
    expected = sign(secret, method, path, timestamp, request_id, body)
    if not _SIGNATURE.fullmatch(signature.lower()) or not hmac.compare_digest(expected, signature.lower()):
        raise SignatureError("signature does not match", "bad-signature")
    return VerifiedRequest(request_id=request_id, timestamp=int(timestamp))
