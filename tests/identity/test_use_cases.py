"""Identity's use cases against an in-memory store (no Postgres, no Kafka): sign-in, limits, tokens, grants."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest

from identity import domain, handlers, policy
from identity.keys import KeyRing, activate_key, add_next_key, retire_key
from shared.auth import KeySet, Principal, verify_token
from shared.errors import Forbidden, TooMany
from shared.problems import Problem
from shared.sealed import unseal
from shared.uow import in_memory
from tests.identity.fakes import FakeStore
from tests.tokens import keys_document

LIMITS = domain.Limits(code_ttl=timedelta(minutes=5), max_tries=5, resend_cooldown=timedelta(seconds=60),
                       per_phone_hour=5, per_address_hour=30)
SECRETS = handlers.Secrets(seal_key="seal-" + "k" * 40, pepper="pepper-" + "p" * 40)


@pytest.fixture
def tokens(tmp_path: Path) -> handlers.Tokens:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(keys_document()))
    return handlers.Tokens(keys=KeyRing(path), access_ttl=timedelta(minutes=15), refresh_ttl=timedelta(days=30))


async def start(store: FakeStore, phone: str = "0812-3456-7890", addr: str = "10.0.0.1") -> tuple[str, str]:
    """A challenge and its code, opened from the sealed event the way notifications would."""
    async with in_memory(store) as uow:
        started = await handlers.start_sign_in(uow, handlers.StartSignIn(phone=phone, client_addr=addr), LIMITS,
                                               SECRETS)
    event = uow.events[-1]
    code = unseal(SECRETS.seal_key, event["code_sealed"], context=started["challenge_id"])
    assert code not in json.dumps(started) and code not in json.dumps(event)
    return started["challenge_id"], code


async def verify(store: FakeStore, tokens: handlers.Tokens, challenge_id: str, code: str,
                 **kw: Any) -> dict[str, Any] | handlers.Refused:
    async with in_memory(store) as uow:
        return await handlers.verify_sign_in(uow, handlers.VerifySignIn(challenge_id=challenge_id, code=code, **kw),
                                             LIMITS, SECRETS, tokens)


async def test_first_sign_in_creates_a_buyer_and_the_code_is_stored_hashed(tokens: handlers.Tokens) -> None:
    store = FakeStore()
    challenge_id, code = await start(store)
    stored = store.challenges[challenge_id]
    assert stored["phone"] == "081234567890" and code.encode() not in stored["code_hash"]
    result = await verify(store, tokens, challenge_id, code, name="Ibu Sri")
    assert isinstance(result, dict) and result["roles"] == ["buyer"] and result["new_account"]
    who = verify_token(result["access_token"], KeySet(jwks=tokens.keys.jwks()))
    assert (who.sub, who.city, who.roles) == (result["account_id"], "cimahi", frozenset({"buyer"}))
    header = jwt.get_unverified_header(result["access_token"])
    assert (header["alg"], header["kid"]) == ("EdDSA", "test-key-1")
    assert result["refresh_token"].encode() not in b"".join(store.refresh)  # only its hash is kept


async def test_five_wrong_codes_then_locked_even_for_the_right_one(tokens: handlers.Tokens) -> None:
    store = FakeStore()
    challenge_id, code = await start(store)
    wrong = f"{(int(code) + 7) % 1_000_000:06d}"
    lefts = []
    for _ in range(5):
        refused = await verify(store, tokens, challenge_id, wrong)
        assert isinstance(refused, handlers.Refused) and refused.error.code == "code-wrong"
        lefts.append(refused.error.extra["attempts_left"])
    assert lefts == [4, 3, 2, 1, 0]
    locked = await verify(store, tokens, challenge_id, code)
    assert isinstance(locked, handlers.Refused) and isinstance(locked.error, TooMany)
    assert locked.error.code == "code-locked" and locked.error.extra["retry_after_seconds"] > 0


async def test_an_expired_code_is_refused(tokens: handlers.Tokens) -> None:
    store = FakeStore()
    challenge_id, code = await start(store)
    store.challenges[challenge_id]["expires_at"] = datetime.now(UTC) - timedelta(seconds=1)
    refused = await verify(store, tokens, challenge_id, code)
    assert isinstance(refused, handlers.Refused) and refused.error.code == "code-expired"


async def test_resend_cool_down_and_phone_cap() -> None:
    store = FakeStore()
    await start(store)
    with pytest.raises(TooMany) as soon:
        await start(store)
    assert soon.value.code == "code-resend-too-soon" and 0 < soon.value.extra["retry_after_seconds"] <= 60
    for c in store.challenges.values():  # as if the codes were used: only the hourly cap is left
        c["used_at"] = c["created_at"]
    for _ in range(4):
        challenge_id, _code = await start(store)
        store.challenges[challenge_id]["used_at"] = datetime.now(UTC)
    with pytest.raises(TooMany) as capped:
        await start(store)
    assert capped.value.code == "too-many-codes-phone"


async def test_refresh_rotates_and_reuse_revokes_the_family(tokens: handlers.Tokens) -> None:
    store = FakeStore()
    first = await verify(store, tokens, *(await start(store)))
    assert isinstance(first, dict)
    async with in_memory(store) as uow:
        second = await handlers.refresh(uow, first["refresh_token"], tokens)
    assert isinstance(second, dict) and second["refresh_token"] != first["refresh_token"]
    async with in_memory(store) as uow:
        reused = await handlers.refresh(uow, first["refresh_token"], tokens)
    assert isinstance(reused, handlers.Refused) and reused.error.code == "refresh-invalid"
    async with in_memory(store) as uow:
        after = await handlers.refresh(uow, second["refresh_token"], tokens)
    assert isinstance(after, handlers.Refused)


async def test_refresh_rereads_grants(tokens: handlers.Tokens) -> None:
    store = FakeStore()
    admin = Principal(sub="admin-1", city="cimahi", roles=frozenset({"city_admin"}))
    async with in_memory(store) as uow:
        granted = await handlers.grant_role(uow, handlers.GrantRole(actor=admin, phone="081299990000",
                                                                    role="trainer", reason="pelatih"))
    assert [e["role"] for e in uow.events if "role" in e] == ["trainer"]
    assert uow.events[-1]["granted_by"] == "admin-1" and uow.events[-1]["reason"] == "pelatih"
    signed = await verify(store, tokens, *(await start(store, "081299990000")))
    assert isinstance(signed, dict) and signed["roles"] == ["trainer"]
    async with in_memory(store) as uow:
        await handlers.revoke_role(uow, handlers.RevokeRole(actor=admin, grant_id=granted["grant"]["grant_id"],
                                                            reason="pindah"))
    assert uow.event_types() == ["RoleRevoked"]
    async with in_memory(store) as uow:
        refreshed = await handlers.refresh(uow, signed["refresh_token"], tokens)
    assert isinstance(refreshed, dict) and refreshed["roles"] == []


def test_who_may_grant_what() -> None:
    admin = Principal(sub="a", city="cimahi", roles=frozenset({"city_admin"}))
    policy.check_may_grant(admin, "cimahi", "trainer")
    for city, role in (("tegal", "trainer"), ("cimahi", "city_admin"), ("cimahi", "operator")):
        with pytest.raises(Forbidden):
            policy.check_may_grant(admin, city, role)
    operator = Principal(sub="o", city="cimahi", roles=frozenset({"operator"}))
    policy.check_may_grant(operator, "tegal", "city_admin")
    market = Principal(sub="m", city="cimahi", roles=frozenset({"market_admin"}), market_id="pasar-1")
    policy.check_may_grant(market, "cimahi", "vendor", vendor_market="pasar-1")
    with pytest.raises(Forbidden):
        policy.check_may_grant(market, "cimahi", "vendor", vendor_market="pasar-2")
    with pytest.raises(Forbidden):
        policy.check_may_grant(market, "cimahi", "trainer")


def test_access_claims_carry_the_city_grants_and_operator_everywhere() -> None:
    now = datetime.now(UTC)
    grants = [{"city": "cimahi", "role": "vendor", "scope": "v-1"}, {"city": "tegal", "role": "city_admin",
                                                                      "scope": None},
              {"city": "*", "role": "operator", "scope": None}]
    claims = domain.access_claims("acc-1", "cimahi", grants, now=now, ttl=timedelta(minutes=15), jti="j")
    assert claims["roles"] == ["operator", "vendor"] and claims["vendor_id"] == "v-1"
    assert claims["exp"] - claims["iat"] == 900


def test_key_rotation_publishes_both_and_signs_with_the_active(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(keys_document()))
    ring = KeyRing(path)
    old = ring.sign({"sub": "x"})
    kid = add_next_key(path, "k-next")
    assert sorted(k["kid"] for k in ring.jwks()["keys"]) == ["k-next", "test-key-1"]
    assert all("d" not in k for k in ring.jwks()["keys"])
    activate_key(path, kid)
    assert jwt.get_unverified_header(ring.sign({"sub": "x"}))["kid"] == "k-next"
    keys = KeySet(jwks=ring.jwks())
    assert keys.key("test-key-1") is not None and keys.key("k-next") is not None
    with pytest.raises(ValueError):
        retire_key(path, "k-next")  # the active key stays
    retire_key(path, "test-key-1")
    assert [k["kid"] for k in ring.jwks()["keys"]] == ["k-next"]
    assert jwt.get_unverified_header(old)["kid"] == "test-key-1"


def test_a_jwks_with_a_private_part_is_not_trusted() -> None:
    from tests.tokens import mint, public_jwk

    assert verify_token(mint("cimahi", "buyer"), KeySet(jwks={"keys": [public_jwk()]})).city == "cimahi"
    private = {**public_jwk(), "d": "x" * 43}
    with pytest.raises(Problem):
        verify_token(mint("cimahi", "buyer"), KeySet(jwks={"keys": [private]}))


def test_only_trusted_proxies_name_the_client() -> None:
    from starlette.requests import Request

    from identity.http import client_address
    from identity.settings import IdentitySettings

    def request(peer: str, forwarded: str | None) -> Request:
        headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
        return Request({"type": "http", "client": (peer, 1234), "headers": headers})

    settings = IdentitySettings(trusted_proxies="127.0.0.1,10.0.0.0/8")
    assert client_address(request("10.1.2.3", "203.0.113.9, 10.1.2.3"), settings) == "203.0.113.9"
    assert client_address(request("127.0.0.1", "203.0.113.9"), settings) == "203.0.113.9"
    assert client_address(request("198.51.100.7", "203.0.113.9"), settings) == "198.51.100.7"  # made up: ignored
    assert client_address(request("198.51.100.7", None), settings) == "198.51.100.7"
