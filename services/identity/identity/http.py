"""HTTP routes of the identity service: declarations only — wire model → command → ``ctx.run`` / ``ctx.read``.

Public: the JWKS, sign-in (start → code by WhatsApp/SMS through notifications; verify → tokens), refresh,
sign-out. Signed in: own account, export, deletion request. Staff: grants of roles (city admin: staff roles of
the own city; market admin: vendors of the own market; operator: city admins anywhere). Development only:
tokens for any subject (`pasarkota token`, the portal's demo sign-in) — 404 when ``PASARKOTA_ENV=prod``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from identity import domain, handlers, queries, wire
from identity.keys import KeyRing
from identity.settings import IdentitySettings
from shared.auth import ROLES, Principal, require
from shared.errors import Forbidden, NotFound
from shared.http import CityContext
from shared.metrics import SIGN_IN_ATTEMPTS
from shared.settings import get_settings

ID_PATTERN = r"^[A-Za-z0-9_.:-]+$"
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]
PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
Role = Literal["buyer", "vendor", "market_admin", "city_admin", "trainer", "participant", "courier", "operator"]


@dataclass(frozen=True)
class Runtime:
    """What identity's use cases need besides a unit of work, built once by ``app.py``."""

    settings: IdentitySettings
    keys: KeyRing
    limits: domain.Limits
    secrets: handlers.Secrets
    tokens: handlers.Tokens


async def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.identity
    return rt


Rt = Annotated[Runtime, Depends(runtime)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="after")
    def _no_nul(self) -> Body:
        if any(isinstance(v, str) and "\x00" in v for v in self.__dict__.values()):
            raise ValueError("text must not contain NUL characters")
        return self


class StartBody(Body):
    phone: str = Field(min_length=6, max_length=32)
    purpose: Literal["sign_in", "sign_up"] = "sign_in"


class VerifyBody(Body):
    challenge_id: Id
    code: str = Field(pattern=r"^\d{6}$", description="the six digits sent by WhatsApp or SMS")
    name: str | None = Field(None, min_length=2, max_length=120)
    sign_up_as: Literal["buyer", "participant"] | None = None


class RefreshBody(Body):
    refresh_token: str = Field(min_length=16, max_length=200)


class GrantBody(Body):
    phone: str = Field(min_length=6, max_length=32)
    role: Role
    scope: Id | None = None
    reason: str | None = Field(None, max_length=300)
    name: str | None = Field(None, min_length=2, max_length=120)


class RevokeBody(Body):
    reason: str | None = Field(None, max_length=300)


class DevTokenBody(Body):
    sub: str = Field(min_length=1, max_length=120, pattern=ID_PATTERN)
    roles: list[Role] = Field(min_length=1, max_length=8)
    vendor_id: Id | None = None
    market_id: Id | None = None
    ttl_seconds: int | None = Field(None, gt=0, le=12 * 3600)


def _trusted(peer: str, proxies: str) -> bool:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    for entry in (p.strip() for p in proxies.split(",") if p.strip()):
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_address(request: Request, settings: IdentitySettings) -> str:
    """The caller's address; a trusted proxy's (the portal's) ``X-Forwarded-For`` names the real client.

    The limits per client address count this; ``PASARKOTA_IDENTITY_TRUSTED_PROXIES`` lists the addresses or
    networks of the portal and ingress (anyone else's ``X-Forwarded-For`` is ignored: it could be made up).
    """
    peer = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for", "")
    if forwarded and _trusted(peer, settings.trusted_proxies):
        return forwarded.split(",")[0].strip()[:64] or peer
    return peer


def _raise_refused(result: dict[str, Any] | handlers.Refused, what: str) -> dict[str, Any]:
    if isinstance(result, handlers.Refused):
        SIGN_IN_ATTEMPTS.labels(what, result.error.code).inc()
        raise result.error
    SIGN_IN_ATTEMPTS.labels(what, "ok").inc()
    return result


public = APIRouter(tags=["sign-in"])


@public.get("/.well-known/jwks.json", response_model=wire.Jwks)
async def jwks(rt: Rt) -> dict[str, Any]:
    """The public keys access tokens are signed with (EdDSA/Ed25519, by ``kid``); two during a rotation."""
    return rt.keys.jwks()


