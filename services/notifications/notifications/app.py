"""Composition root of the notifications service: `pasarkota serve notifications` runs `notifications.app:app`.

The one place notifications is put together: its settings and each city's rules (validated here: a bad
``[city.notifications]`` or a broken template stops the service at start, naming it), the channels (the
simulator, or the WhatsApp Cloud API and the SMS gateway), the consumers, the sender worker, the reminders
job and the routes. ``build(settings)`` lets a test assemble its own.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
from fastapi import FastAPI

from notifications import domain, policy, rendering, stream
from notifications.channels import Channel, Simulator, SmsGateway, WhatsAppCloud
from notifications.handlers import Messages
from notifications.http import dev, router
from notifications.sender import Sender
from notifications.settings import NotificationsSettings
from notifications.store import NotificationsStore
from shared.cities import CitySecrets, all_cities, city_section, on_city_added
from shared.secrets import refuse_weak_secrets
from shared.service import ServiceKernel
from shared.settings import get_settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def city_rules(settings: NotificationsSettings) -> dict[str, domain.CityRules]:
    rules = {slug: domain.CityRules.parse(slug, city_section(slug, "notifications"), settings.quiet_hours)
             for slug in all_cities()}
    rendering.check_all(list(domain.CATALOGUE), [None, *{r.templates_dir for r in rules.values()}])
    return rules


def refuse_unsafe_production(settings: NotificationsSettings, env: str) -> None:
    """In production: real channels only, and strong webhook secrets (named, never shown)."""
    if env != "prod":
        return
    if settings.provider != "cloud":
        raise RuntimeError("PASARKOTA_NOTIFICATIONS_PROVIDER=simulator in production: nobody would get a message; "
                           "set it to cloud (WhatsApp Cloud API + SMS gateway)")
    refuse_weak_secrets({
        "PASARKOTA_NOTIFICATIONS_WHATSAPP_APP_SECRET": settings.whatsapp_app_secret.get_secret_value(),
        "PASARKOTA_NOTIFICATIONS_WHATSAPP_VERIFY_TOKEN": settings.whatsapp_verify_token.get_secret_value()})


def build(settings: NotificationsSettings | None = None) -> FastAPI:
    settings = settings or NotificationsSettings()
    kernel_settings = get_settings()
    refuse_unsafe_production(settings, kernel_settings.env)
    kernel = ServiceKernel(settings.instance, MIGRATIONS, store=NotificationsStore)
    messages = Messages(RulesByCity(settings, city_rules(settings)), settings.portal_url)
    on_city_added(lambda city: add_city_rules(messages, settings, city.slug))  # a city added at runtime (#14)
    stream.register(kernel.bus, messages)
    seal_key = kernel_settings.code_seal_key.get_secret_value()

    channels: dict[str, Channel]
    if settings.provider == "cloud":
        client = httpx.AsyncClient(timeout=settings.send_timeout_seconds)
        # a city added later (issue #14), or a secret set later: read on demand (shared.cities.city_secret)
        tokens = CitySecrets("WHATSAPP_TOKEN", {
            slug: os.environ.get(f"PASARKOTA_CITY_{slug.upper()}_WHATSAPP_TOKEN", "") for slug in all_cities()})
        keys = CitySecrets("SMS_KEY", {
            slug: os.environ.get(f"PASARKOTA_CITY_{slug.upper()}_SMS_KEY", "") for slug in all_cities()})
        channels = {"whatsapp": WhatsAppCloud(client, settings.whatsapp_api_url, settings.whatsapp_api_version, tokens),
                    "sms": SmsGateway(client, settings.sms_api_url, keys)}
    else:
        channels = {name: Simulator(kernel.db, name, seal_key, settings.send_timeout_seconds)
                    for name in ("whatsapp", "sms")}
    sender = Sender(messages, channels, settings, seal_key, kernel_settings.fault_inject)
    kernel.worker(sender.loop)
    kernel.periodic(settings.reminder_scan_seconds)(messages.remind)
    kernel.periodic(settings.reminder_scan_seconds)(messages.summarise_sales)
    kernel.periodic(settings.reminder_scan_seconds)(messages.send_rosters)

    routers = [router, dev] if policy.dev_endpoints_enabled(kernel_settings.env) else [router]
    app = kernel.http_app(*routers, title="PasarKota notifications")
    app.state.messages = messages
    app.state.notifications_settings = settings
    app.state.seal_key = seal_key
    return app


class RulesByCity(dict[str, domain.CityRules]):
    """Each city's rules; a city this process knows but has no rules for yet (added at runtime a moment ago,
    issue #14) gets them parsed on first use instead of a refusal."""

    def __init__(self, settings: NotificationsSettings, initial: dict[str, domain.CityRules]) -> None:
        super().__init__(initial)
        self.settings = settings

    def get(self, city: str, default: domain.CityRules | None = None) -> domain.CityRules | None:  # type: ignore[override]
        found = super().get(city)
        if found is None and city in all_cities():
            found = self[city] = domain.CityRules.parse(city, city_section(city, "notifications"),
                                                        self.settings.quiet_hours)
        return found if found is not None else default


def add_city_rules(messages: Messages, settings: NotificationsSettings, slug: str) -> None:
    """A city added at runtime (issue #14): its ``notifications`` section parsed as at start (defaults when absent;
    a runtime city has no own templates directory: the default templates)."""
    messages.rules[slug] = domain.CityRules.parse(slug, city_section(slug, "notifications"), settings.quiet_hours)


app = build()

