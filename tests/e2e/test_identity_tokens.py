"""Tokens only identity can sign, on the real platform: every service refuses what identity did not sign
(the old shared secret, an unknown kid, alg none, expired, another city), key rotation keeps both keys valid
during the overlap, and a revoked grant stops working within one access-token lifetime.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.ids import demo_id
from tests.codes import read_code
from tests.conftest import Platform, eventually
from tests.tokens import claims_for, keys_document, mint

pytestmark = pytest.mark.integration
CITY = "cimahi"
MARKET = demo_id("market", CITY, "pasar-atas-baru")

# One route per service that needs a city admin's token (a 200 with a good one proves the route is real).
GUARDED = {
    "catalog": "/cities/cimahi/admin/vendors",
    "orders": "/cities/cimahi/orders",
    "payments": "/cities/cimahi/settlements",
    "learning": "/cities/cimahi/admin/trainers",
    "identity": "/cities/cimahi/grants",
}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def forged_tokens() -> dict[str, tuple[str, int, str]]:
    """name → (token, expected status, expected problem code)."""
    claims = claims_for(CITY, ["city_admin"], sub="forger")
    other_key = Ed25519PrivateKey.generate()
    return {
        "old shared secret (HS256)": (jwt.encode(claims, "pasarkota-test-secret-0123456789abcdef", algorithm="HS256"),
                                      401, "invalid-token"),
        "HS256 under identity's kid": (
            jwt.encode(claims, "x" * 32, algorithm="HS256", headers={"kid": "test-key-1"}), 401, "invalid-token"),
        "unknown kid": (mint(CITY, "city_admin", kid="kid-nobody-published"), 401, "invalid-token"),
        "another key under identity's kid": (
            jwt.encode(claims, other_key, algorithm="EdDSA", headers={"kid": "test-key-1"}), 401, "invalid-token"),
        "alg none": (f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': 'test-key-1'})}.{_b64(claims)}.", 401,
                     "invalid-token"),
        "expired": (mint(CITY, "city_admin", ttl_seconds=-5), 401, "token-expired"),
        "another city": (mint("tegal", "city_admin"), 403, "other-city"),
    }


async def test_every_service_refuses_tokens_identity_did_not_sign_for_this_city(platform: Platform) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        for service, path in GUARDED.items():
            good = await client.get(platform.url(service) + path, headers=platform.headers(CITY, "city_admin"))
            assert good.status_code == 200, (service, good.text)
            for name, (token, status, code) in forged_tokens().items():
                r = await client.get(platform.url(service) + path, headers={"Authorization": f"Bearer {token}"})
                assert (r.status_code, r.headers.get("content-type")) == (status, "application/problem+json"), \
                    (service, name, r.text)
                assert r.json()["type"].endswith("/" + code), (service, name, r.json())
        # the portal verifies the same way: a forged cookie is no session at all
        portal = platform.url("portal")
        good_page = await client.get(f"{portal}/kota/{CITY}/dasbor", follow_redirects=False,
                                     cookies={"pk_token": platform.token(CITY, "city_admin")})
        assert good_page.status_code == 200
        for name, (token, _status, _code) in forged_tokens().items():
            page = await client.get(f"{portal}/kota/{CITY}/dasbor", cookies={"pk_token": token},
                                    follow_redirects=False)
            if name == "another city":  # a real tegal token: "Bukan kota Anda"
                assert page.status_code == 403, (name, page.status_code)
            else:  # not a session at all: sign in
                assert page.status_code == 303 and "/masuk" in page.headers["location"], (name, page.status_code)
        metrics = (await client.get(platform.url("catalog") + "/metrics")).text
        assert 'pasarkota_auth_refused_total{reason="unknown-kid"}' in metrics
        assert 'pasarkota_auth_refused_total{reason="algorithm"}' in metrics


async def test_jwks_publishes_public_keys_only(platform: Platform) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        jwks = (await client.get(platform.url("identity") + "/.well-known/jwks.json")).json()
    assert "test-key-1" in [k["kid"] for k in jwks["keys"]]
    for key in jwks["keys"]:
        assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
        assert "d" not in key


def test_no_service_but_identity_holds_a_signing_key(platform: Platform) -> None:
    for service in ("catalog", "orders", "payments", "learning", "portal"):
        env = platform.env(service)
        assert "PASARKOTA_JWT_SECRET" not in env and "PASARKOTA_IDENTITY_KEYS_FILE" not in env, service
        assert not any("PRIVATE KEY" in v for v in env.values()), service
    assert platform.env("identity")["PASARKOTA_IDENTITY_KEYS_FILE"] == str(platform.keys_file)


async def _sign_in(client: httpx.AsyncClient, platform: Platform, url: str, phone: str) -> dict[str, Any]:
    n = uuid.uuid4().int
    started = await client.post(f"{url}/cities/{CITY}/sign-in/start", json={"phone": phone},
                                headers={"X-Forwarded-For": f"10.9.{n % 250}.{(n >> 8) % 250}"})
    assert started.status_code == 202, started.text
    challenge_id = started.json()["challenge_id"]
    code = await read_code(platform.infra.bootstrap, challenge_id=challenge_id)
    r = await client.post(f"{url}/cities/{CITY}/sign-in/verify", json={"challenge_id": challenge_id, "code": code})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_key_rotation_keeps_both_keys_valid_during_the_overlap(platform: Platform) -> None:
    identity, orders = platform.url("identity"), platform.url("orders")
    original = platform.keys_file.read_text()
    try:
        # 1. the next key is published beside the active one (identity re-reads its key file)
        platform.keys_file.write_text(json.dumps(keys_document("test-key-1", "test-key-2", active="test-key-1")))
        async with httpx.AsyncClient(timeout=30) as client:
            async def kids() -> list[str]:
                jwks = (await client.get(identity + "/.well-known/jwks.json")).json()
                return sorted(k["kid"] for k in jwks["keys"])

            assert await kids() == ["test-key-1", "test-key-2"]
            # 2. verifiers learn the new kid when they first see it; the old key's tokens stay valid
            new_key = {"Authorization": "Bearer " + mint(CITY, "buyer", kid="test-key-2")}

            async def accepted() -> bool:
                return (await client.get(orders + f"/cities/{CITY}/orders", headers=new_key)).status_code == 200

            await eventually(accepted, timeout=15, what="orders accepts the next key")
            old_key = {"Authorization": "Bearer " + mint(CITY, "buyer", kid="test-key-1")}
            assert (await client.get(orders + f"/cities/{CITY}/orders", headers=old_key)).status_code == 200
            # 3. identity signs with the next key; tokens of both keys work everywhere during the overlap
            platform.keys_file.write_text(json.dumps(keys_document("test-key-1", "test-key-2", active="test-key-2")))
            signed = await _sign_in(client, platform, identity, "0814" + str(uuid.uuid4().int)[:8])
            assert jwt.get_unverified_header(signed["access_token"])["kid"] == "test-key-2"
            fresh = {"Authorization": f"Bearer {signed['access_token']}"}
            for service in ("orders", "catalog"):
                path = f"/cities/{CITY}/orders" if service == "orders" else f"/cities/{CITY}/markets"
                assert (await client.get(platform.url(service) + path, headers=fresh)).status_code == 200
            assert (await client.get(orders + f"/cities/{CITY}/orders", headers=old_key)).status_code == 200
            # 4. the old key retired: identity no longer publishes it
            platform.keys_file.write_text(json.dumps(keys_document("test-key-2", active="test-key-2")))
            assert await kids() == ["test-key-2"]
    finally:
        platform.keys_file.write_text(original)


async def test_a_revoked_grant_is_refused_after_one_access_token_lifetime(platform: Platform) -> None:
    """A replica of identity with 2-second access tokens: the revoked role survives at most until ``exp``."""
    from deploy.local.procs import free_port

    name = "identity-short-tokens"
    if name not in platform.procs:
        platform.start("identity", name=name, port=free_port(),
                       env={"PASARKOTA_IDENTITY_ACCESS_TTL_SECONDS": "2", "PASARKOTA_DEMO": "0"})
        await asyncio.to_thread(platform.wait_ready, [name])
    short, identity, catalog = platform.url(name), platform.url("identity"), platform.url("catalog")
    phone = "0815" + str(uuid.uuid4().int)[:8]
    admin = platform.headers(CITY, "city_admin", sub="test-city-admin-revoker")
    async with httpx.AsyncClient(timeout=30) as client:
        granted = await client.post(f"{identity}/cities/{CITY}/grants", headers=admin, json={
            "phone": phone, "role": "market_admin", "scope": MARKET, "reason": "pengelola baru", "name": "Pak Uji"})
        assert granted.status_code == 201, granted.text
        grant = granted.json()["grant"]
        assert (grant["role"], grant["scope"], grant["granted_by"]) == ("market_admin", MARKET,
                                                                        "test-city-admin-revoker")
        tokens = await _sign_in(client, platform, short, phone)
        assert tokens["roles"] == ["market_admin"] and tokens["expires_in"] == 2
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert (await client.get(f"{catalog}/cities/{CITY}/admin/vendors", headers=bearer)).status_code == 200

        revoked = await client.post(f"{identity}/cities/{CITY}/grants/{grant['grant_id']}/revoke", headers=admin,
                                    json={"reason": "pindah tugas"})
        assert revoked.status_code == 200, revoked.text
        # wait out the access token's own lifetime (its exp claim), no longer
        exp = jwt.decode(tokens["access_token"], options={"verify_signature": False})["exp"]
        await asyncio.sleep(max(0.0, exp - time.time()) + 1.0)
        old = await client.get(f"{catalog}/cities/{CITY}/admin/vendors", headers=bearer)
        assert old.status_code == 401 and old.json()["type"].endswith("/token-expired")
        # refreshing re-reads the grants: the role is gone
        refreshed = await client.post(f"{short}/cities/{CITY}/tokens/refresh",
                                      json={"refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 200 and refreshed.json()["roles"] == []
        again = await client.get(f"{catalog}/cities/{CITY}/admin/vendors",
                                 headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"})
        assert again.status_code == 403 and again.json()["type"].endswith("/forbidden-role")


async def test_grants_follow_the_rules_of_who_may_grant_what(platform: Platform) -> None:
    identity = platform.url("identity")
    async with httpx.AsyncClient(timeout=30) as client:
        def grant(headers: dict[str, str], role: str, city: str = CITY, **kw: Any) -> Any:
            return client.post(f"{identity}/cities/{city}/grants", headers=headers,
                               json={"phone": "0816" + str(uuid.uuid4().int)[:8], "role": role, **kw})

        admin = platform.headers(CITY, "city_admin")
        other_city = await grant(admin, "trainer", city="tegal")
        assert other_city.status_code == 403 and other_city.json()["type"].endswith("/other-city")
        assert (await grant(admin, "city_admin")).status_code == 403
        assert (await grant(admin, "trainer", reason="pelatih baru")).status_code == 201
        assert (await grant(admin, "vendor")).status_code == 422  # a vendor grant needs the vendor id
        operator = platform.headers(CITY, "operator")
        assert (await grant(operator, "city_admin", city="tegal")).status_code == 201
        buyer = platform.headers(CITY, "buyer")
        assert (await grant(buyer, "trainer")).status_code == 403
        market_admin = platform.headers(CITY, "market_admin", market_id=MARKET)
        other_market_vendor = demo_id("vendor", CITY, "vendor-02")  # vendor 2 sits in the second market
        refused = await grant(market_admin, "vendor", scope=other_market_vendor)
        assert refused.status_code == 403 and refused.json()["type"].endswith("/vendor-not-in-market")
        own = demo_id("vendor", CITY, "vendor-01")

        async def own_vendor_granted() -> bool:  # identity learns vendors' markets from catalog's events
            return (await grant(market_admin, "vendor", scope=own)).status_code == 201

        await eventually(own_vendor_granted, timeout=30, what="market admin grants a vendor of the own market")


async def test_automatic_grants_from_catalog_and_learning_events(platform: Platform) -> None:
    """A vendor catalog activated (with a phone) and a trainer learning added become accounts with those roles."""
    identity, learning = platform.url("identity"), platform.url("learning")
    admin = platform.headers(CITY, "city_admin")
    async with httpx.AsyncClient(timeout=30) as client:
        demo_vendor = demo_id("vendor", CITY, "vendor-01")  # catalog's demo seed activates it with a fake phone

        async def vendor_granted() -> list[dict[str, Any]]:
            items = (await client.get(f"{identity}/cities/{CITY}/grants", headers=admin)).json()["items"]
            return [g for g in items if g["role"] == "vendor" and g["scope"] == demo_vendor
                    and g["granted_by"] == "system:catalog"]

        assert await eventually(vendor_granted, timeout=60, what="vendor grant from VendorActivated")
        phone = "0821" + str(uuid.uuid4().int)[:8]
        added = await client.post(f"{learning}/cities/{CITY}/admin/trainers", headers=admin,
                                  json={"name": "Pelatih Otomatis", "phone": phone, "expertise": "foto produk"})
        assert added.status_code == 201, added.text

        async def trainer_signs_in() -> dict[str, Any] | None:
            items = (await client.get(f"{identity}/cities/{CITY}/grants", headers=admin)).json()["items"]
            if not any(g["role"] == "trainer" and g["granted_by"] == "system:learning" and g["name"] ==
                       "Pelatih Otomatis" for g in items):
                return None
            return await _sign_in(client, platform, identity, phone)

        tokens = await eventually(trainer_signs_in, timeout=60, what="trainer grant from TrainerAdded")
        assert tokens["roles"] == ["trainer"]
        trainer = {"Authorization": f"Bearer {tokens['access_token']}"}
        sessions = await client.get(f"{learning}/cities/{CITY}/trainer/sessions", headers=trainer)
        assert sessions.status_code == 200, sessions.text  # learning knows the trainer by the account's subject
