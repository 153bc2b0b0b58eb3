"""Wrong configuration is one clear line naming the variable, and a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys


def serve(env_overrides: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASARKOTA_")}
    env.update(env_overrides)
    return subprocess.run([sys.executable, "-m", "deploy.cli", "serve", "catalog"], env=env,
                          capture_output=True, text=True, timeout=60)


def test_missing_database_url_names_the_variable() -> None:
    out = serve({})
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "PASARKOTA_DATABASE_URL is not set" in out.stderr


def test_invalid_value_names_the_variable() -> None:
    out = serve({"PASARKOTA_HTTP_PORT": "eighty", "PASARKOTA_DATABASE_URL": "postgresql://x@y/z"})
    assert out.returncode == 2
    assert "PASARKOTA_HTTP_PORT" in out.stderr and out.stderr.count("\n") == 1


def test_production_without_a_secret_is_refused() -> None:
    out = serve({"PASARKOTA_ENV": "prod", "PASARKOTA_DATABASE_URL": "postgresql://x@y/z"})
    assert out.returncode == 2 and "PASARKOTA_DATABASE_URL" in out.stderr
