"""In production the simulator does not exist and every city must have its own webhook secret."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = "import payments.app as a; print(sorted(p for p in a.app.openapi()['paths'] if 'simulator' in p))"


def run(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASARKOTA_CITY_")}
    env.update({"PASARKOTA_JWT_SECRET": "a-real-secret", **extra})
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60)


def test_prod_refuses_the_development_webhook_secrets() -> None:
    out = run({"PASARKOTA_ENV": "prod"})
    assert out.returncode != 0 and "PASARKOTA_CITY_CIMAHI_WEBHOOK_SECRET" in out.stderr


def test_prod_has_no_simulator_and_dev_has_one() -> None:
    secrets = {"PASARKOTA_CITY_CIMAHI_WEBHOOK_SECRET": "s1", "PASARKOTA_CITY_TEGAL_WEBHOOK_SECRET": "s2"}
    prod = run({"PASARKOTA_ENV": "prod", **secrets})
    dev = run({"PASARKOTA_ENV": "dev"})
    assert prod.returncode == 0, prod.stderr
    assert prod.stdout.strip() == "[]"
    assert dev.stdout.strip() == "['/simulator/{city}/expire', '/simulator/{city}/pay']"
