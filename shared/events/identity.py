"""Events the identity service emits.

``identity.account.v1`` is keyed by account id (the ``sub`` of every access token): accounts, their grants
of roles per city, and deletion requests that every service honours for its own schema.
``identity.signin.v1`` is keyed by challenge id and carries one-time codes **sealed** (``shared.sealed``,
context = the challenge id) for the notifications service to deliver; the code is never in clear on the bus.
The envelope's city is the city the account acted in (signed up, was granted a role, asked for deletion).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from shared.envelope import EventPayload, event

ACCOUNT = "identity.account.v1"
SIGNIN = "identity.signin.v1"

Role = Literal["buyer", "vendor", "market_admin", "city_admin", "trainer", "participant", "courier", "operator"]


class _AccountEvent(EventPayload):
    account_id: str


@event("AccountCreated", 1, ACCOUNT, key="account_id")
class AccountCreated(_AccountEvent):
    phone: str  # the 08… form (shared.phone)
    name: str | None = None


@event("AccountUpdated", 1, ACCOUNT, key="account_id")
class AccountUpdated(_AccountEvent):
    phone: str
    name: str | None = None


@event("RoleGranted", 1, ACCOUNT, key="account_id")
class RoleGranted(_AccountEvent):
    grant_id: str
    role: Role
    scope: str | None = None  # vendor id for vendor, market id for market_admin, otherwise None
    phone: str
    granted_by: str  # an account id, or "system:<service>" for automatic grants
    reason: str | None = None


@event("RoleRevoked", 1, ACCOUNT, key="account_id")
class RoleRevoked(_AccountEvent):
    grant_id: str
    role: Role
    scope: str | None = None
    revoked_by: str
    reason: str | None = None


@event("AccountDeletionRequested", 1, ACCOUNT, key="account_id")
class AccountDeletionRequested(_AccountEvent):
    """Every service removes or anonymises this person's data in its own schema (UU 27/2022).

    ``phone`` lets services that keyed a person by phone (participants, vendors) find the rows; money records
    keep amounts, dates and ids only.
    """

    phone: str
    requested_at: datetime


@event("SignInCodeIssued", 1, SIGNIN, key="challenge_id")
class SignInCodeIssued(EventPayload):
    challenge_id: str
    phone: str
    code_sealed: str  # shared.sealed.seal(code_seal_key, code, context=challenge_id)
    expires_at: datetime
    purpose: Literal["sign_in", "sign_up"] = "sign_in"


# The city directory (issue #14): identity owns it; every process projects it (shared.city_directory). The topic is
# compacted and keyed by slug, so the latest document of every city stays on it for as long as the city exists.
CITY = "identity.city.v1"


@event("CityAdded", 1, CITY, key="slug")
class CityAdded(EventPayload):
    """A city added at runtime. ``document``: the validated city document (``shared.cities.validate_document``:
    name, timezone, fees, ``merchant``, optional ``notifications`` and ``delivery``) — never a secret."""

    slug: str
    version: int
    document: dict[str, Any]
    added_by: str


@event("CityUpdated", 1, CITY, key="slug")
class CityUpdated(EventPayload):
    """A runtime city's document replaced by a newer ``version`` (the whole document, as in ``CityAdded``)."""

    slug: str
    version: int
    document: dict[str, Any]
    updated_by: str
