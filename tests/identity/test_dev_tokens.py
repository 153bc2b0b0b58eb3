"""Development tokens exist outside production only (identity's route and `pasarkota token`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shared.settings import Settings
from tests.tokens import keys_document


@pytest.fixture
def identity_app(tmp_path: Path) -> TestClient:
    from identity.app import build
    from identity.settings import IdentitySettings

    path = tmp_path / "keys.json"
    path.write_text(json.dumps(keys_document()))
    return TestClient(build(IdentitySettings(keys_file=str(path))), raise_server_exceptions=False)


def test_dev_tokens_outside_prod_and_404_in_prod(identity_app: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import identity.http

    body = {"sub": "dev-buyer", "roles": ["buyer"]}
    made = identity_app.post("/cities/cimahi/dev/tokens", json=body)
    assert made.status_code == 200 and made.json()["roles"] == ["buyer"]
    monkeypatch.setattr(identity.http, "get_settings", lambda: Settings(env="prod"))
    refused = identity_app.post("/cities/cimahi/dev/tokens", json=body)
    assert refused.status_code == 404 and refused.headers["content-type"] == "application/problem+json"
    jwks = identity_app.get("/.well-known/jwks.json").json()
    assert [k["kid"] for k in jwks["keys"]] == ["test-key-1"] and "d" not in jwks["keys"][0]
