"""The city document rules (issue #14): a bad field is refused naming it; a good document is normalised."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from shared.cities import (
    CityDocumentInvalid,
    all_cities,
    apply_document,
    city_secret,
    city_section,
    forget_runtime_cities,
    get_city,
    on_city_added,
    validate_document,
    webhook_secret_of,
)
from shared.problems import Problem

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "bandung.example.toml"


def bandung() -> dict[str, Any]:
    return copy.deepcopy(tomllib.loads(EXAMPLE.read_text())["city"][0])


def refused(doc: Any, taken: set[str] | None = None) -> CityDocumentInvalid:
    with pytest.raises(CityDocumentInvalid) as caught:
        validate_document(doc, taken=taken or set())
    return caught.value


def test_the_example_is_valid_and_normalised() -> None:
    doc = validate_document(bandung(), taken={"cimahi", "tegal"})
    assert doc["slug"] == "bandung" and doc["timezone"] == "Asia/Jakarta"
    assert doc["merchant"]["mcc"] == "5411"  # type: ignore[index]
    assert doc["delivery"]["zones"] == {"Braga": 8000, "Cihapit": 9000, "Sukajadi": 10000}  # type: ignore[index]
    assert doc["notifications"]["max_per_phone_per_hour"] == 30  # type: ignore[index]  (default filled in)


def test_a_minimal_document_gets_the_defaults() -> None:
    doc = bandung()
    del doc["notifications"], doc["delivery"], doc["timezone"], doc["payment_expiry_minutes"]
    out = validate_document(doc)
    assert out["timezone"] == "Asia/Jakarta" and out["payment_expiry_minutes"] == 15
    assert "delivery" not in out and "notifications" not in out


@pytest.mark.parametrize(("change", "field"), [
    (lambda d: d["merchant"].update(name="UPTD PASAR KOTA BANDUNG RAYA"), "merchant.name"),   # 28 > 25
    (lambda d: d["merchant"].update(city="KABUPATEN BANDUNG"), "merchant.city"),             # 17 > 15
    (lambda d: d["merchant"].update(mcc="54A1"), "merchant.mcc"),
    (lambda d: d["merchant"].update(mcc=5411), "merchant.mcc"),                              # a number, not text
    (lambda d: d.update(timezone="Asia/Bandung"), "timezone"),
    (lambda d: d.update(timezone="../../etc/passwd"), "timezone"),
    (lambda d: d.update(slug="Bandung!"), "slug"),
    (lambda d: d.update(slug="x" * 31), "slug"),
    (lambda d: d.update(name="Kota\x00Bandung"), "name"),
    (lambda d: d.update(name="B" * 81), "name"),
    (lambda d: d.update(delivery_fee=-1), "delivery_fee"),
    (lambda d: d.update(delivery_fee=True), "delivery_fee"),
    (lambda d: d.update(delivery_fee="12000"), "delivery_fee"),
    (lambda d: d.update(programme_style="radio"), "programme_style"),
    (lambda d: d.update(colour="blue"), "colour"),
    (lambda d: d.pop("merchant"), "merchant"),
    (lambda d: d["merchant"].update(merchant_pan="999000140000000003"), "merchant.merchant_pan"),
    (lambda d: d["merchant"].update(mdr_basis_points=5000), "merchant.mdr_basis_points"),
    (lambda d: d["merchant"].update(webhook_secret="s3cret"), "merchant.webhook_secret"),
    (lambda d: d["notifications"].update(whatsapp_token="abc"), "notifications.whatsapp_token"),
    (lambda d: d["notifications"].update(quiet_hours="21-06"), "notifications.quiet_hours"),
    (lambda d: d["notifications"].update(max_per_phone_per_hour=0), "notifications.max_per_phone_per_hour"),
    (lambda d: d["delivery"].update(slots=["10:00-08:00"]), "delivery.slots"),
    (lambda d: d["delivery"]["zones"].update(Braga=-5), "delivery.zones.Braga"),
    (lambda d: d["delivery"].update(days_ahead=30), "delivery.days_ahead"),
])
def test_a_bad_field_is_refused_by_name(change: Any, field: str) -> None:
    doc = bandung()
    change(doc)
    error = refused(doc)
    assert error.field == field, error.detail
    assert error.extra["field"] == field and field in error.detail


def test_a_duplicate_slug_is_refused() -> None:
    error = refused(bandung(), taken={"bandung"})
    assert (error.field, error.code) == ("slug", "duplicate-city")


def test_not_a_table_is_refused() -> None:
    assert refused(["bandung"]).field == "city"
    assert refused({"city": "x"}).field == "city"


def test_a_runtime_city_is_seen_at_once_and_never_replaces_a_seed_city(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    seen: list[str] = []

    def listener(city: Any) -> None:
        seen.append(city.slug)

    try:
        on_city_added(listener)
        with pytest.raises(Problem):
            get_city("bandung")
        doc = validate_document(bandung())
        assert apply_document(doc, 1) is True
        assert get_city("bandung").merchant.name == "UPTD PASAR KOTA BANDUNG"
        assert city_section("bandung", "delivery")["slot_capacity"] == 20
        assert {"cimahi", "tegal", "bandung"} <= set(all_cities()) and seen == ["bandung"]
        assert apply_document(doc, 1) is False  # the same version again: nothing changes
        assert apply_document(doc | {"name": "Kota Kembang"}, 2) is True and get_city("bandung").name == "Kota Kembang"
        assert apply_document(doc | {"slug": "cimahi", "name": "Impostor"}, 9) is False
        assert get_city("cimahi").name == "Kota Cimahi"
        # secrets: none for a runtime city until the environment or the secret store has one (re-read each time)
        monkeypatch.delenv("PASARKOTA_CITY_BANDUNG_WEBHOOK_SECRET", raising=False)
        monkeypatch.setenv("PASARKOTA_SECRETS_DIR", str(tmp_path))
        assert webhook_secret_of("bandung") is None and webhook_secret_of("cimahi") == "dev-webhook-secret-cimahi"
        (tmp_path / "city_bandung_webhook_secret").write_text("from-the-store\n")
        assert webhook_secret_of("bandung") == "from-the-store"
        monkeypatch.setenv("PASARKOTA_CITY_BANDUNG_WEBHOOK_SECRET", "from-the-env")
        assert city_secret("bandung", "WEBHOOK_SECRET") == "from-the-env"
    finally:
        from shared import cities

        cities._LISTENERS.remove(listener)  # only ours: services' listeners registered at import stay
        forget_runtime_cities()


def test_a_runtime_city_gets_the_per_city_body_limits_of_the_seed_cities() -> None:
    from shared.service import ServiceKernel

    kernel = ServiceKernel("unit-city-limits", None, uses_database=False)
    kernel.body_limits |= {"/cities/cimahi/reconciliations": 8 << 20, "/cities/tegal/reconciliations": 8 << 20,
                           "/kota/cimahi/pelatih/sesi/": 2 << 20, "/acquirer/": 16 << 10}
    try:
        assert apply_document(validate_document(bandung()), 1)
        assert kernel.body_limits["/cities/bandung/reconciliations"] == 8 << 20
        assert kernel.body_limits["/kota/bandung/pelatih/sesi/"] == 2 << 20
        assert not any(k.startswith("/acquirer/bandung") for k in kernel.body_limits)
    finally:
        from shared import cities

        cities._LISTENERS.remove(kernel._extend_city_body_limits)
        forget_runtime_cities()
