"""Who may see a payment: the order's buyer or the city's staff; anyone else is told it does not exist."""

from __future__ import annotations

import pytest

from payments import policy
from shared.auth import Principal

INTENT = {"buyer_id": "buyer-7"}


def who(*roles: str, sub: str = "someone") -> Principal:
    return Principal(sub=sub, city="cimahi", roles=frozenset(roles))


@pytest.mark.parametrize(("principal", "allowed"), [
    (who("buyer", sub="buyer-7"), True),
    (who("buyer", sub="buyer-8"), False),
    (who("city_admin"), True),
    (who("operator"), True),
    (who("vendor", sub="buyer-7"), False),   # the same subject without the buyer role
    (who(), False),
])
def test_may_see_payment(principal: Principal, allowed: bool) -> None:
    assert policy.may_see_payment(principal, INTENT) is allowed


def test_staff_are_city_admins_and_operators() -> None:
    assert policy.is_staff(who("city_admin")) and policy.is_staff(who("operator", "buyer"))
    assert not policy.is_staff(who("buyer")) and not policy.is_staff(who("vendor"))
    assert set(policy.STAFF) == {"city_admin", "operator"}
