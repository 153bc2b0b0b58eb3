"""An in-memory ``IdentityStore`` for use-case tests on ``shared.uow.in_memory``: no Postgres, no Kafka."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

Row = dict[str, Any]


class FakeStore:
    def __init__(self) -> None:
        self.accounts: dict[str, Row] = {}
        self.grants: dict[str, Row] = {}
        self.challenges: dict[str, Row] = {}
        self.refresh: dict[bytes, Row] = {}
        self.vendors: dict[str, Row] = {}

    async def account_by_phone(self, phone: str) -> Row | None:
        return next((copy.deepcopy(a) for a in self.accounts.values() if a["phone"] == phone), None)

    async def account(self, account_id: str) -> Row | None:
        return copy.deepcopy(self.accounts.get(account_id))

    async def insert_account(self, account_id: str, phone: str, name: str | None, home_city: str) -> Row | None:
        if account_id in self.accounts or any(a["phone"] == phone for a in self.accounts.values()):
            return None
        self.accounts[account_id] = {"account_id": account_id, "phone": phone, "name": name, "home_city": home_city,
                                     "deleted_at": None, "created_at": datetime.now(UTC)}
        return copy.deepcopy(self.accounts[account_id])

    async def set_name(self, account_id: str, name: str) -> None:
        self.accounts[account_id]["name"] = name

    async def anonymise_account(self, account_id: str, now: datetime) -> None:
        self.accounts[account_id].update(phone=None, name=None, deleted_at=now)

    async def forget_challenges(self, phone: str) -> None:
        for c in self.challenges.values():
            if c["phone"] == phone:
                c["phone"] = "deleted"

    async def live_grants(self, account_id: str) -> list[Row]:
        return [copy.deepcopy(g) for g in self.grants.values() if g["account_id"] == account_id
                and g["revoked_at"] is None]

    async def insert_grant(self, grant_id: str, account_id: str, city: str, role: str, scope: str | None,
                           granted_by: str, reason: str | None) -> Row | None:
        for g in self.grants.values():
            if (g["account_id"], g["city"], g["role"], g["scope"], g["revoked_at"]) == (account_id, city, role,
                                                                                         scope, None):
                return None
        self.grants[grant_id] = {"grant_id": grant_id, "account_id": account_id, "city": city, "role": role,
                                 "scope": scope, "granted_by": granted_by, "reason": reason,
                                 "granted_at": datetime.now(UTC), "revoked_at": None}
        return copy.deepcopy(self.grants[grant_id])

    async def grant_for_update(self, grant_id: str) -> Row | None:
        return copy.deepcopy(self.grants.get(grant_id))

    async def revoke_grant(self, grant_id: str, revoked_by: str, reason: str | None, now: datetime) -> None:
        self.grants[grant_id]["revoked_at"] = now

    async def lock_phone(self, phone: str) -> None:
        pass

    async def codes_for_phone_since(self, phone: str, since: datetime) -> tuple[int, datetime | None, datetime | None]:
        rows = [c for c in self.challenges.values() if c["phone"] == phone and c["created_at"] > since]
        unused = [c["created_at"] for c in rows if c["used_at"] is None]
        return len(rows), min((c["created_at"] for c in rows), default=None), max(unused, default=None)

    async def codes_from_address_since(self, address: str, since: datetime) -> tuple[int, datetime | None]:
        rows = [c for c in self.challenges.values() if c["client_addr"] == address and c["created_at"] > since]
        return len(rows), min((c["created_at"] for c in rows), default=None)

    async def insert_challenge(self, challenge_id: str, city: str, phone: str, client_addr: str, purpose: str,
                               code_hash: bytes, now: datetime, expires_at: datetime) -> None:
        self.challenges[challenge_id] = {"challenge_id": challenge_id, "city": city, "phone": phone,
                                         "client_addr": client_addr, "purpose": purpose, "code_hash": code_hash,
                                         "tries": 0, "created_at": now, "expires_at": expires_at, "used_at": None}

    async def count_try(self, city: str, challenge_id: str) -> Row | None:
        c = self.challenges.get(challenge_id)
        if c is None or c["city"] != city:
            return None
        c["tries"] += 1
        return copy.deepcopy(c)

    async def mark_used(self, challenge_id: str, now: datetime) -> None:
        self.challenges[challenge_id]["used_at"] = now

    async def insert_refresh(self, token_hash: bytes, family_id: str, account_id: str, city: str, now: datetime,
                             expires_at: datetime) -> None:
        self.refresh[token_hash] = {"token_hash": token_hash, "family_id": family_id, "account_id": account_id,
                                    "city": city, "expires_at": expires_at, "used_at": None, "revoked_at": None}

    async def refresh_for_update(self, token_hash: bytes) -> Row | None:
        return copy.deepcopy(self.refresh.get(token_hash))

    async def mark_refresh_used(self, token_hash: bytes, now: datetime) -> None:
        self.refresh[token_hash]["used_at"] = now

    async def revoke_family(self, family_id: str, now: datetime) -> None:
        for r in self.refresh.values():
            if r["family_id"] == family_id and r["revoked_at"] is None:
                r["revoked_at"] = now

    async def revoke_account_tokens(self, account_id: str, now: datetime) -> None:
        for r in self.refresh.values():
            if r["account_id"] == account_id:
                r["revoked_at"] = now

    async def upsert_vendor(self, vendor_id: str, city: str, market_id: str) -> None:
        self.vendors[vendor_id] = {"vendor_id": vendor_id, "city": city, "market_id": market_id}

    async def vendor_market(self, city: str, vendor_id: str) -> str | None:
        v = self.vendors.get(vendor_id)
        return v["market_id"] if v and v["city"] == city else None
