"""The trainer's check-in code as a QR image (``qrcode``), shown on a projector or a phone in the RW hall."""

from __future__ import annotations

import io

import qrcode
import qrcode.constants


def qr_png(payload: str) -> bytes:
    """PNG bytes of ``payload``: error correction M, 8 px modules, the standard 4-module quiet zone."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(payload)
    qr.make(fit=True)
    buffer = io.BytesIO()
    qr.make_image().save(buffer)
    return buffer.getvalue()
