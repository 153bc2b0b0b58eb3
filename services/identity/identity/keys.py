"""The signing keys: Ed25519, each with a ``kid``; only this service holds them.

The key file (``PASARKOTA_IDENTITY_KEYS_FILE``, a Kubernetes secret mount in production) is JSON::

    {"active": "k-2026-12", "keys": [{"kid": "k-2026-12", "private_pem": "-----BEGIN PRIVATE KEY-----..."},
                                     {"kid": "k-2027-01", "private_pem": "..."}]}

Every key in the file is published in the JWKS (public part only); only ``active`` signs. Rotation without
downtime (``pasarkota identity-keys next|activate|retire``): add the next key (published, verifiers learn it),
wait at least the JWKS cache time, make it active, wait one access-token lifetime, retire the old one. The file
is re-read when it changes, so rotation needs no restart.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.auth import ALGORITHM, ISSUER


def new_kid() -> str:
    return f"k-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"


def private_pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def new_key_entry(kid: str | None = None) -> dict[str, str]:
    return {"kid": kid or new_kid(), "private_pem": private_pem(Ed25519PrivateKey.generate())}


def write_key_file(path: Path, document: dict[str, Any]) -> None:
    """Atomically, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(document, indent=2))
    tmp.chmod(0o600)
    tmp.replace(path)


def ensure_key_file(path: Path) -> None:
    """A development stack's first key, created once."""
    if not path.exists():
        entry = new_key_entry()
        write_key_file(path, {"active": entry["kid"], "keys": [entry]})


def add_next_key(path: Path, kid: str | None = None) -> str:
    document = json.loads(path.read_text())
    entry = new_key_entry(kid)
    document["keys"].append(entry)
    write_key_file(path, document)
    return entry["kid"]


def activate_key(path: Path, kid: str) -> None:
    document = json.loads(path.read_text())
    if kid not in {k["kid"] for k in document["keys"]}:
        raise ValueError(f"no key {kid!r} in {path}")
    document["active"] = kid
    write_key_file(path, document)


def retire_key(path: Path, kid: str) -> None:
    document = json.loads(path.read_text())
    if document["active"] == kid:
        raise ValueError("the active key cannot be retired: activate another one first")
    document["keys"] = [k for k in document["keys"] if k["kid"] != kid]
    write_key_file(path, document)


@dataclass(frozen=True)
class _Loaded:
    active: str
    keys: dict[str, Ed25519PrivateKey]


class KeyRing:
    """The signing keys of :mod:`identity.keys`' file, reloaded when the file changes."""

    def __init__(self, path: Path, *, create_if_missing: bool = False) -> None:
        self.path = path
        self.create_if_missing = create_if_missing
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._loaded: _Loaded | None = None

    def _load(self) -> _Loaded:
        if self.create_if_missing:
            ensure_key_file(self.path)
        stat = os.stat(self.path)
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if self._loaded is None or stamp != self._stamp:
                document = json.loads(self.path.read_text())
                keys = {}
                for entry in document["keys"]:
                    key = serialization.load_pem_private_key(entry["private_pem"].encode(), password=None)
                    if not isinstance(key, Ed25519PrivateKey):
                        raise ValueError(f"key {entry['kid']!r} is not Ed25519")
                    keys[entry["kid"]] = key
                if document["active"] not in keys:
                    raise ValueError(f"the active key {document['active']!r} is not in {self.path}")
                self._loaded, self._stamp = _Loaded(document["active"], keys), stamp
            return self._loaded

    def check(self) -> None:
        """Load now (at start), so a missing or broken key file stops the service with its reason."""
        self._load()

    @property
    def active_kid(self) -> str:
        return self._load().active

    def sign(self, claims: dict[str, Any]) -> str:
        loaded = self._load()
        return jwt.encode({"iss": ISSUER, **claims}, loaded.keys[loaded.active], algorithm=ALGORITHM,
                          headers={"kid": loaded.active})

    def jwks(self) -> dict[str, Any]:
        """Public keys only, every key of the file (the next one during a rotation, too)."""
        keys = []
        for kid, key in self._load().keys.items():
            jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "alg": ALGORITHM, "use": "sig"})
        return {"keys": keys}
