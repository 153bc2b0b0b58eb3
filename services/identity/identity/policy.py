"""Who may grant or revoke which role where, as plain functions (unit-tested in tests/identity)."""

from __future__ import annotations

from identity.domain import STAFF_ROLES, not_own_city
from shared.auth import Principal
from shared.errors import Forbidden


def _refuse_role() -> Forbidden:
    return Forbidden("grant-not-allowed", "Anda tidak boleh memberi atau mencabut peran ini. / "
                     "You may not grant or revoke this role.")


def check_may_grant(actor: Principal, city: str, role: str, *, vendor_market: str | None = None) -> None:
    """Operators grant city admins (and staff) anywhere; a city admin grants staff roles in the own city only;
    a market admin grants ``vendor`` for vendors of the own market (``vendor_market``: the vendor's market) and
    ``courier`` (kurir pasar) for the own market (``vendor_market``: the courier's market)."""
    if actor.has("operator"):
        if role == "operator":
            raise _refuse_role()  # the first and further operators come from the CLI only
        return
    if city != actor.city:
        raise not_own_city()
    if actor.has("city_admin") and role in STAFF_ROLES:
        return
    if actor.has("market_admin") and role in ("vendor", "courier"):
        if vendor_market is None or vendor_market != actor.market_id:
            raise Forbidden("vendor-not-in-market", "Pedagang ini bukan dari pasar Anda. / This vendor is not in "
                            "your market.")
        return
    raise _refuse_role()


def check_may_list_grants(actor: Principal, city: str) -> None:
    if actor.has("operator"):
        return
    if city != actor.city:
        raise not_own_city()
    if not actor.has("city_admin", "market_admin"):
        raise _refuse_role()
