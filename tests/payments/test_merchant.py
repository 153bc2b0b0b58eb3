"""Every city's merchant of record is parsed and validated when payments starts; a bad one stops the start,
naming the city and the field (not a dead letter when the first buyer pays)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from payments.app import create_app
from payments.config import load_config
from payments.merchant import MerchantConfigError, merchants_of_record, parse_merchant
from shared.cities import City, MerchantTable, all_cities
from shared.settings import Settings

GOOD = dict(all_cities()["cimahi"].merchant)


def with_merchant(**changes: object) -> dict[str, City]:
    raw = {k: v for k, v in {**GOOD, **changes}.items() if v is not None}
    city = dataclasses.replace(all_cities()["cimahi"], merchant=MerchantTable(raw))
    return {"cimahi": city, "tegal": all_cities()["tegal"]}


def test_the_shipped_cities_parse() -> None:
    merchants = merchants_of_record(all_cities())
    assert sorted(merchants) == ["cimahi", "tegal"]
    assert merchants["cimahi"].merchant_name == GOOD["name"]
    assert merchants["cimahi"].merchant_criteria == GOOD["criteria"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"name": "UPTD PASAR KOTA CIMAHI SELATAN"}, "name"),      # 30 > 25
    ({"name": "日本の店"}, "name"),                              # nothing left after ASCII folding
    ({"city": "CIMAHI SELATAN UTARA"}, "city"),                # 20 > 15
    ({"mcc": "541"}, "mcc"),
    ({"mcc": 5411}, "mcc"),                                    # not a string
    ({"postal_code": "4051"}, "postal_code"),
    ({"acquirer_nns": "93700014", "merchant_pan": "937000140000000001"}, "acquirer_nns"),
    ({"merchant_pan": "936000990000000001"}, "merchant_pan"),  # not under the acquirer's NNS
    ({"nmid": "1020000000001"}, "nmid"),
    ({"acquirer_guid": "ID.CO.QRIS.WWW"}, "acquirer_guid"),
    ({"criteria": "UMK"}, "criteria"),
    ({"merchant_id": "M" * 80}, "merchant_id"),
    ({"criteria": None}, "criteria"),                          # missing
    ({"terminal": "T1"}, "terminal"),                          # unknown
])
def test_a_bad_merchant_of_record_is_refused_naming_city_and_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(MerchantConfigError) as refused:
        merchants_of_record(with_merchant(**changes))
    assert (refused.value.city, refused.value.field) == ("cimahi", field)
    assert str(refused.value).startswith(f"city 'cimahi': [city.merchant] {field}:")


def test_parse_merchant_is_what_issues_the_qris() -> None:
    merchant = parse_merchant("tegal", all_cities()["tegal"].merchant)
    assert merchant.merchant_pan.startswith(merchant.acquirer_nns)


def test_load_config_refuses_to_start_on_a_bad_merchant() -> None:
    with pytest.raises(MerchantConfigError, match=r"city 'cimahi'.*mcc"):
        load_config(Settings(env="dev"), cities=with_merchant(mcc="54A1"), environ={})  # type: ignore[arg-type]


@pytest.fixture
def bad_cities_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    shipped = Path(__file__).resolve().parents[2] / "config" / "cities.toml"
    text = shipped.read_text().replace('nmid = "ID1020000000002"', 'nmid = "XX1020000000002"')
    assert "XX1020000000002" in text
    (tmp_path / "cities.toml").write_text(text)
    monkeypatch.setenv("PASARKOTA_CITIES_FILE", str(tmp_path / "cities.toml"))
    all_cities.cache_clear()
    yield
    monkeypatch.undo()
    all_cities.cache_clear()


def test_the_service_does_not_start_with_a_bad_merchant_in_the_cities_file(bad_cities_file: None) -> None:
    with pytest.raises(MerchantConfigError) as refused:
        create_app(Settings(env="dev"), environ={})  # type: ignore[arg-type]
    assert (refused.value.city, refused.value.field) == ("tegal", "nmid")
