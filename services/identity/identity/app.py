"""Composition root of the identity service: `pasarkota serve identity` runs `identity.app:app`.

Its settings, the key ring (the only signing keys of the platform), its kernel (units of work carry an
``IdentityStore``), consumers for the automatic grants, the demo seeder and the routes. Identity verifies its own
tokens against its own key ring (no HTTP round trip to itself). ``build(settings)`` lets a test assemble its own.
"""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from identity import domain, handlers, stream
from identity.http import Runtime, directory, routers
from identity.keys import KeyRing
from identity.seed import seed_demo
from identity.settings import IdentitySettings
from identity.store import IdentityStore
from shared.auth import KeySet, use_keyset
from shared.service import ServiceKernel
from shared.settings import get_settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class OwnKeys(KeySet):
    """Identity verifies tokens (``/me``, grants) against its own key ring, reloaded like the ring."""

    def __init__(self, ring: KeyRing) -> None:
        super().__init__(jwks={"keys": []})
        self.ring = ring

    def key(self, kid: str) -> Any | None:
        return self._parse(self.ring.jwks()).get(kid)


def key_ring(settings: IdentitySettings) -> KeyRing:
    if settings.keys_file:
        return KeyRing(Path(settings.keys_file))
    if get_settings().env == "prod":
        raise RuntimeError("PASARKOTA_IDENTITY_KEYS_FILE is not set: the signing keys (see docs/identity.md)")
    # a development process's own first key, made on first use
    return KeyRing(Path(os.environ.get("PASARKOTA_HOME", ".pasarkota")) / "secrets" / "identity-keys.json",
                   create_if_missing=True)


def build(settings: IdentitySettings | None = None) -> FastAPI:
    settings = settings or IdentitySettings()
    keys = key_ring(settings)
    seal_key = get_settings().code_seal_key.get_secret_value()
    runtime = Runtime(
        settings=settings, keys=keys,
        limits=domain.Limits(code_ttl=timedelta(seconds=settings.code_ttl_seconds), max_tries=settings.code_max_tries,
                             resend_cooldown=timedelta(seconds=settings.resend_cooldown_seconds),
                             per_phone_hour=settings.codes_per_phone_hour,
                             per_address_hour=settings.codes_per_address_hour),
        secrets=handlers.Secrets(seal_key=seal_key,
                                 pepper=hashlib.sha256(("pasarkota-code-hash:" + seal_key).encode()).hexdigest()),
        tokens=handlers.Tokens(keys=keys, access_ttl=timedelta(seconds=settings.access_ttl_seconds),
                               refresh_ttl=timedelta(seconds=settings.refresh_ttl_seconds)))
    kernel = ServiceKernel("identity", MIGRATIONS, store=IdentityStore)
    stream.register(kernel.bus)
    kernel.seeder(seed_demo)

    async def use_own_keys(_: ServiceKernel) -> None:
        keys.check()
        use_keyset(OwnKeys(keys))

    kernel.on_started.append(use_own_keys)

    app = kernel.http_app(*routers, directory, title="PasarKota identity")
    app.state.identity = runtime
    return app


app = build()
