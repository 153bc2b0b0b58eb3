"""The payments benchmark runs end to end on the real platform (small N) and finds nothing lost or doubled.

No wall-clock assertions: the figures are for docs/payments.md, produced by `pasarkota bench payments`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from payments.bench import print_table, run
from tests.conftest import Platform

pytestmark = pytest.mark.integration


async def test_bench_small_burst_loses_and_duplicates_nothing(platform: Platform, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", platform.infra.bootstrap)
    monkeypatch.setenv("DATABASE_URL", platform.infra.admin_url)
    monkeypatch.setenv("PASARKOTA_PAYMENTS_URL", platform.url("payments"))
    output = tmp_path / "payments.json"
    report = await run(count=200, rate=0, concurrency=8, output=str(output), progress=lambda *_: None)
    assert report["webhook"]["accepted"] == 200 and report["webhook"]["non_2xx"] == 0
    assert report["effects"] == {**report["effects"], "succeeded_orders": 200, "lost": 0, "duplicated": 0}
    assert report["raw"]["kafka_producer"]["records"] == 200
    assert report["raw"]["postgres_insert"]["commits_per_second_1_conn"] > 0
    assert json.loads(output.read_text())["count"] == 200
    print_table(report)  # visible with -s