@public.post("/cities/{city}/sign-in/start", status_code=202, response_model=wire.SignInStarted)
async def start_sign_in(ctx: CityContext, body: StartBody, request: Request, rt: Rt) -> dict[str, Any]:
    """Send a six-digit code to the phone (WhatsApp, SMS as fallback). The code never appears in the answer."""
    try:
        return await ctx.run(handlers.start_sign_in, handlers.StartSignIn(
            phone=body.phone, client_addr=client_address(request, rt.settings), purpose=body.purpose),
            rt.limits, rt.secrets)
    except Exception as exc:
        SIGN_IN_ATTEMPTS.labels("start", getattr(exc, "code", "error")).inc()
        raise


@public.post("/cities/{city}/sign-in/verify", response_model=wire.SignedIn)
async def verify_sign_in(ctx: CityContext, body: VerifyBody, rt: Rt) -> dict[str, Any]:
    """The code → an access token (≈15 min) and a refresh token. The first sign-in of a phone signs it up."""
    result = await ctx.run(handlers.verify_sign_in, handlers.VerifySignIn(
        challenge_id=body.challenge_id, code=body.code, name=body.name, sign_up_as=body.sign_up_as),
        rt.limits, rt.secrets, rt.tokens)
    return _raise_refused(result, "verify")


@public.post("/cities/{city}/tokens/refresh", response_model=wire.Tokens)
async def refresh(ctx: CityContext, body: RefreshBody, rt: Rt) -> dict[str, Any]:
    """Rotate the refresh token; the new access token carries the grants as they are now."""
    return _raise_refused(await ctx.run(handlers.refresh, body.refresh_token, rt.tokens), "refresh")


@public.post("/cities/{city}/sign-out", status_code=204)
async def sign_out(ctx: CityContext, body: RefreshBody) -> None:
    await ctx.run(handlers.sign_out, body.refresh_token)


@public.post("/cities/{city}/dev/tokens", response_model=wire.DevToken)
async def dev_token(ctx: CityContext, body: DevTokenBody, rt: Rt) -> dict[str, Any]:
    """Development only: a token for any subject and roles. 404 in production."""
    if get_settings().env == "prod":
        raise NotFound("not-found", "Tidak ditemukan. / Not found.")
    unknown = set(body.roles) - set(ROLES)
    if unknown or ("vendor" in body.roles and not body.vendor_id):
        raise domain.Invalid("bad-dev-token", "Peran tidak dikenal, atau vendor tanpa vendor_id. / Unknown role, "
                             "or vendor without vendor_id.")
    ttl = timedelta(seconds=body.ttl_seconds) if body.ttl_seconds else None
    return handlers.dev_token(rt.tokens, sub=body.sub, city=ctx.slug, roles=list(body.roles),
                              vendor_id=body.vendor_id, market_id=body.market_id, ttl=ttl)


# ------------------------------------------------------------------------------------------------ city directory
# Issue #14: a city added at runtime. Operators only; the document is validated by ``shared.cities`` (the field
# named on a refusal, nothing published); on success ``CityAdded`` goes out on the compacted identity.city.v1.

from shared.http import correlation_id_of, service_context  # noqa: E402

directory = APIRouter(tags=["city directory"])
Operator = Annotated[Principal, Depends(require("operator"))]
CityWork = Annotated[Any, Depends(service_context)]
SLUG_PATTERN = r"^[a-z][a-z0-9]{1,29}$"


class FirstAdminBody(Body):
    phone: str = Field(min_length=6, max_length=32)
    name: str | None = Field(None, min_length=2, max_length=120)


class CityBody(BaseModel):
    """The city document (as a ``[[city]]`` table of ``config/cities.toml``, without secrets) and, optionally, the
    first city admin to invite (a ``city_admin`` grant by phone: that person signs in with a code)."""

    model_config = ConfigDict(extra="forbid")

    city: dict[str, Any]
    first_admin: FirstAdminBody | None = None


class CityUpdateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    city: dict[str, Any]


@directory.post("/cities", status_code=201, response_model=wire.CityAdded)
async def add_city(body: CityBody, who: Operator, work: CityWork, request: Request) -> dict[str, Any]:
    """Add a city at runtime: live in every service within seconds (``CityAdded``); 422 names the bad field."""
    async with work(city=None, correlation_id=correlation_id_of(request)) as uow:
        return await handlers.add_city(uow, handlers.AddCity(
            actor=who, document=body.city, first_admin_phone=body.first_admin.phone if body.first_admin else None,
            first_admin_name=body.first_admin.name if body.first_admin else None))


