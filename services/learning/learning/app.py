"""Composition root of the learning service: `pasarkota serve learning` runs `learning.app:app`."""

from pathlib import Path

from shared.service import ServiceKernel

kernel = ServiceKernel("learning", Path(__file__).resolve().parent / "migrations")
app = kernel.http_app(title="PasarKota learning")
