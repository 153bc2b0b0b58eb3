"""Identity's rules as plain Python: one-time codes, their limits, grants, what an access token carries.

No IO here. Codes are six digits from ``secrets``, stored only as an HMAC keyed with a server secret and bound
to the challenge id, compared with ``hmac.compare_digest``; refresh tokens are 256 random bits stored only as
their SHA-256.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, TooMany, Unauthenticated

CODE_DIGITS = 6
STAFF_ROLES = ("vendor", "market_admin", "trainer", "courier")  # a city admin grants these in own city
SELF_SIGN_UP_ROLES = ("buyer", "participant")
SCOPED_ROLES = {"vendor": "vendor_id", "market_admin": "market_id", "courier": "market_id"}
ALL_CITIES = "*"  # the city of an operator grant


def new_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(pepper: str, challenge_id: str, code: str) -> bytes:
    return hmac.new(pepper.encode(), f"sign-in-code:{challenge_id}:{code}".encode(), hashlib.sha256).digest()


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def refresh_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class Limits:
    code_ttl: timedelta
    max_tries: int
    resend_cooldown: timedelta
    per_phone_hour: int
    per_address_hour: int


def check_can_send(*, now: datetime, limits: Limits, last_for_phone: datetime | None, sent_to_phone_hour: int,
                   oldest_phone_hour: datetime | None, asked_from_address_hour: int,
                   oldest_address_hour: datetime | None) -> None:
    """Raise :class:`TooMany` (with ``retry_after_seconds``) when a new code may not be sent now."""
    if last_for_phone is not None and now - last_for_phone < limits.resend_cooldown:
        wait = (last_for_phone + limits.resend_cooldown - now).total_seconds()
        raise TooMany("code-resend-too-soon", "Tunggu sebentar sebelum meminta kode baru. / "
                      "Please wait before asking for a new code.", retry_after_seconds=max(1, round(wait)))
    hour = timedelta(hours=1)
    if sent_to_phone_hour >= limits.per_phone_hour and oldest_phone_hour is not None:
        raise TooMany("too-many-codes-phone", "Terlalu banyak kode untuk nomor ini; coba lagi nanti. / "
                      "Too many codes for this number; try again later.",
                      retry_after_seconds=max(1, round((oldest_phone_hour + hour - now).total_seconds())))
    if asked_from_address_hour >= limits.per_address_hour and oldest_address_hour is not None:
        raise TooMany("too-many-codes-address", "Terlalu banyak permintaan kode dari alamat ini; coba lagi nanti. / "
                      "Too many code requests from this address; try again later.",
                      retry_after_seconds=max(1, round((oldest_address_hour + hour - now).total_seconds())))


def check_code(challenge: Any, code: str, *, pepper: str, now: datetime, max_tries: int) -> DomainError | None:
    """None when ``code`` opens ``challenge``; otherwise the error to answer. The caller counts the try first.

    ``challenge['tries']`` already includes this try. Tries ``1..max_tries`` are compared; the next is locked,
    whatever the code, so guessing stops at ``max_tries`` wrong answers.
    """
    if challenge is None:
        return NotFound("challenge-not-found", "Permintaan kode tidak ditemukan; minta kode baru. / "
                        "Unknown sign-in request; ask for a new code.")
    if challenge["used_at"] is not None:
        return Conflict("code-used", "Kode sudah dipakai; minta kode baru. / This code was already used.")
    if challenge["tries"] > max_tries:
        return TooMany("code-locked", "Terlalu banyak kode salah; minta kode baru. / Too many wrong codes; "
                       "ask for a new code.", retry_after_seconds=max(1, round(
                           (challenge["expires_at"] - now).total_seconds())))
    if now >= challenge["expires_at"]:
        return Invalid("code-expired", "Kode sudah kedaluwarsa; minta kode baru. / The code has expired.")
    expected = bytes(challenge["code_hash"])
    if not hmac.compare_digest(expected, code_hash(pepper, challenge["challenge_id"], code)):
        left = max(0, max_tries - challenge["tries"])
        return Invalid("code-wrong", "Kode salah. / Wrong code.", attempts_left=left)
    return None


def refresh_refused() -> Unauthenticated:
    return Unauthenticated("refresh-invalid", "Sesi tidak berlaku lagi; silakan masuk lagi. / "
                           "This session is no longer valid; please sign in again.")


def access_claims(account_id: str, city: str, grants: Iterable[Any], *, now: datetime, ttl: timedelta,
                  jti: str) -> dict[str, Any]:
    """What an access token says: the account's live grants in ``city`` (and operator grants, which span cities)."""
    roles: list[str] = []
    claims: dict[str, Any] = {"sub": account_id, "city": city, "iat": int(now.timestamp()),
                              "exp": int((now + ttl).timestamp()), "jti": jti}
    for grant in grants:
        if grant["city"] not in (city, ALL_CITIES):
            continue
        if grant["role"] not in roles:
            roles.append(grant["role"])
        scope_claim = SCOPED_ROLES.get(grant["role"])
        if scope_claim and grant["scope"] and scope_claim not in claims:
            claims[scope_claim] = grant["scope"]
    claims["roles"] = sorted(roles)
    return claims


def check_scope(role: str, scope: str | None) -> str | None:
    if role in SCOPED_ROLES:
        if not scope:
            raise Invalid("scope-required", "Peran ini perlu cakupan (id pedagang atau pasar). / "
                          "This role needs a scope (vendor or market id).")
        return scope
    return None


def not_own_city() -> Forbidden:
    return Forbidden("other-city", "Anda tidak dapat memberi peran di kota lain. / You may not grant roles in "
                     "another city.")
