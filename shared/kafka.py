"""How every Kafka client of PasarKota connects: plaintext on a laptop; TLS and SASL on a real cluster.

One description (:class:`KafkaSecurity`, read from ``PASARKOTA_KAFKA_*`` settings) feeds every client: the
services' FastStream broker (consumers), the outbox relay's producer, the topic provisioning admin client and
the operator tools. Managed clusters (Confluent Cloud, MSK, Aiven, Strimzi) speak ``SASL_SSL`` with
``SCRAM-SHA-512``, ``SCRAM-SHA-256``, ``PLAIN`` or ``OAUTHBEARER`` (OAuth client credentials), or ``SSL``
with a client certificate. See docs/configuration.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import ssl

    from faststream.security import BaseSecurity

    from shared.settings import Settings

Protocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
Mechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"]


@dataclass(frozen=True)
class KafkaSecurity:
    protocol: Protocol = "PLAINTEXT"
    mechanism: Mechanism | None = None
    username: str | None = None
    password: str | None = None
    cafile: str | None = None       # the cluster's CA (PEM); the system's trust store when empty
    certfile: str | None = None     # a client certificate (PEM) for mutual TLS
    keyfile: str | None = None
    check_hostname: bool = True
    oauth_token_url: str | None = None
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = None
    oauth_scope: str | None = None

    @classmethod
    def from_settings(cls, s: Settings) -> KafkaSecurity:
        return cls(protocol=s.kafka_security_protocol, mechanism=s.kafka_sasl_mechanism,
                   username=s.kafka_sasl_username or None,
                   password=s.kafka_sasl_password.get_secret_value() or None,
                   cafile=s.kafka_ssl_cafile or None, certfile=s.kafka_ssl_certfile or None,
                   keyfile=s.kafka_ssl_keyfile or None, check_hostname=s.kafka_ssl_check_hostname,
                   oauth_token_url=s.kafka_oauth_token_url or None, oauth_client_id=s.kafka_oauth_client_id or None,
                   oauth_client_secret=s.kafka_oauth_client_secret.get_secret_value() or None,
                   oauth_scope=s.kafka_oauth_scope or None)

    @classmethod
    def from_env(cls) -> KafkaSecurity:
        """For the tools: the same variables the services read (no other setting is required)."""
        from shared.settings import Settings

        return cls.from_settings(Settings())

    @property
    def uses_tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    def problems(self) -> list[str]:
        """What is missing for the chosen protocol, naming the variables (checked at start)."""
        found = []
        if self.uses_sasl:
            if self.mechanism is None:
                found.append("PASARKOTA_KAFKA_SASL_MECHANISM (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER)")
            elif self.mechanism == "OAUTHBEARER":
                if not (self.oauth_token_url and self.oauth_client_id and self.oauth_client_secret):
                    found.append("PASARKOTA_KAFKA_OAUTH_TOKEN_URL, _CLIENT_ID and _CLIENT_SECRET for OAUTHBEARER")
            elif not (self.username and self.password):
                found.append("PASARKOTA_KAFKA_SASL_USERNAME and PASARKOTA_KAFKA_SASL_PASSWORD")
        if bool(self.certfile) != bool(self.keyfile):
            found.append("both PASARKOTA_KAFKA_SSL_CERTFILE and PASARKOTA_KAFKA_SSL_KEYFILE (mutual TLS)")
        return found

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.uses_tls:
            return None
        from aiokafka.helpers import create_ssl_context

        context = create_ssl_context(cafile=self.cafile, certfile=self.certfile, keyfile=self.keyfile)
        context.check_hostname = self.check_hostname
        return context

    def faststream(self) -> BaseSecurity | None:
        """The FastStream ``security=`` object for the services' broker."""
        from faststream.security import BaseSecurity, SASLOAuthBearer, SASLPlaintext, SASLScram256, SASLScram512

        if self.protocol == "PLAINTEXT":
            return None
        context, tls = self.ssl_context(), self.uses_tls
        if not self.uses_sasl:
            return BaseSecurity(ssl_context=context, use_ssl=True)
        if self.mechanism == "OAUTHBEARER":
            return SASLOAuthBearer(ssl_context=context, use_ssl=tls)
        user, password = self.username or "", self.password or ""
        kind = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}
        return kind[self.mechanism or "PLAIN"](user, password, ssl_context=context, use_ssl=tls)

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's producer, consumer and admin client."""
        if self.protocol == "PLAINTEXT":
            return {}
        from faststream.kafka.security import parse_security

        options = parse_security(self.faststream())
        if self.mechanism == "OAUTHBEARER":
            options["sasl_oauth_token_provider"] = self.token_provider()
        return options

    def broker_options(self) -> dict[str, Any]:
        """Keyword arguments for FastStream's ``KafkaBroker`` beside ``security=``."""
        return {"sasl_oauth_token_provider": self.token_provider()} if self.mechanism == "OAUTHBEARER" else {}

    def token_provider(self) -> Any:
        return OAuthClientCredentials(self.oauth_token_url or "", self.oauth_client_id or "",
                                      self.oauth_client_secret or "", self.oauth_scope)


PLAINTEXT = KafkaSecurity()


class OAuthClientCredentials:
    """SASL/OAUTHBEARER tokens from an OAuth 2.0 token endpoint (client-credentials grant), cached until a
    minute before they expire. Implements aiokafka's ``AbstractTokenProvider`` protocol."""

    def __init__(self, token_url: str, client_id: str, client_secret: str, scope: str | None = None) -> None:
        self.token_url, self.client_id, self.client_secret, self.scope = token_url, client_id, client_secret, scope
        self._token: str | None = None
        self._expires = 0.0

    async def token(self) -> str:
        if self._token is None or time.monotonic() > self._expires - 60:
            import httpx

            form = {"grant_type": "client_credentials"} | ({"scope": self.scope} if self.scope else {})
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.post(self.token_url, data=form, auth=(self.client_id, self.client_secret))
            response.raise_for_status()
            body = response.json()
            self._token = str(body["access_token"])
            self._expires = time.monotonic() + float(body.get("expires_in", 300))
        return self._token

    def extensions(self) -> dict[str, str]:
        return {}