@directory.put("/cities/{slug}", response_model=wire.CityUpdated)
async def update_city(body: CityUpdateBody, who: Operator, work: CityWork, request: Request,
                      slug: Annotated[str, Path(pattern=SLUG_PATTERN)]) -> dict[str, Any]:
    """Replace a runtime city's document (``CityUpdated``, a new version); seed cities change in their file."""
    async with work(city=None, correlation_id=correlation_id_of(request)) as uow:
        return await handlers.update_city(uow, handlers.UpdateCity(actor=who, slug=slug, document=body.city))


@directory.get("/cities", response_model=wire.CityDirectory, response_model_exclude_unset=True)
async def list_cities(who: Operator, work: CityWork) -> dict[str, Any]:
    """Every city (seed and runtime): source, version, who added it (payments says whether it has a secret)."""
    async with work.reading() as conn:
        return {"items": await queries.city_directory(conn)}



account = APIRouter(tags=["account"])
SignedIn = Annotated[Principal, Depends(require())]


@account.get("/cities/{city}/me", response_model=wire.Me)
async def me(ctx: CityContext, who: SignedIn) -> dict[str, Any]:
    found = await ctx.read(queries.me, who.sub)
    if found is None:
        raise NotFound("account-not-found", "Akun tidak ditemukan. / Account not found.")
    return found | {"token_roles": sorted(who.roles)}


@account.get("/cities/{city}/me/export", response_model=wire.AccountExport)
async def export(ctx: CityContext, who: SignedIn) -> dict[str, Any]:
    """What identity holds about me (UU 27/2022); each service answers for its own data the same way."""
    found = await ctx.read(queries.export, who.sub)
    if found is None:
        raise NotFound("account-not-found", "Akun tidak ditemukan. / Account not found.")
    return found


@account.post("/cities/{city}/me/deletion", status_code=202, response_model=wire.DeletionRequested)
async def request_deletion(ctx: CityContext, who: SignedIn) -> dict[str, Any]:
    """Delete my account: anonymised here at once, and in every service through ``AccountDeletionRequested``."""
    return await ctx.run(handlers.request_deletion, who.sub)


staff = APIRouter(tags=["staff"])
Staff = Annotated[Principal, Depends(require("city_admin", "market_admin", "operator"))]


@staff.get("/cities/{city}/grants", response_model=wire.CityGrants)
async def list_grants(ctx: CityContext, who: Staff) -> dict[str, Any]:
    from identity.policy import check_may_list_grants

    check_may_list_grants(who, ctx.slug)
    only_market = who.market_id if who.has("market_admin") and not who.has("city_admin", "operator") else None
    return {"items": await ctx.read(queries.city_grants, ctx.slug, market_id=only_market)}


@staff.post("/cities/{city}/grants", status_code=201, response_model=wire.GrantAnswer)
async def grant(ctx: CityContext, body: GrantBody, who: Staff) -> dict[str, Any]:
    """Invite a person by phone and grant a role in this city (audited: who and why, in ``RoleGranted``)."""
    return await ctx.run(handlers.grant_role, handlers.GrantRole(
        actor=who, phone=body.phone, role=body.role, scope=body.scope, reason=body.reason, name=body.name))


@staff.post("/cities/{city}/grants/{grant_id}/revoke", response_model=wire.GrantRevoked)
async def revoke(ctx: CityContext, grant_id: PathId, body: RevokeBody, who: Staff) -> dict[str, Any]:
    """Revoke a grant; tokens carrying it stop working within one access-token lifetime."""
    return await ctx.run(handlers.revoke_role, handlers.RevokeRole(actor=who, grant_id=grant_id, reason=body.reason))


@staff.get("/cities/{city}/grants/audit", response_model=wire.GrantsAudit)
async def grants_audit(ctx: CityContext, who: Staff) -> dict[str, Any]:
    """Who granted or revoked which role, when, before → after (issue #13); a market admin: the vendor grants of
    their market only."""
    from identity.policy import check_may_list_grants

    check_may_list_grants(who, ctx.slug)
    only_market = who.market_id if who.has("market_admin") and not who.has("city_admin", "operator") else None
    if who.has("market_admin") and not who.has("city_admin", "operator") and not only_market:
        raise Forbidden("no-market", "Token pengelola pasar tanpa market_id. / Market admin token has no market_id.")
    return {"items": await ctx.read(queries.grants_audit, ctx.slug, market_id=only_market)}


routers = (public, account, staff)
