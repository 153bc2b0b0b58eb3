"""Each city's QRIS merchant of record: payments' own per-city configuration, parsed and validated at start-up.

The city directory (``shared.cities``) keeps the ``[city.merchant]`` table raw; this module turns it into a
:class:`payments.qris.MerchantOfRecord` for every city and refuses to start — naming the city and the field —
when one breaks a QRIS rule, instead of failing later when a buyer pays (a consumer error, a dead letter).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from payments.qris import (
    MERCHANT_CITY_MAX,
    MERCHANT_NAME_MAX,
    MerchantFieldError,
    MerchantOfRecord,
    ascii_fold,
)
from shared.cities import City

# config key (cities.toml) → MerchantOfRecord field
FIELDS = {
    "name": "merchant_name",
    "city": "merchant_city",
    "postal_code": "postal_code",
    "mcc": "mcc",
    "nmid": "nmid",
    "acquirer_guid": "acquirer_guid",
    "acquirer_nns": "acquirer_nns",
    "merchant_pan": "merchant_pan",
    "merchant_id": "merchant_id",
    "criteria": "merchant_criteria",
}
CONFIG_KEY = {field: key for key, field in FIELDS.items()}
# The acquirer's merchant discount rate (MDR), not part of the QRIS: optional integers in the same table.
FEE_FIELDS = ("mdr_basis_points", "mdr_free_up_to")
# A bank statement and the wallet show these in full: no silent cut at start-up (the encoder would trim).
LENGTH_LIMITS = {"name": MERCHANT_NAME_MAX, "city": MERCHANT_CITY_MAX}


class MerchantConfigError(RuntimeError):
    """A city's merchant of record is unusable: ``city`` and ``field`` (its key in the cities file) say where."""

    def __init__(self, city: str, field: str, problem: str) -> None:
        super().__init__(f"city {city!r}: [city.merchant] {field}: {problem}")
        self.city = city
        self.field = field


def parse_merchant(city: str, raw: Mapping[str, object]) -> MerchantOfRecord:
    """The merchant of record of ``city`` from its raw ``[city.merchant]`` table, or :class:`MerchantConfigError`."""
    for key in raw:
        if key not in FIELDS and key not in FEE_FIELDS:
            raise MerchantConfigError(city, key, f"unknown field (known: {', '.join([*FIELDS, *FEE_FIELDS])})")
    values: dict[str, str] = {}
    for key, field in FIELDS.items():
        if key not in raw:
            raise MerchantConfigError(city, key, "missing")
        value = raw[key]
        if not isinstance(value, str):
            raise MerchantConfigError(city, key, f"must be a string, got {type(value).__name__}")
        limit = LENGTH_LIMITS.get(key)
        if limit is not None and len(ascii_fold(value)) > limit:
            raise MerchantConfigError(city, key, f"at most {limit} characters in a QRIS, got "
                                                 f"{len(ascii_fold(value))} ({value!r})")
        values[field] = value
    try:
        return MerchantOfRecord(**values)
    except MerchantFieldError as exc:
        raise MerchantConfigError(city, CONFIG_KEY.get(exc.field, exc.field), str(exc)) from None


def merchants_of_record(cities: Mapping[str, City]) -> dict[str, MerchantOfRecord]:
    """Every city's merchant of record, validated; the first bad one stops the service (city and field named)."""
    return {slug: parse_merchant(slug, city.merchant) for slug, city in sorted(cities.items())}


@dataclass(frozen=True)
class MdrRule:
    """The acquirer's fee on a payment (``payments.ledger.mdr_fee``): ``basis_points`` of the amount above
    ``free_up_to`` (QRIS for UMI merchants: 0 % up to Rp 500.000). Absent from the config: no fee."""

    basis_points: int = 0
    free_up_to: int = 0


def parse_mdr(city: str, raw: Mapping[str, object]) -> MdrRule:
    values: dict[str, int] = {}
    for key in FEE_FIELDS:
        value = raw.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise MerchantConfigError(city, key, f"must be a whole number ≥ 0, got {value!r}")
        values[key] = value
    if values["mdr_basis_points"] > 1_000:
        raise MerchantConfigError(city, "mdr_basis_points", "above 10 % (1000 basis points): surely a typo")
    return MdrRule(values["mdr_basis_points"], values["mdr_free_up_to"])


def fee_rules(cities: Mapping[str, City]) -> dict[str, MdrRule]:
    return {slug: parse_mdr(slug, city.merchant) for slug, city in sorted(cities.items())}
