"""Who may do what in the catalog (``catalog/policy.py``): plain functions, no IO."""

from __future__ import annotations

import pytest

from catalog import policy
from shared.auth import Principal
from shared.errors import Conflict, Forbidden

CITY = "cimahi"


def who(*roles: str, vendor_id: str | None = None, market_id: str | None = None) -> Principal:
    return Principal(sub="u", city=CITY, roles=frozenset(roles), vendor_id=vendor_id, market_id=market_id)


def vendor_row(vendor_id: str = "v1", *, status: str = "active", market_id: str | None = "m1") -> dict[str, object]:
    return {"id": vendor_id, "status": status, "market_id": market_id}


def test_own_vendor_is_the_tokens_shop_or_403() -> None:
    shop = vendor_row("v1")
    assert policy.own_vendor(who("vendor", vendor_id="v1"), shop) is shop
    for principal, row in ((who("vendor", vendor_id="v1"), None), (who("vendor"), shop),
                           (who("vendor", vendor_id="v2"), shop)):
        with pytest.raises(Forbidden) as refused:
            policy.own_vendor(principal, row)
        assert refused.value.code == "no-vendor"


def test_admin_market_city_admin_spans_the_city_market_admin_needs_a_market() -> None:
    assert policy.admin_market(who("city_admin")) is None
    assert policy.admin_market(who("operator")) is None
    assert policy.admin_market(who("market_admin", market_id="m1")) == "m1"
    with pytest.raises(Forbidden) as refused:
        policy.admin_market(who("market_admin"))
    assert refused.value.code == "no-market"


def test_a_market_admin_manages_only_their_market() -> None:
    admin = who("market_admin", market_id="m1")
    assert policy.may_manage_market(admin, "m1") == "m1"
    assert policy.may_manage_market(admin, None) == "m1"
    assert policy.may_manage_market(who("city_admin"), "m2") is None
    with pytest.raises(Forbidden) as refused:
        policy.may_manage_market(admin, "m2")
    assert refused.value.code == "other-market"


def test_vendor_list_scope() -> None:
    assert policy.vendor_list_scope(who("market_admin", market_id="m1"), None) == "m1"
    assert policy.vendor_list_scope(who("city_admin"), None) is None
    assert policy.vendor_list_scope(who("city_admin"), "m2") == "m2"
    with pytest.raises(Forbidden):
        policy.vendor_list_scope(who("market_admin", market_id="m1"), "m2")


def test_acting_on_a_vendor_of_another_market_is_forbidden() -> None:
    policy.may_act_on_vendor(None, "m2")  # city admin
    policy.may_act_on_vendor("m1", "m1")
    with pytest.raises(Forbidden) as refused:
        policy.may_act_on_vendor("m1", "m2")
    assert refused.value.code == "other-market"


def test_only_the_owner_edits_a_product() -> None:
    policy.may_edit_product("v1", {"vendor_id": "v1"})
    for vendor_id in ("v2", None):
        with pytest.raises(Forbidden) as refused:
            policy.may_edit_product(vendor_id, {"vendor_id": "v1"})
        assert refused.value.code == "other-vendor"


def test_suspended_or_market_less_shops_list_nothing() -> None:
    policy.may_list_products(vendor_row())
    policy.may_list_products(vendor_row(status="pending"))
    with pytest.raises(Forbidden) as suspended:
        policy.may_list_products(vendor_row(status="suspended"))
    assert suspended.value.code == "vendor-suspended"
    with pytest.raises(Conflict) as draft:
        policy.may_list_products(vendor_row(status="draft", market_id=None))
    assert draft.value.code == "vendor-without-market"
