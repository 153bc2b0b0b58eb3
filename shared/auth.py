"""Bearer-token auth: signed JWTs carrying subject, city and roles; city scoping on ``/cities/{city}``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

import jwt
from fastapi import Depends, Request

from shared.problems import Problem
from shared.settings import get_settings

ROLES = ("buyer", "vendor", "market_admin", "city_admin", "trainer", "participant", "operator")
ISSUER = "pasarkota"


@dataclass(frozen=True)
class Principal:
    sub: str
    city: str
    roles: frozenset[str] = field(default_factory=frozenset)
    vendor_id: str | None = None
    market_id: str | None = None

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


def mint_token(secret: str, *, sub: str, city: str, roles: list[str], vendor_id: str | None = None,
               market_id: str | None = None, ttl_seconds: int = 12 * 3600) -> str:
    """A signed HS256 token. Used by ``pasarkota token`` and by the portal's sign-in."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown role(s) {sorted(unknown)}; choose from {', '.join(ROLES)}")
    if "vendor" in roles and not vendor_id:
        raise ValueError("a vendor token needs --vendor <vendor id>")
    now = int(time.time())
    claims: dict[str, object] = {"sub": sub, "city": city, "roles": roles, "iss": ISSUER,
                                 "iat": now, "exp": now + ttl_seconds}
    if vendor_id:
        claims["vendor_id"] = vendor_id
    if market_id:
        claims["market_id"] = market_id
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_token(secret: str, token: str) -> Principal:
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], issuer=ISSUER,
                            options={"require": ["sub", "city", "roles", "exp"]})
    except jwt.ExpiredSignatureError:
        raise Problem(401, "Sesi Anda telah berakhir, silakan masuk lagi. / Token expired.",
                      code="token-expired") from None
    except jwt.PyJWTError:
        raise Problem(401, "Token tidak valid. / Invalid token.", code="invalid-token") from None
    roles = claims.get("roles")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Problem(401, "Token tidak valid. / Invalid token.", code="invalid-token")
    return Principal(sub=str(claims["sub"]), city=str(claims["city"]), roles=frozenset(roles),
                     vendor_id=claims.get("vendor_id"), market_id=claims.get("market_id"))


def current_principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Problem(401, "Silakan masuk terlebih dahulu. / A bearer token is required.", code="unauthenticated")
    return verify_token(get_settings().jwt_secret.get_secret_value(), token.strip())


def require(*roles: str) -> Callable[..., Principal]:
    """Dependency: a principal with one of ``roles``, acting in the ``{city}`` of the path (if any).

    Nobody acting for one city can touch another city's data; only ``operator`` spans cities.
    """

    def dependency(request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
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
