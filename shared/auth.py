"""Bearer-token auth: verify-only. Access tokens are signed by the identity service alone.

Identity signs short-lived EdDSA (Ed25519) JWTs with a ``kid`` header and publishes the public keys at
``/.well-known/jwks.json``. Every other service holds **no signing key**: :class:`KeySet` fetches that JWKS
from ``PASARKOTA_IDENTITY_URL`` (or reads a pinned ``PASARKOTA_JWKS_JSON`` of public keys), caches it, and
refetches when a token names a ``kid`` it has not seen — at most once per ``PASARKOTA_JWKS_REFETCH_SECONDS``,
so a flood of made-up kids cannot turn into a flood of requests to identity. Only ``EdDSA`` is accepted:
``alg: none``, HS256 (the old shared secret) and anything else is refused as an invalid token.

``require(...)`` then checks roles and the ``{city}`` of the path (only ``operator`` spans cities).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, Request

from shared.logging import get_logger
from shared.metrics import AUTH_REFUSED
from shared.problems import Problem
from shared.settings import Settings, get_settings

log = get_logger(__name__)

ROLES = ("buyer", "vendor", "market_admin", "city_admin", "trainer", "participant", "courier", "operator")
ISSUER = "pasarkota"
ALGORITHM = "EdDSA"
JWKS_PATH = "/.well-known/jwks.json"


@dataclass(frozen=True)
class Principal:
    sub: str
    city: str
    roles: frozenset[str] = field(default_factory=frozenset)
    vendor_id: str | None = None
    market_id: str | None = None

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


def _invalid(reason: str) -> Problem:
    AUTH_REFUSED.labels(reason).inc()
    return Problem(401, "Token tidak valid. / Invalid token.", code="invalid-token")


class KeySet:
    """The identity service's public keys by ``kid``: fetched, cached, refetched on an unknown kid (rate-limited)."""

    def __init__(self, *, url: str | None = None, jwks: dict[str, Any] | None = None, cache_seconds: float = 300.0,
                 refetch_min_seconds: float = 10.0) -> None:
        self.url = url
        self.cache_seconds = cache_seconds
        self.refetch_min_seconds = refetch_min_seconds
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._attempted_at = -1e9
        self._lock = threading.Lock()
        self._pinned = jwks is not None
        if jwks is not None:
            self._keys = self._parse(jwks)

    @classmethod
    def from_settings(cls, s: Settings) -> KeySet:
        if s.jwks_json:
            return cls(jwks=json.loads(s.jwks_json))
        return cls(url=s.identity_url.rstrip("/") + JWKS_PATH, cache_seconds=s.jwks_cache_seconds,
                   refetch_min_seconds=s.jwks_refetch_seconds)

    @staticmethod
    def _parse(jwks: dict[str, Any]) -> dict[str, Any]:
        keys: dict[str, Any] = {}
        for jwk in jwks.get("keys", []):
            if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "d" in jwk:
                continue  # only Ed25519 public keys; a JWKS that carries a private part is not trusted for it
            kid = jwk.get("kid")
            if isinstance(kid, str) and kid:
                keys[kid] = jwt.PyJWK(jwk, algorithm=ALGORITHM).key
        return keys

    def _fetch(self) -> None:
        assert self.url is not None
        self._attempted_at = time.monotonic()
        try:
            response = httpx.get(self.url, timeout=3.0)
            response.raise_for_status()
            self._keys = self._parse(response.json())
            self._fetched_at = time.monotonic()
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            log.warning("JWKS fetch failed", url=self.url, error=repr(exc))

    def fresh(self, kid: str) -> bool:
        """True when :meth:`key` answers from memory, without fetching the JWKS (no blocking call)."""
        if self._pinned:
            return True
        now = time.monotonic()
        if now - self._attempted_at < self.refetch_min_seconds:
            return True  # a fetch was tried a moment ago: key() will not try again
        return kid in self._keys and now - self._fetched_at <= self.cache_seconds

    def key(self, kid: str) -> Any | None:
        """The public key for ``kid``, or None (unknown even after an allowed refetch)."""
        if self._pinned:
            return self._keys.get(kid)
        with self._lock:
            now = time.monotonic()
            stale = now - self._fetched_at > self.cache_seconds
            unknown = kid not in self._keys
            if (stale or unknown) and now - self._attempted_at >= self.refetch_min_seconds:
                self._fetch()
            return self._keys.get(kid)


_keyset: KeySet | None = None


def keyset() -> KeySet:
    """The process's key set, built from settings on first use."""
    global _keyset
    if _keyset is None:
        _keyset = KeySet.from_settings(get_settings())
    return _keyset


def use_keyset(keys: KeySet | None) -> None:
    """Replace the process's key set (tests; identity verifies against its own keys in-process)."""
    global _keyset
    _keyset = keys


def verify_token(token: str, keys: KeySet | None = None) -> Principal:
    """The principal of a valid EdDSA access token signed by identity; a 401 problem otherwise."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise _invalid("malformed") from None
    if header.get("alg") != ALGORITHM:
        raise _invalid("algorithm")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _invalid("no-kid")
    key = (keys or keyset()).key(kid)
    if key is None:
        raise _invalid("unknown-kid")
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], issuer=ISSUER,
                            options={"require": ["sub", "city", "roles", "exp", "iat"]})
    except jwt.ExpiredSignatureError:
        AUTH_REFUSED.labels("expired").inc()
        raise Problem(401, "Sesi Anda telah berakhir, silakan masuk lagi. / Token expired.",
                      code="token-expired") from None
    except jwt.PyJWTError:
        raise _invalid("signature") from None
    roles = claims.get("roles")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise _invalid("claims")
    vendor_id, market_id = claims.get("vendor_id"), claims.get("market_id")
    return Principal(sub=str(claims["sub"]), city=str(claims["city"]), roles=frozenset(roles),
                     vendor_id=vendor_id if isinstance(vendor_id, str) else None,
                     market_id=market_id if isinstance(market_id, str) else None)


async def current_principal(request: Request) -> Principal:
    """The bearer token's principal. Verified on the event loop (an EdDSA check is microseconds; a sync
    dependency would cost every request a hop to FastAPI's thread pool); only a JWKS fetch, which blocks, runs
    in a thread."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Problem(401, "Silakan masuk terlebih dahulu. / A bearer token is required.", code="unauthenticated")
    token = token.strip()
    keys = keyset()
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        kid = None
    if isinstance(kid, str) and kid and not keys.fresh(kid):
        import anyio.to_thread

        await anyio.to_thread.run_sync(keys.key, kid)  # refresh the cache off the loop; verify_token reads it
    return verify_token(token, keys)


def require(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """Dependency: a principal with one of ``roles``, acting in the ``{city}`` of the path (if any).

    Nobody acting for one city can touch another city's data; only ``operator`` spans cities.
    """

    async def dependency(request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if roles and not principal.has(*roles):
            raise Problem(403, "Peran Anda tidak diizinkan untuk tindakan ini. / Your role may not do this.",
                          code="forbidden-role")
        city = request.path_params.get("city")
        if city is not None and city != principal.city and not principal.has("operator"):
            raise Problem(403, "Anda tidak dapat mengakses data kota lain. / Not your city.", code="other-city")
        return principal

    # marks the route as authenticated: its OpenAPI declares bearer auth and the 401/403 problems
    dependency.pasarkota_auth = True  # type: ignore[attr-defined]
    return dependency
