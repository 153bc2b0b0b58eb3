"""Who may do what with payments: plain functions of the principal and the thing (no IO)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.auth import Principal

STAFF = ("city_admin", "operator")
"""City staff: refunds, settlements, and every payment of their city."""


def is_staff(who: Principal) -> bool:
    return who.has(*STAFF)


def may_see_payment(who: Principal, intent: Mapping[str, Any]) -> bool:
    """The buyer of the order or city staff; anyone else is told there is no such payment (404, not 403)."""
    return is_staff(who) or (who.has("buyer") and who.sub == intent["buyer_id"])



def may_see_vendor_money(who: Principal, vendor_id: str) -> bool:
    """A vendor's balance and payouts: the vendor themself or city staff (anyone else: 404)."""
    return is_staff(who) or (who.has("vendor") and who.vendor_id == vendor_id)
