"""Who may do what in learning (learning/policy.py): plain functions, no IO."""

from __future__ import annotations

import pytest

from learning import policy
from shared.auth import Principal
from shared.errors import Forbidden


def who(*roles: str, city: str = "cimahi", vendor_id: str | None = None, sub: str = "someone") -> Principal:
    return Principal(sub=sub, city=city, roles=frozenset(roles), vendor_id=vendor_id)


@pytest.mark.parametrize(("principal", "session_trainer", "callers_trainer", "ok"), [
    (who("trainer"), "t1", "t1", True),
    (who("trainer"), "t1", "t2", False),
    (who("trainer"), "t1", None, False),         # a trainer token without a trainer record
    (who("trainer"), None, None, False),         # a session without a trainer is not "everyone's"
    (who("city_admin"), "t1", None, True),
    (who("operator"), None, None, True),
])
def test_a_trainer_runs_only_their_own_sessions(principal: Principal, session_trainer: str | None,
                                                callers_trainer: str | None, ok: bool) -> None:
    assert policy.may_run_session(principal, session_trainer, callers_trainer) is ok
    if not ok:
        with pytest.raises(Forbidden) as err:
            policy.ensure_runs_session(principal, session_trainer, callers_trainer)
        assert err.value.code == "not-your-session"


@pytest.mark.parametrize(("principal", "vendor_city", "ok"), [
    (None, None, False),                                            # anonymous self-registration proves nothing
    (who("participant"), None, False),
    (who("buyer"), None, False),
    (who("vendor", vendor_id="v1"), None, True),                    # the vendor's own account
    (who("vendor", vendor_id="v2"), None, False),                   # another vendor's account
    (who("vendor", vendor_id="v1", city="tegal"), None, False),     # that vendor, acting for another city
    (who("market_admin"), None, True),
    (who("city_admin"), None, True),
    (who("city_admin", city="tegal"), None, False),
    (who("city_admin"), "tegal", False),                            # a vendor known to be of another city
    (who("vendor", vendor_id="v1"), "cimahi", True),
    (who("trainer"), None, False),
])
def test_a_vendor_link_must_be_proven(principal: Principal | None, vendor_city: str | None, ok: bool) -> None:
    assert policy.may_link_vendor(principal, "cimahi", "v1", vendor_city) is ok
    if not ok:
        with pytest.raises(Forbidden) as err:
            policy.ensure_may_link_vendor(principal, "cimahi", "v1", vendor_city)
        assert err.value.code == "vendor-link-unproven"
