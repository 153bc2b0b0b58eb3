"""Every template renders in Bahasa Indonesia from its parameters; a city's file overrides the default; a
template naming a variable the message lacks fails loudly; webhook signatures are checked exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifications import domain, policy
from notifications.rendering import TemplateFailed, check_all, render


def sample(name: str) -> dict[str, str]:
    return {p: f"<{p}>" for p in domain.template(name).params}


@pytest.mark.parametrize("name", sorted(domain.CATALOGUE))
def test_every_template_renders_every_parameter(name: str) -> None:
    text = render(name, sample(name))
    for p in domain.template(name).params:
        assert f"<{p}>" in text, (name, p)
    assert len(text) <= 1024  # WhatsApp's template body limit


def test_the_templates_speak_indonesian() -> None:
    assert "Kode pengambilan: 123456" in render("order_ready", sample("order_ready") | {"pickup_code": "123456"})
    assert render("signin_code", {"code": "111222", "minutes": "5"}).startswith("Kode masuk PasarKota Anda: 111222")


def test_a_city_overrides_a_template_with_a_file_of_the_same_name(tmp_path: Path) -> None:
    (tmp_path / "order_paid.txt").write_text("Lunas: {{ total }} ({{ order_ref }})\n")
    assert render("order_paid", {"total": "Rp 5.000", "order_ref": "AB12CD34"}, str(tmp_path)) == \
        "Lunas: Rp 5.000 (AB12CD34)"
    # the others still come from the defaults
    assert "Pesanan" in render("order_completed", sample("order_completed"), str(tmp_path))
    tegal = render("certificate_issued", sample("certificate_issued"), "config/templates/tegal")
    assert tegal.startswith("Sugeng!")


def test_a_template_naming_a_missing_variable_or_broken_fails_loudly(tmp_path: Path) -> None:
    (tmp_path / "order_paid.txt").write_text("{{ total }} {{ tidak_ada }}")
    with pytest.raises(TemplateFailed, match=r"order_paid.*tidak_ada"):
        render("order_paid", {"total": "Rp 1", "order_ref": "X"}, str(tmp_path))
    (tmp_path / "order_completed.txt").write_text("{% if %}")
    with pytest.raises(TemplateFailed, match="order_completed"):
        check_all(["order_completed"], [str(tmp_path)])


def test_webhook_signatures() -> None:
    body = b'{"object":"whatsapp_business_account"}'
    good = policy.signature_of("rahasia", body)
    assert good.startswith("sha256=") and policy.valid_signature("rahasia", body, good)
    assert not policy.valid_signature("rahasia", body + b" ", good)
    assert not policy.valid_signature("lain", body, good)
    assert not policy.valid_signature("rahasia", body, None)
    assert not policy.valid_signature("rahasia", body, good.removeprefix("sha256="))
    assert policy.dev_endpoints_enabled("dev") and policy.dev_endpoints_enabled("test")
    assert not policy.dev_endpoints_enabled("prod")


def test_production_refuses_the_simulator_and_weak_webhook_secrets() -> None:
    from pydantic import SecretStr

    from notifications.app import refuse_unsafe_production
    from notifications.settings import NotificationsSettings

    refuse_unsafe_production(NotificationsSettings(), "dev")  # the simulator is the development default
    with pytest.raises(RuntimeError, match="PROVIDER=simulator"):
        refuse_unsafe_production(NotificationsSettings(), "prod")
    with pytest.raises(RuntimeError, match="PASARKOTA_NOTIFICATIONS_WHATSAPP_APP_SECRET") as exc:
        refuse_unsafe_production(NotificationsSettings(provider="cloud"), "prod")
    assert "pasarkota-dev-whatsapp-app-secret" not in str(exc.value)
    strong = NotificationsSettings(provider="cloud", whatsapp_app_secret=SecretStr("x7Hq2vR9kLm4Pz8sWd3Fb6Nc1Tg5Yj0A"),
                                   whatsapp_verify_token=SecretStr("Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz2Xc"))
    refuse_unsafe_production(strong, "prod")
