"""Payments' configuration, read once at start (never at import): merchants of record, webhook secrets, URLs.

``load_config`` refuses to start — naming the city and field, or the variable — on a bad merchant of record
and, with ``PASARKOTA_ENV=prod``, on an empty, short, placeholder or development webhook secret
(``PASARKOTA_CITY_<SLUG>_WEBHOOK_SECRET``, checked by ``shared.secrets.refuse_weak_secrets``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass

from payments.acquirer import Acquirer
from payments.merchant import MdrRule, fee_rules, merchants_of_record
from payments.qris import MerchantOfRecord
from shared.cities import City, all_cities
from shared.secrets import refuse_weak_secrets
from shared.settings import Settings


def webhook_secret_variable(slug: str) -> str:
    return f"PASARKOTA_CITY_{slug.upper()}_WEBHOOK_SECRET"


def dev_webhook_secret(slug: str) -> str:
    return f"dev-webhook-secret-{slug}"


@dataclass(frozen=True)
class PaymentsConfig:
    env: str
    merchants: Mapping[str, MerchantOfRecord]
    webhook_secrets: Mapping[str, str]
    self_url: str
    fees: Mapping[str, MdrRule]  # each city's acquirer fee (MDR)  # where the dev simulator reaches our own webhook

    @property
    def simulator(self) -> bool:
        """The acquirer simulator (it can "pay" any QRIS) exists only outside production."""
        return self.env != "prod"


def load_config(settings: Settings, *, cities: Mapping[str, City] | None = None,
                environ: Mapping[str, str] | None = None) -> PaymentsConfig:
    cities = all_cities() if cities is None else cities
    environ = os.environ if environ is None else environ
    merchants = merchants_of_record(cities)
    variables = {slug: webhook_secret_variable(slug) for slug in sorted(cities)}
    if settings.env == "prod":
        refuse_weak_secrets({var: environ.get(var) for var in variables.values()})
    secrets = {slug: environ.get(var, dev_webhook_secret(slug)) for slug, var in variables.items()}
    self_url = environ.get("PASARKOTA_PAYMENTS_URL") or f"http://127.0.0.1:{settings.http_port}"
    return PaymentsConfig(env=settings.env, merchants=merchants, webhook_secrets=secrets, self_url=self_url,
                          fees=fee_rules(cities))


@dataclass(frozen=True)
class Runtime:
    """What ``app.py`` builds at start and routes reach through ``app.state.payments`` (no module globals)."""

    config: PaymentsConfig
    acquirer: Acquirer
    notifications_stored: asyncio.Event  # wakes this process's notification worker
    refunds_decided: asyncio.Event       # wakes this process's refund worker


def webhook_secret(config: PaymentsConfig, slug: str) -> str:
    """The city's webhook secret: a seed city's from start; a city added at runtime (issue #14) re-read on every
    call from the environment or the secret store (``shared.cities.city_secret``), so it works as soon as the
    secret appears. Without one (or, in production, with a weak one) the city refuses webhooks: 503, named."""
    found = config.webhook_secrets.get(slug)
    if found:
        return found
    from shared.cities import city_secret
    from shared.problems import Problem
    from shared.secrets import weakness

    found = city_secret(slug, "WEBHOOK_SECRET")
    if found and (config.env != "prod" or weakness(found) is None):
        return found
    raise Problem(503, f"Kota '{slug}' belum punya rahasia webhook ({webhook_secret_variable(slug)}). / City "
                       f"'{slug}' has no webhook secret yet: set {webhook_secret_variable(slug)} or the secret "
                       "store's file.", code="webhook-secret-missing", variable=webhook_secret_variable(slug))


def add_runtime_city(config: PaymentsConfig, city: City) -> None:
    """A city added at runtime: its merchant of record and fee rule, parsed as at start (the directory validated
    the document already; a failure here is logged by ``shared.cities`` and leaves the city without payments)."""
    from payments.merchant import parse_mdr, parse_merchant

    merchants, fees = config.merchants, config.fees
    assert isinstance(merchants, dict) and isinstance(fees, dict)
    merchants[city.slug] = parse_merchant(city.slug, city.merchant)
    fees[city.slug] = parse_mdr(city.slug, city.merchant)
