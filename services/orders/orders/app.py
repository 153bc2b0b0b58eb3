"""Composition root of the orders service: `pasarkota serve orders` runs `orders.app:app`."""

from pathlib import Path

from shared.service import ServiceKernel

kernel = ServiceKernel("orders", Path(__file__).resolve().parent / "migrations")
app = kernel.http_app(title="PasarKota orders")
