"""Identity's answers on the wire (issue #17): one response model per route, every key the handlers and queries
return (``shared.wire.Answer`` refuses any other), with a Cimahi example on the main ones."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field
from pydantic.config import JsonDict

from shared.audit import AuditRow
from shared.wire import Answer, Timestamp

Role = Literal["buyer", "vendor", "market_admin", "city_admin", "trainer", "participant", "courier", "operator"]


class Jwk(Answer):
    """One public key (OKP / Ed25519)."""

    kty: str
    crv: str
    x: str
    kid: str
    alg: str
    use: Literal["sig"]


class Jwks(Answer):
    keys: list[Jwk] = Field(description="two during a key rotation")


class SignInStarted(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "challenge_id": "01JDZ3Q8M4C1MAHI0000000001", "expires_at": "2026-12-03T06:20:00+00:00",
        "phone": "0812****7890", "resend_after_seconds": 60}]})

    challenge_id: str
    expires_at: Timestamp = Field(description="the code is refused after this")
    phone: str = Field(description="masked")
    resend_after_seconds: int


_TOKENS: JsonDict = {
    "access_token": "eyJhbGciOiJFZERTQSIsImtpZCI6IjIwMjYtMTIifQ.e30.c2ln", "token_type": "Bearer",
    "expires_in": 900, "refresh_token": "rt_8kQ2vX9mZp4LwN7sT1yU", "roles": ["buyer"],
    "account_id": "01JDZ3R0CIMAHI0000000042"}


class Tokens(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [_TOKENS]})

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="seconds the access token is valid")
    refresh_token: str
    roles: list[str] = Field(description="the roles the access token carries in this city")
    account_id: str


class AccountRef(Answer):
    account_id: str
    phone: str = Field(description="masked")
    name: str | None


class SignedIn(Tokens):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        **_TOKENS,
        "account": {"account_id": "01JDZ3R0CIMAHI0000000042", "phone": "0812****7890", "name": "Siti Aminah"},
        "new_account": False}]})

    account: AccountRef
    new_account: bool = Field(description="this sign-in signed the phone up")


class DevToken(Answer):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    roles: list[str]


class Grant(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "grant_id": "01JDZ40GRANT0000000000007", "account_id": "01JDZ3R0CIMAHI0000000042", "city": "cimahi",
        "role": "vendor", "scope": "v-cimahi-atas-001", "granted_by": "01JDZ3ADMIN000000000000001",
        "reason": "pedagang baru Pasar Atas", "granted_at": "2026-12-03T06:10:00+00:00",
        "phone": "0812****7890", "name": "Siti Aminah"}]})

    grant_id: str
    account_id: str
    city: str = Field(description="``*`` for an operator grant (all cities)")
    role: Role
    scope: str | None = Field(description="the vendor id of a vendor, the market id of a market admin or courier")
    granted_by: str
    reason: str | None
    granted_at: Timestamp
    phone: str | None = Field(description="masked")
    name: str | None


class GrantAnswer(Answer):
    grant: Grant
    created: bool = Field(description="false when the person already held this grant (the existing one)")


class GrantRevoked(Answer):
    grant_id: str
    revoked: bool
    account_id: str | None


class CityGrant(Answer):
    grant_id: str
    account_id: str
    role: Role
    scope: str | None
    phone: str | None = Field(description="masked")
    name: str | None
    granted_by: str
    reason: str | None
    granted_at: Timestamp


class CityGrants(Answer):
    items: list[CityGrant] = Field(description="live grants of the city, by role (at most 500)")


class GrantAuditEntry(AuditRow):
    model_config = ConfigDict(extra="forbid")

    at: Timestamp


class GrantsAudit(Answer):
    items: list[GrantAuditEntry] = Field(description="newest first (at most 100)")


class OwnGrant(Answer):
    grant_id: str
    city: str
    role: Role
    scope: str | None
    granted_at: Timestamp


class Me(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "account_id": "01JDZ3R0CIMAHI0000000042", "phone": "081234567890", "name": "Siti Aminah",
        "grants": [{"grant_id": "01JDZ40GRANT0000000000007", "city": "cimahi", "role": "buyer", "scope": None,
                    "granted_at": "2026-12-01T02:00:00+00:00"}], "token_roles": ["buyer"]}]})

    account_id: str
    phone: str | None = Field(description="the own phone, unmasked")
    name: str | None
    grants: list[OwnGrant] = Field(description="live grants, every city")
    token_roles: list[str] = Field(description="the roles the presented token carries")


class ExportAccount(Answer):
    account_id: str
    phone: str | None
    name: str | None
    home_city: str
    created_at: Timestamp


class ExportGrant(Answer):
    grant_id: str
    city: str
    role: str
    scope: str | None
    granted_by: str
    reason: str | None
    granted_at: Timestamp
    revoked_at: Timestamp | None
    revoked_by: str | None
    revoke_reason: str | None


class ExportSignIn(Answer):
    challenge_id: str
    city: str
    client_addr: str
    purpose: str
    tries: int
    created_at: Timestamp
    used_at: Timestamp | None


class ExportSession(Answer):
    family_id: str
    city: str
    started_at: Timestamp
    last_used_at: Timestamp
    revoked: bool


class AccountExport(Answer):
    """Everything identity holds about the account (UU 27/2022)."""

    service: Literal["identity"]
    account: ExportAccount
    grants: list[ExportGrant] = Field(description="live and past")
    sign_ins: list[ExportSignIn]
    sessions: list[ExportSession] = Field(description="refresh-token families")


class DeletionRequested(Answer):
    account_id: str
    deletion_requested_at: Timestamp


class CityAdded(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "slug": "tegal", "version": 1, "document": {"slug": "tegal", "name": "Kota Tegal",
                                                    "timezone": "Asia/Jakarta"},
        "first_admin": None}]})

    slug: str
    version: int
    document: dict[str, Any] = Field(description="the city document as validated by shared.cities")
    first_admin: Grant | None = Field(description="the city_admin grant of the invited first admin")


class CityUpdated(Answer):
    slug: str
    version: int
    document: dict[str, Any] = Field(description="the city document as validated by shared.cities")


class CityEntry(Answer):
    slug: str
    name: str | None = Field(description="None while a runtime city is not yet projected here")
    timezone: str | None = Field(None, description="absent while pending")
    source: Literal["seed", "runtime"]
    version: int | None = Field(description="a runtime city's document version")
    added_by: str | None
    added_at: Timestamp | None
    pending: bool = Field(False, description="present (true) for a runtime city not yet projected here")


class CityDirectory(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [
        {"slug": "cimahi", "name": "Kota Cimahi", "timezone": "Asia/Jakarta", "source": "seed", "version": None,
         "added_by": None, "added_at": None},
        {"slug": "tegal", "name": "Kota Tegal", "timezone": "Asia/Jakarta", "source": "runtime", "version": 1,
         "added_by": "01JDZ3OPERATOR00000000001", "added_at": "2026-12-03T06:12:00+00:00"}]}]})

    items: list[CityEntry]
