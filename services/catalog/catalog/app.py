"""Composition root of the catalog service: `pasarkota serve catalog` runs `catalog.app:app`."""

from pathlib import Path

from shared.service import ServiceKernel

kernel = ServiceKernel("catalog", Path(__file__).resolve().parent / "migrations")
app = kernel.http_app(title="PasarKota catalog")
