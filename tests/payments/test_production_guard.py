"""In production the simulator does not exist and every city must have its own strong webhook secret.

Settings are read when the app is built (``create_app``), not at import, so these run in-process.
"""

from __future__ import annotations

import secrets

import pytest

from payments.app import create_app
from shared.settings import Settings

CIMAHI, TEGAL = "PASARKOTA_CITY_CIMAHI_WEBHOOK_SECRET", "PASARKOTA_CITY_TEGAL_WEBHOOK_SECRET"
STRONG = {CIMAHI: secrets.token_hex(32), TEGAL: secrets.token_hex(32)}


def settings(env: str) -> Settings:
    return Settings(env=env)  # type: ignore[arg-type]


def simulator_paths(environ: dict[str, str], env: str = "prod") -> list[str]:
    app = create_app(settings(env), environ=environ)
    return sorted(p for p in app.openapi()["paths"] if "simulator" in p)


def test_prod_refuses_the_development_webhook_secrets() -> None:
    with pytest.raises(RuntimeError) as refused:
        create_app(settings("prod"), environ={})
    assert CIMAHI in str(refused.value) and TEGAL in str(refused.value)
    dev = {CIMAHI: "dev-webhook-secret-cimahi", TEGAL: "dev-webhook-secret-tegal"}
    with pytest.raises(RuntimeError, match=CIMAHI):
        create_app(settings("prod"), environ=dev)


@pytest.mark.parametrize(("value", "why"), [
    ("", "empty"),
    ("s1", "shorter than"),
    ("0123456789abcdef0123456789abcd", "shorter than"),
    ("CHANGE_ME_CIMAHI_WEBHOOK_SECRET", "placeholder"),
    ("change_me_" + secrets.token_hex(16), "placeholder"),
    ("a" * 64, "predictable"),
])
def test_prod_refuses_weak_webhook_secrets_naming_the_variable(value: str, why: str) -> None:
    with pytest.raises(RuntimeError) as refused:
        create_app(settings("prod"), environ={**STRONG, CIMAHI: value})
    message = str(refused.value)
    assert f"{CIMAHI} (" in message and why in message and TEGAL not in message
    if value:
        assert value not in message  # a secret is never printed


def test_prod_refuses_a_weak_database_password() -> None:
    with pytest.raises(RuntimeError, match="PASARKOTA_DATABASE_URL"):
        create_app(Settings(env="prod", database_url="postgresql://pk_payments:pk-payments-dev@db/pasarkota"),
                   environ=STRONG)


def test_prod_has_no_simulator_and_dev_has_one() -> None:
    assert simulator_paths(STRONG) == []
    assert simulator_paths({}, env="dev") == ["/simulator/{city}/expire", "/simulator/{city}/pay",
                                              "/simulator/{city}/settlement-file"]


def test_the_app_uses_the_secrets_it_was_started_with() -> None:
    app = create_app(settings("prod"), environ=STRONG)
    assert dict(app.state.payments.config.webhook_secrets) == {"cimahi": STRONG[CIMAHI], "tegal": STRONG[TEGAL]}
    assert app.state.kernel.body_limits["/acquirer/"] == 16 * 1024
