"""The certificate PDF (portal.certificate_pdf): one A4 page, the holder, the programme and the code, a QR that opens
the public verification page."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image
from pypdf import PdfReader

from portal.certificate_pdf import certificate_pdf

CERT = {"code": "A3C4D6E7F9", "name": "Siti Nurhalizá Ṭegal", "programme": "Webinar Literasi Digital Bank Indonesia",
        "style": "webinar", "partner": "Bank Indonesia", "city": "tegal", "city_name": "Kota Tegal",
        "issued_on": "2026-12-02"}
VERIFY = "http://127.0.0.1:8100/sertifikat?kode=A3C4D6E7F9"


def test_one_a4_page_with_the_name_programme_city_date_and_code() -> None:
    raw = certificate_pdf(CERT, VERIFY)
    assert raw.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(raw))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    assert (round(width), round(height)) == (842, 595)          # A4 landscape in points
    text = page.extract_text()
    for expected in ("A3C4D6E7F9", "Webinar Literasi Digital Bank Indonesia", "Kota Tegal", "2 Des 2026",
                     "SERTIFIKAT PELATIHAN", "Siti Nurhaliz"):
        assert expected in text, expected


def test_the_qr_code_opens_the_public_verification_page() -> None:
    reader = PdfReader(io.BytesIO(certificate_pdf(CERT, VERIFY)))
    images = list(reader.pages[0].images)
    assert len(images) == 1
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(images[0].data)).convert("RGB"))
    assert [b.text for b in found] == [VERIFY]
