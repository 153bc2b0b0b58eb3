"""QR images drawn by the portal (a trainer's rotating check-in code; a QRIS fallback)."""

from __future__ import annotations

import io

import qrcode
from qrcode import constants


def qr_png(payload: str, *, box_size: int = 8, border: int = 2) -> bytes:
    qr = qrcode.QRCode(error_correction=constants.ERROR_CORRECT_M, box_size=box_size, border=border)
    qr.add_data(payload)
    qr.make(fit=True)
    buffer = io.BytesIO()
    qr.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()
