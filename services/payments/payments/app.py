"""Composition root of the payments service: `pasarkota serve payments` runs `payments.app:app`."""

from pathlib import Path

from shared.service import ServiceKernel

kernel = ServiceKernel("payments", Path(__file__).resolve().parent / "migrations")
app = kernel.http_app(title="PasarKota payments")
