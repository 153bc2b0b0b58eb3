"""A completion certificate as a one-page PDF (A4 landscape): name, programme, date, city, the verification code
and a QR code to the public verification page. Pure: data in, bytes out (fpdf2, core fonts only, no files)."""

from __future__ import annotations

import io
import unicodedata
from typing import Any

from fpdf import FPDF

from portal.filters import STYLE_LABELS, tanggal
from portal.qr import qr_png


def _latin1(text: Any) -> str:
    """The PDF's core fonts speak Latin-1: other letters lose their accents (or become '?') rather than fail."""
    raw = " ".join(str(text or "").split())
    try:
        raw.encode("latin-1")
        return raw
    except UnicodeEncodeError:
        plain = unicodedata.normalize("NFKD", raw)
        return "".join(ch for ch in plain if not unicodedata.combining(ch)).encode("latin-1", "replace").decode(
            "latin-1")


def certificate_pdf(cert: dict[str, Any], verify_url: str) -> bytes:
    """``cert`` as learning's ``GET /cities/{city}/me/certificates/{code}`` answers it; ``verify_url`` is the public
    page the QR code opens (``…/sertifikat?kode=CODE``)."""
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_title(_latin1(f"Sertifikat {cert.get('programme', '')}"))
    pdf.set_author("PasarKota")
    pdf.set_creator("PasarKota")
    pdf.add_page()
    w, h = pdf.w, pdf.h
    pdf.set_draw_color(21, 101, 72)
    pdf.set_line_width(1.6)
    pdf.rect(10, 10, w - 20, h - 20)
    pdf.set_line_width(0.4)
    pdf.rect(14, 14, w - 28, h - 28)

    def line(text: str, size: float, *, style: str = "", y: float | None = None, colour: tuple[int, int, int]
             = (30, 30, 30), height: float = 10) -> None:
        if y is not None:
            pdf.set_y(y)
        pdf.set_font("Helvetica", style, size)
        pdf.set_text_color(*colour)
        pdf.set_x(20)
        pdf.multi_cell(w - 40, height, _latin1(text), align="C")

    line(f"PasarKota {cert.get('city_name', '')}", 14, style="B", y=24, colour=(21, 101, 72))
    line("SERTIFIKAT PELATIHAN", 30, style="B", y=36, height=14)
    line("diberikan kepada", 13, y=58, colour=(90, 90, 90))
    line(cert.get("name", ""), 28, style="B", y=68, height=14)
    line("yang telah menyelesaikan program", 13, y=88, colour=(90, 90, 90))
    line(cert.get("programme", ""), 20, style="B", y=98, height=10)
    style = STYLE_LABELS.get(str(cert.get("style", "")), "")
    partner = f" bersama {cert['partner']}" if cert.get("partner") else ""
    line(f"{style}{partner}", 12, y=pdf.get_y() + 2, colour=(90, 90, 90), height=7)
    line(f"{cert.get('city_name', '')}, {tanggal(cert.get('issued_on'))}", 13, y=pdf.get_y() + 4, height=8)

    qr_size = 38
    qr_x, qr_y = w - 20 - qr_size - 6, h - 20 - qr_size - 6
    pdf.image(io.BytesIO(qr_png(verify_url, box_size=8, border=1)), x=qr_x, y=qr_y, w=qr_size, h=qr_size)
    pdf.set_xy(26, h - 20 - 30)
    pdf.set_font("Helvetica", "", 11)
    pdf.set_text_color(60, 60, 60)
    pdf.cell(0, 6, "Kode verifikasi:")
    pdf.set_xy(26, h - 20 - 23)
    pdf.set_font("Courier", "B", 20)
    pdf.set_text_color(20, 20, 20)
    pdf.cell(0, 9, _latin1(cert.get("code", "")))
    pdf.set_xy(26, h - 20 - 12)
    pdf.set_font("Helvetica", "", 9)
    pdf.set_text_color(90, 90, 90)
    pdf.cell(qr_x - 32, 5, _latin1(f"Pindai QR atau buka {verify_url}"))
    return bytes(pdf.output())
