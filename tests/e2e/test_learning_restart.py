"""Learning survives a crash: the demo seeder runs again at start and adds nothing; data and service are intact."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Platform

pytestmark = pytest.mark.integration


def test_killed_learning_restarts_without_seeding_twice(platform: Platform) -> None:
    url = platform.url("learning")
    admin = platform.headers("tegal", "city_admin")
    before = httpx.get(f"{url}/cities/tegal/admin/reports/programmes", headers=admin).json()
    trainers_before = httpx.get(f"{url}/cities/tegal/admin/trainers", headers=admin).json()
    assert before["programmes"]
    platform.kill("learning")
    platform.restart("learning")
    assert httpx.get(f"{url}/cities/tegal/admin/reports/programmes", headers=admin).json() == before
    assert httpx.get(f"{url}/cities/tegal/admin/trainers", headers=admin).json() == trainers_before
    mine = httpx.get(f"{url}/cities/tegal/trainer/sessions",
                     headers=platform.headers("tegal", "trainer", sub="demo-trainer-tegal-1")).json()
    assert mine["sessions"] and all(s["style"] == "webinar" for s in mine["sessions"])
