"""Access tokens for tests, signed the way identity signs them — with the test stack's key, which the test
``Platform`` hands to the identity service (its key file) and nobody else.

* :func:`mint` — an EdDSA token for any subject, roles and claims (``platform.token`` / ``platform.headers``);
* :data:`TEST_JWKS` — the public half, pinned for in-process tests (``PASARKOTA_JWKS_JSON``, set by conftest);
* :func:`keys_document` — the key file identity reads (``PASARKOTA_IDENTITY_KEYS_FILE``).

Other services in the test stack verify against identity's JWKS over HTTP, exactly as in production.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.auth import ALGORITHM, ISSUER

TEST_KID = "test-key-1"


def test_key(seed: str = TEST_KID) -> Ed25519PrivateKey:
    """A fixed key per seed, so every process of a test run agrees on it without passing it around."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(f"pasarkota-test-key:{seed}".encode()).digest())


def private_pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def keys_document(*kids: str, active: str = TEST_KID) -> dict[str, Any]:
    """Identity's key file holding the test keys ``kids`` (default: the one test key)."""
    return {"active": active, "keys": [{"kid": kid, "private_pem": private_pem(test_key(kid))}
                                       for kid in (kids or (TEST_KID,))]}


def public_jwk(kid: str = TEST_KID) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(test_key(kid).public_key()))
    return {**jwk, "kid": kid, "alg": ALGORITHM, "use": "sig"}


TEST_JWKS = json.dumps({"keys": [public_jwk()]})


def claims_for(city: str, roles: list[str], *, sub: str, vendor_id: str | None = None, market_id: str | None = None,
               ttl_seconds: int = 12 * 3600, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": sub, "city": city, "roles": roles, "iss": ISSUER, "iat": now,
                              "exp": now + ttl_seconds, **extra}
    if vendor_id:
        claims["vendor_id"] = vendor_id
    if market_id:
        claims["market_id"] = market_id
    return claims


def mint(city: str, role: str | list[str], *, sub: str | None = None, vendor_id: str | None = None,
         market_id: str | None = None, ttl_seconds: int = 12 * 3600, kid: str = TEST_KID) -> str:
    """A token as identity would sign it (EdDSA, ``kid``) with the test key ``kid``."""
    roles = [role] if isinstance(role, str) else list(role)
    if "vendor" in roles and not vendor_id:
        raise ValueError("a vendor token needs vendor_id")
    claims = claims_for(city, roles, sub=sub or f"test-{roles[0]}-{city}", vendor_id=vendor_id, market_id=market_id,
                        ttl_seconds=ttl_seconds)
    return jwt.encode(claims, test_key(kid), algorithm=ALGORITHM, headers={"kid": kid})


def bearer(city: str, role: str | list[str], **kw: Any) -> dict[str, str]:
    return {"Authorization": "Bearer " + mint(city, role, **kw)}
