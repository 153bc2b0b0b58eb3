"""Who may do what in the catalog: plain functions of the principal and the thing, no IO.

They raise ``shared.errors.Forbidden`` (403) — or ``Conflict`` where the thing's state, not the person, is the
obstacle — with the same codes the HTTP contract has always had.
"""

from __future__ import annotations

from typing import Any

from shared.auth import Principal
from shared.errors import Conflict, Forbidden

Row = dict[str, Any]


def own_vendor(principal: Principal, vendor: Row | None) -> Row:
    """The vendor's own shop in this city (loaded by ``principal.vendor_id``), or 403 ``no-vendor``."""
    if vendor is None or principal.vendor_id is None or vendor["id"] != principal.vendor_id:
        raise Forbidden("no-vendor", "Token Anda tidak terhubung ke toko di kota ini. / "
                                     "Your token has no shop in this city.")
    return vendor


def admin_market(principal: Principal) -> str | None:
    """The market a market admin acts for; None for a city admin or operator (all markets of their city)."""
    if principal.has("city_admin", "operator"):
        return None
    if not principal.market_id:
        raise Forbidden("no-market", "Token pengelola pasar tanpa market_id. / Market admin token has no market_id.")
    return principal.market_id


def _not_your_market() -> Forbidden:
    return Forbidden("other-market", "Bukan pasar Anda. / Not your market.")


def may_manage_market(principal: Principal, market_id: str | None) -> str | None:
    """An admin naming ``market_id`` (None: not named) must be allowed in it; returns the admin's own market."""
    own = admin_market(principal)
    if own is not None and market_id is not None and market_id != own:
        raise _not_your_market()
    return own


def vendor_list_scope(principal: Principal, market_id: str | None) -> str | None:
    """The market filter of the admin vendor list: a market admin sees only theirs, a city admin any."""
    return may_manage_market(principal, market_id) or market_id


def may_act_on_vendor(actor_market_id: str | None, target_market: str | None) -> None:
    """A market admin acts only on vendors of their market (a city admin, ``actor_market_id`` None, on any)."""
    if actor_market_id is not None and target_market != actor_market_id:
        raise Forbidden("other-market", "Pedagang ini bukan dari pasar Anda. / This vendor is not in your market.")


def may_edit_product(vendor_id: str | None, product: Row) -> None:
    """Only the product's own vendor edits it (another city's product is not found before this)."""
    if product["vendor_id"] != vendor_id:
        raise Forbidden("other-vendor", "Produk ini milik pedagang lain. / This product belongs to another vendor.")


def may_list_products(vendor: Row) -> None:
    """A suspended shop lists nothing (403); a draft without a market cannot yet (409)."""
    if vendor["status"] == "suspended":
        raise Forbidden("vendor-suspended", "Toko Anda sedang ditangguhkan. / Your shop is suspended.")
    if vendor["market_id"] is None:
        raise Conflict("vendor-without-market", "Toko Anda belum terdaftar di pasar. / Your shop has no market yet.")
