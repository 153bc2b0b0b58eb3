"""Identity's use cases: ``handle(uow, command, ...)`` — load, decide (domain/policy), save, emit. No SQL, no HTTP.

Sign-in and refresh *answer* refusals instead of raising them: a wrong code must still count its try, and a
reused refresh token must still revoke its family, so those use cases commit and return the error for the
route to raise after the commit (:class:`Refused`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from identity import domain, policy
from identity.keys import KeyRing
from identity.store import IdentityStore, Row
from shared.auth import Principal
from shared.errors import DomainError, Forbidden, Invalid, NotFound
from shared.events.catalog import VendorActivated
from shared.events.identity import (
    AccountCreated,
    AccountDeletionRequested,
    AccountUpdated,
    RoleGranted,
    RoleRevoked,
    SignInCodeIssued,
)
from shared.events.learning import ParticipantRegistered, TrainerAdded
from shared.ids import new_id
from shared.logging import get_logger
from shared.phone import masked, valid_phone
from shared.sealed import seal
from shared.uow import UnitOfWork

log = get_logger(__name__)
Uow = UnitOfWork[IdentityStore]


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Tokens:
    """What signing needs: the key ring and the lifetimes (from ``IdentitySettings``)."""

    keys: KeyRing
    access_ttl: timedelta
    refresh_ttl: timedelta


@dataclass(frozen=True)
class Secrets:
    seal_key: str   # seals codes for the bus (shared.sealed)
    pepper: str     # keys the stored code hashes


@dataclass
class Refused:
    """A refusal decided inside a committed unit of work; the route raises ``error`` after the commit."""

    error: DomainError


@dataclass(frozen=True)
class StartSignIn:
    phone: str
    client_addr: str
    purpose: Literal["sign_in", "sign_up"] = "sign_in"


@dataclass(frozen=True)
class VerifySignIn:
    challenge_id: str
    code: str
    name: str | None = None
    sign_up_as: Literal["buyer", "participant"] | None = None


@dataclass(frozen=True)
class GrantRole:
    actor: Principal
    phone: str
    role: str
    scope: str | None = None
    reason: str | None = None
    name: str | None = None
    grant_city: str | None = None  # operator granting in another city than the path's


@dataclass(frozen=True)
class RevokeRole:
    actor: Principal
    grant_id: str
    reason: str | None = None


# ------------------------------------------------------------------------------------------------ sign-in

async def start_sign_in(uow: Uow, cmd: StartSignIn, limits: domain.Limits, secrets: Secrets) -> dict[str, Any]:
    """A new one-time code for ``phone``, sealed into ``SignInCodeIssued`` (the only way it leaves)."""
    phone = valid_phone(cmd.phone)
    now = now_utc()
    hour_ago = now - timedelta(hours=1)
    await uow.store.lock_phone(phone)
    sent, oldest, newest = await uow.store.codes_for_phone_since(phone, hour_ago)
    asked, oldest_addr = await uow.store.codes_from_address_since(cmd.client_addr, hour_ago)
    domain.check_can_send(now=now, limits=limits, last_for_phone=newest, sent_to_phone_hour=sent,
                          oldest_phone_hour=oldest, asked_from_address_hour=asked, oldest_address_hour=oldest_addr)
    challenge_id = new_id()
    code = domain.new_code()
    expires_at = now + limits.code_ttl
    await uow.store.insert_challenge(challenge_id, uow.this_city, phone, cmd.client_addr, cmd.purpose,
                                     domain.code_hash(secrets.pepper, challenge_id, code), now, expires_at)
    uow.emit(SignInCodeIssued(challenge_id=challenge_id, phone=phone, expires_at=expires_at, purpose=cmd.purpose,
                              code_sealed=seal(secrets.seal_key, code, context=challenge_id)))
    log.info("sign-in code issued", phone=masked(phone), challenge_id=challenge_id)
    return {"challenge_id": challenge_id, "expires_at": expires_at.isoformat(), "phone": masked(phone),
            "resend_after_seconds": int(limits.resend_cooldown.total_seconds())}


async def verify_sign_in(uow: Uow, cmd: VerifySignIn, limits: domain.Limits, secrets: Secrets,
                         tokens: Tokens) -> dict[str, Any] | Refused:
    """Tokens for the phone of the challenge when the code is right (the account is created on first sign-in)."""
    now = now_utc()
    challenge = await uow.store.count_try(uow.this_city, cmd.challenge_id)
    refused = domain.check_code(challenge, cmd.code, pepper=secrets.pepper, now=now, max_tries=limits.max_tries)
    if refused is not None:
        return Refused(refused)
    assert challenge is not None
    await uow.store.mark_used(cmd.challenge_id, now)
    account, created = await _account_for(uow, challenge["phone"], cmd.name)
    if created or cmd.sign_up_as:
        # buyers and training participants sign themselves up; a first sign-in is a buyer's
        await _grant(uow, account, uow.this_city, cmd.sign_up_as or "buyer", None, granted_by=account["account_id"],
                     reason="self sign-up")
    if cmd.name and not account["name"]:
        await uow.store.set_name(account["account_id"], cmd.name)
        uow.emit(AccountUpdated(account_id=account["account_id"], phone=account["phone"], name=cmd.name))
    return await _issue(uow, account["account_id"], uow.this_city, tokens, family_id=new_id(), now=now) | {
        "account": _account_json(account), "new_account": created}


async def _account_for(uow: Uow, phone: str, name: str | None, account_id: str | None = None) -> tuple[Row, bool]:
    """The account of ``phone``, created when there is none (with ``account_id`` when another service already
    knows the person by a subject, so tokens and that service agree on who they are)."""
    account = await uow.store.account_by_phone(phone)
    if account is not None:
        return account, False
    if account_id is not None and await uow.store.account(account_id) is not None:
        account_id = None  # the subject is taken by another phone's account
    inserted = await uow.store.insert_account(account_id or new_id(), phone, name, uow.this_city)
    if inserted is None:  # a concurrent first sign-in of the same phone committed first
        account = await uow.store.account_by_phone(phone)
        assert account is not None
        return account, False
    uow.emit(AccountCreated(account_id=inserted["account_id"], phone=phone, name=name))
    return inserted, True


async def _grant(uow: Uow, account: Row, city: str, role: str, scope: str | None, *, granted_by: str,
                 reason: str | None) -> Row | None:
    grant = await uow.store.insert_grant(new_id(), account["account_id"], city, role, scope, granted_by, reason)
    if grant is not None:
        uow.emit(RoleGranted(account_id=account["account_id"], grant_id=grant["grant_id"], role=role,
                             scope=scope, phone=account["phone"], granted_by=granted_by, reason=reason),
                 city=city if city != domain.ALL_CITIES else None)
    return grant


async def _issue(uow: Uow, account_id: str, city: str, tokens: Tokens, *, family_id: str,
                 now: datetime) -> dict[str, Any]:
    """A fresh access token (the account's grants as of now) and the next refresh token of ``family_id``."""
    grants = await uow.store.live_grants(account_id)
    claims = domain.access_claims(account_id, city, grants, now=now, ttl=tokens.access_ttl, jti=new_id())
    refresh = domain.new_refresh_token()
    await uow.store.insert_refresh(domain.refresh_hash(refresh), family_id, account_id, city, now,
                                   now + tokens.refresh_ttl)
    return {"access_token": tokens.keys.sign(claims), "token_type": "Bearer",
            "expires_in": int(tokens.access_ttl.total_seconds()), "refresh_token": refresh,
            "roles": claims["roles"], "account_id": account_id}


def _account_json(account: Row) -> dict[str, Any]:
    return {"account_id": account["account_id"], "phone": masked(account["phone"] or ""), "name": account["name"]}


# ------------------------------------------------------------------------------------------------ refresh tokens

async def refresh(uow: Uow, token: str, tokens: Tokens) -> dict[str, Any] | Refused:
    """Rotate: the presented token is used up and a new one issued in its family. A token presented twice
    (stolen and used by someone else, or replayed) revokes the whole family."""
    now = now_utc()
    row = await uow.store.refresh_for_update(domain.refresh_hash(token))
    if row is None or row["city"] != uow.this_city or row["revoked_at"] is not None or row["expires_at"] <= now:
        return Refused(domain.refresh_refused())
    if row["used_at"] is not None:
        await uow.store.revoke_family(row["family_id"], now)
        log.warning("refresh token reused; family revoked", family_id=row["family_id"])
        return Refused(domain.refresh_refused())
    account = await uow.store.account(row["account_id"])
    if account is None or account["deleted_at"] is not None:
        return Refused(domain.refresh_refused())
    await uow.store.mark_refresh_used(row["token_hash"], now)
    return await _issue(uow, row["account_id"], row["city"], tokens, family_id=row["family_id"], now=now)


async def sign_out(uow: Uow, token: str) -> None:
    """Revoke the refresh token's family (unknown tokens are fine: signing out twice is not an error)."""
    row = await uow.store.refresh_for_update(domain.refresh_hash(token))
    if row is not None:
        await uow.store.revoke_family(row["family_id"], now_utc())


def dev_token(tokens: Tokens, *, sub: str, city: str, roles: list[str], vendor_id: str | None,
              market_id: str | None, ttl: timedelta | None = None) -> dict[str, Any]:
    """A development token for any subject and roles (`pasarkota token`, demo sign-in); refused in prod by the route."""
    now = now_utc()
    grants = [{"city": city, "role": r, "scope": vendor_id if r == "vendor"
               else market_id if r in ("market_admin", "courier") else None} for r in roles]
    claims = domain.access_claims(sub, city, grants, now=now, ttl=ttl or tokens.access_ttl, jti=new_id())
    return {"access_token": tokens.keys.sign(claims), "token_type": "Bearer",
            "expires_in": int((ttl or tokens.access_ttl).total_seconds()), "roles": claims["roles"]}


# ------------------------------------------------------------------------------------------------ grants

async def grant_role(uow: Uow, cmd: GrantRole) -> dict[str, Any]:
    """Invite a person by phone (an account is made if none) and grant ``role`` in the city, audited."""
    city = cmd.grant_city or uow.this_city
    if cmd.role == "city_admin" and not cmd.actor.has("operator"):
        raise Forbidden("grant-not-allowed", "Hanya operator yang dapat mengangkat admin kota. / "
                               "Only an operator may grant city admin.")
    scope = domain.check_scope(cmd.role, cmd.scope)
    vendor_market = await uow.store.vendor_market(city, scope) if cmd.role == "vendor" and scope else \
        scope if cmd.role == "courier" else None
    policy.check_may_grant(cmd.actor, city, cmd.role, vendor_market=vendor_market)
    phone = valid_phone(cmd.phone)
    account, _ = await _account_for(uow, phone, cmd.name)
    grant = await _grant(uow, account, city, cmd.role, scope, granted_by=cmd.actor.sub, reason=cmd.reason)
    if grant is None:
        existing = next(g for g in await uow.store.live_grants(account["account_id"])
                        if g["city"] == city and g["role"] == cmd.role and (g["scope"] or None) == scope)
        return {"grant": grant_json(existing, account), "created": False}
    uow.audit(cmd.actor, "grant", grant["grant_id"], "granted", after=_grant_audit(grant, account))
    return {"grant": grant_json(grant, account), "created": True}


async def revoke_role(uow: Uow, cmd: RevokeRole) -> dict[str, Any]:
    grant = await uow.store.grant_for_update(cmd.grant_id)
    if grant is None or (grant["city"] != uow.this_city and not cmd.actor.has("operator")):
        raise NotFound("grant-not-found", "Peran tidak ditemukan. / Grant not found.")
    vendor_market = (await uow.store.vendor_market(grant["city"], grant["scope"])
                     if grant["role"] == "vendor" and grant["scope"] else
                     grant["scope"] if grant["role"] == "courier" else None)
    if grant["role"] == "city_admin" and not cmd.actor.has("operator"):
        raise Forbidden("grant-not-allowed", "Hanya operator yang dapat mencabut admin kota. / "
                               "Only an operator may revoke city admin.")
    policy.check_may_grant(cmd.actor, grant["city"], grant["role"], vendor_market=vendor_market)
    account = await uow.store.account(grant["account_id"])
    if grant["revoked_at"] is None:
        uow.audit(cmd.actor, "grant", cmd.grant_id, "revoked", before=_grant_audit(grant, account),
                  after={**_grant_audit(grant, account), "revoked": True, "reason": cmd.reason})
        await uow.store.revoke_grant(cmd.grant_id, cmd.actor.sub, cmd.reason, now_utc())
        uow.emit(RoleRevoked(account_id=grant["account_id"], grant_id=grant["grant_id"], role=grant["role"],
                             scope=grant["scope"], revoked_by=cmd.actor.sub, reason=cmd.reason),
                 city=grant["city"] if grant["city"] != domain.ALL_CITIES else None)
    return {"grant_id": cmd.grant_id, "revoked": True, "account_id": account["account_id"] if account else None}


def grant_json(grant: Row, account: Row | None) -> dict[str, Any]:
    return {"grant_id": grant["grant_id"], "account_id": grant["account_id"], "city": grant["city"],
            "role": grant["role"], "scope": grant["scope"], "granted_by": grant["granted_by"],
            "reason": grant["reason"], "granted_at": grant["granted_at"].isoformat(),
            "phone": masked(account["phone"]) if account and account["phone"] else None,
            "name": account["name"] if account else None}


async def create_admin(uow: Uow, phone: str, role: str, city: str, name: str | None) -> dict[str, Any]:
    """The CLI's first operator (``city`` ignored) or a city admin: no actor but the command line."""
    if role not in ("operator", "city_admin"):
        raise Invalid("bad-role", "Hanya operator atau city_admin. / Only operator or city_admin.")
    account, _ = await _account_for(uow, valid_phone(phone), name)
    grant_city = domain.ALL_CITIES if role == "operator" else city
    grant = await _grant(uow, account, grant_city, role, None, granted_by="system:cli", reason="pasarkota admin create")
    return {"account_id": account["account_id"], "role": role, "created": grant is not None}


# ------------------------------------------------------------------------------------------------ automatic grants

async def on_vendor_activated(uow: Uow, event: VendorActivated) -> None:
    """Catalog activated a vendor: remember its market, and grant ``vendor`` to the account of its phone."""
    await uow.store.upsert_vendor(event.vendor_id, uow.this_city, event.market_id)
    if not event.phone:
        return
    account, _ = await _account_for(uow, event.phone, None)
    await _grant(uow, account, uow.this_city, "vendor", event.vendor_id, granted_by="system:catalog",
                 reason="vendor activated")


async def on_participant_registered(uow: Uow, event: ParticipantRegistered) -> None:
    account, _ = await _account_for(uow, event.phone, event.name, event.subject)
    await _grant(uow, account, uow.this_city, "participant", None, granted_by="system:learning",
                 reason="participant registered")


async def on_trainer_added(uow: Uow, event: TrainerAdded) -> None:
    if not event.phone:
        return
    account, _ = await _account_for(uow, event.phone, event.name, event.subject)
    await _grant(uow, account, uow.this_city, "trainer", None, granted_by="system:learning", reason="trainer added")


# ------------------------------------------------------------------------------------------------ city directory

@dataclass(frozen=True)
class AddCity:
    """An operator adds a city at runtime (issue #14); ``first_admin_phone`` is invited as its ``city_admin``."""

    actor: Principal
    document: Any
    first_admin_phone: str | None = None
    first_admin_name: str | None = None


@dataclass(frozen=True)
class UpdateCity:
    actor: Principal
    slug: str
    document: Any


def _only_operator(actor: Principal) -> None:
    if not actor.has("operator"):
        raise Forbidden("operator-only", "Hanya operator yang dapat menambah atau mengubah kota. / Only an "
                                         "operator may add or change a city.")


async def add_city(uow: Uow, cmd: AddCity) -> dict[str, Any]:
    """Validate the document (field named on a refusal, nothing published), keep it, publish ``CityAdded``
    (every process projects it), audit it, and invite the first city admin by phone."""
    from identity import store as identity_store
    from shared.cities import CityDocumentInvalid, all_cities, validate_document
    from shared.events.identity import CityAdded

    _only_operator(cmd.actor)
    taken = set(all_cities()) | await identity_store.city_slugs(uow.store)
    document = validate_document(cmd.document, taken=taken)
    slug = str(document["slug"])
    if cmd.first_admin_phone is not None:
        valid_phone(cmd.first_admin_phone)  # refused before anything is kept
    if not await identity_store.insert_city_document(uow.store, slug, document, cmd.actor.sub):
        raise CityDocumentInvalid("slug", f"kota '{slug}' sudah ada. / city '{slug}' already exists.",
                                  code="duplicate-city")
    scoped = UnitOfWork(uow.store, city=slug, correlation_id=uow.correlation_id, pending=uow.pending,
                        audited=uow.audited)
    scoped.emit(CityAdded(slug=slug, version=1, document=document, added_by=cmd.actor.sub), city=slug)
    scoped.audit(cmd.actor, "city", slug, "added", after=_flat(document))
    invited = None
    if cmd.first_admin_phone is not None:
        invited = await grant_role(scoped, GrantRole(actor=cmd.actor, phone=cmd.first_admin_phone, role="city_admin",
                                                     name=cmd.first_admin_name, reason="first city admin",
                                                     grant_city=slug))
    log.info("city added", city=slug, by=cmd.actor.sub)
    return {"slug": slug, "version": 1, "document": document, "first_admin": invited["grant"] if invited else None}


async def update_city(uow: Uow, cmd: UpdateCity) -> dict[str, Any]:
    """Replace a runtime city's document (a new version, ``CityUpdated``); the seed cities change in their file."""
    from identity import store as identity_store
    from shared.cities import CityDocumentInvalid, validate_document
    from shared.events.identity import CityUpdated

    _only_operator(cmd.actor)
    row = await identity_store.city_document_for_update(uow.store, cmd.slug)
    if row is None:
        raise NotFound("city-not-in-directory", "Kota ini tidak ditambahkan lewat direktori (kota bawaan diubah di "
                       "berkasnya). / This city was not added at runtime (seed cities change in their file).")
    document = validate_document(cmd.document)
    if document["slug"] != cmd.slug:
        raise CityDocumentInvalid("slug", "slug tidak dapat diubah. / the slug cannot change.")
    before = row["document"]
    before = before if isinstance(before, dict) else __import__("json").loads(before)
    version = await identity_store.update_city_document(uow.store, cmd.slug, document, cmd.actor.sub)
    scoped = UnitOfWork(uow.store, city=cmd.slug, correlation_id=uow.correlation_id, pending=uow.pending,
                        audited=uow.audited)
    scoped.emit(CityUpdated(slug=cmd.slug, version=version, document=document, updated_by=cmd.actor.sub),
                city=cmd.slug)
    scoped.audit(cmd.actor, "city", cmd.slug, "updated", before=_flat(before), after=_flat(document))
    return {"slug": cmd.slug, "version": version, "document": document}


def _flat(document: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"merchant": {"name": ..}}`` → ``{"merchant.name": ..}``: the audit list keeps only changed fields."""
    out: dict[str, Any] = {}
    for key, value in document.items():
        if isinstance(value, dict) and key != "zones":
            out |= _flat(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


# ------------------------------------------------------------------------------------------------ personal data

async def request_deletion(uow: Uow, account_id: str) -> dict[str, Any]:
    """Anonymise the account here, end its sessions and grants, and ask every service to do the same."""
    account = await uow.store.account(account_id)
    if account is None or account["deleted_at"] is not None or not account["phone"]:
        raise NotFound("account-not-found", "Akun tidak ditemukan. / Account not found.")
    now = now_utc()
    for grant in await uow.store.live_grants(account_id):
        await uow.store.revoke_grant(grant["grant_id"], account_id, "account deleted", now)
    await uow.store.revoke_account_tokens(account_id, now)
    await uow.store.forget_challenges(account["phone"])
    await uow.store.anonymise_account(account_id, now)
    uow.emit(AccountDeletionRequested(account_id=account_id, phone=account["phone"], requested_at=now))
    return {"account_id": account_id, "deletion_requested_at": now.isoformat()}


def _grant_audit(grant: Row, account: Row | None) -> dict[str, Any]:
    """What the audit list keeps of a grant: the role, where, to whom (masked phone), why; ``revoked`` False."""
    return {"account_id": grant["account_id"], "role": grant["role"], "scope": grant["scope"],
            "phone": masked(account["phone"]) if account and account["phone"] else None,
            "name": account["name"] if account else None, "reason": grant["reason"], "revoked": False}
