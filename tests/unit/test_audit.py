"""The audit list on the unit of work: only changed fields, scoped to the city, committed with the work."""

from __future__ import annotations

import pytest

from shared.audit import changed
from shared.auth import Principal
from shared.uow import in_memory

ADMIN = Principal(sub="acc-1", city="cimahi", roles=frozenset({"city_admin"}))


def test_changed_keeps_only_the_fields_that_differ() -> None:
    assert changed({"name": "Pasar Atas", "opens": "06:00"}, {"name": "Pasar Atas", "opens": "05:00"}) == (
        {"opens": "06:00"}, {"opens": "05:00"})
    assert changed(None, {"name": "RW 05"}) == (None, {"name": "RW 05"})
    assert changed({"name": "RW 05"}, None) == ({"name": "RW 05"}, None)


@pytest.mark.asyncio
async def test_entries_commit_with_the_work_and_carry_actor_and_city() -> None:
    async with in_memory(object(), city="cimahi", correlation_id="c-1") as uow:
        uow.audit(ADMIN, "market", "m-1", "hours_changed", before={"opens": "06:00"}, after={"opens": "05:00"})
        assert uow.audit_list == []  # not before commit
    [entry] = uow.audit_list
    assert (entry.city, entry.actor, entry.actor_roles, entry.entity, entry.action) == (
        "cimahi", "acc-1", ("city_admin",), "market", "hours_changed")
    assert (entry.before, entry.after, entry.correlation_id) == ({"opens": "06:00"}, {"opens": "05:00"}, "c-1")


@pytest.mark.asyncio
async def test_a_failed_use_case_leaves_nothing_on_the_list() -> None:
    with pytest.raises(RuntimeError):
        async with in_memory(object()) as uow:
            uow.audit(ADMIN, "market", "m-1", "closed", before={"open": True}, after={"open": False})
            raise RuntimeError("refused")
    assert uow.audit_list == []
