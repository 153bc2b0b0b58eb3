"""Render a QRIS payload as a scannable image: PNG for the buyer's screen and receipts, SVG for print.

Error correction M (~15 % recovery) is what QRIS wallets expect: sturdy against a cracked or glaring
phone screen without making the symbol so dense that a cheap camera fails on it.
"""

from __future__ import annotations

import io

import qrcode
import qrcode.constants
from qrcode.image.svg import SvgPathImage

__all__ = ["qr_png", "qr_svg"]

# 8 px per module: a ~230-character payload is a 53x53 (version 9) symbol, ~490 px with the border —
# large enough to scan off a phone held up to another phone, small enough to fit any screen.
PNG_BOX_SIZE = 8
# The 4-module quiet zone is the minimum the QR standard requires for reliable detection.
QUIET_ZONE_MODULES = 4


def _qr(payload: str, image_factory: type | None = None) -> qrcode.QRCode:
    if not payload:
        raise ValueError("cannot render an empty QR payload")
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=PNG_BOX_SIZE,
        border=QUIET_ZONE_MODULES,
        image_factory=image_factory,
    )
    qr.add_data(payload)
    qr.make(fit=True)
    return qr


def qr_png(payload: str) -> bytes:
    """PNG bytes of the QR symbol for ``payload`` (black on white, 8 px modules, 4-module border)."""
    buffer = io.BytesIO()
    _qr(payload).make_image().save(buffer)
    return buffer.getvalue()


def qr_svg(payload: str) -> bytes:
    """SVG bytes (a single path, scales without blur) of the QR symbol for ``payload``."""
    buffer = io.BytesIO()
    _qr(payload, SvgPathImage).make_image().save(buffer)
    return buffer.getvalue()
