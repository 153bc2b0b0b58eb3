"""QRIS payloads a buyer's wallet can pay: exact EMVCo framing, CRC, limits, and a scannable image.

All identifiers are fake (simulator acquirer GUID, NNS 93600014); never a real merchant's QRIS.
"""

from __future__ import annotations

import binascii
import dataclasses
import io
import random
import string

import pytest
from PIL import Image

from payments.qr_image import qr_png, qr_svg
from payments.qris import (
    MerchantOfRecord,
    QrisError,
    QrisPayload,
    crc16_ccitt_false,
    decode_qris,
    encode_dynamic_qris,
)

MERCHANT = MerchantOfRecord(
    merchant_name="Pasar Atas Baru",
    merchant_city="CIMAHI",
    postal_code="40513",
    mcc="5499",
    nmid="ID1020000000001",
    acquirer_guid="ID.CO.SIMULATOR.WWW",
    acquirer_nns="93600014",
    merchant_pan="936000140000000001",
    merchant_id="CMI0001",
    merchant_criteria="UMI",
)

# Written by hand from the TLV rules (id, 2-digit length, value); _check_segment re-counts every length.
MERCHANT_ACCOUNT_SUBTAGS = [
    "0019ID.CO.SIMULATOR.WWW",  # 00 GUID, 19 chars
    "0118936000140000000001",  # 01 PAN, 18 digits
    "0207CMI0001",  # 02 merchant id
    "0303UMI",  # 03 criteria
]
NATIONAL_SUBTAGS = [
    "0014ID.CO.QRIS.WWW",  # 00 national repository GUID, 14 chars
    "0215ID1020000000001",  # 02 NMID, 15 chars
    "0303UMI",  # 03 criteria
]
ADDITIONAL_SUBTAGS = ["0108ORD-0001", "0507PI-0001"]  # 01 bill number, 05 reference label


def _check_segment(segment: str) -> str:
    assert int(segment[2:4]) == len(segment[4:]), f"hand-written length wrong in {segment!r}"
    return segment


def _template(tag: str, subtags: list[str]) -> str:
    inner = "".join(_check_segment(s) for s in subtags)
    return _check_segment(f"{tag}{len(inner):02d}{inner}")


def _crc(body: str) -> str:
    # Independent oracle: binascii.crc_hqx is CRC-CCITT (poly 0x1021, unreflected) with a caller-given init.
    return f"{binascii.crc_hqx(body.encode('ascii'), 0xFFFF):04X}"


def _hand_built(*segments: str) -> str:
    body = "".join(segments) + "6304"
    return body + _crc(body)


def _tampered(payload: str, index: int) -> str:
    replacement = "9" if payload[index] != "9" else "8"
    return payload[:index] + replacement + payload[index + 1 :]


# --- CRC ---------------------------------------------------------------------------------------------


def test_crc_check_value() -> None:
    assert crc16_ccitt_false("123456789") == "29B1"


def test_crc_matches_independent_implementation_and_is_upper_case_hex() -> None:
    rng = random.Random(20240601)
    for _ in range(200):
        text = "".join(rng.choices(string.printable, k=rng.randint(0, 120)))
        assert crc16_ccitt_false(text) == _crc(text)
    assert crc16_ccitt_false("") == "FFFF"


# --- encoding: exact structure -----------------------------------------------------------------------


def test_dynamic_payload_has_exact_emvco_structure() -> None:
    account = _template("26", MERCHANT_ACCOUNT_SUBTAGS)
    national = _template("51", NATIONAL_SUBTAGS)
    additional = _template("62", ADDITIONAL_SUBTAGS)
    assert account[:4] == "2663"  # 23 + 22 + 11 + 7
    assert national[:4] == "5144"  # 18 + 19 + 7
    assert additional[:4] == "6223"  # 12 + 11
    expected = _hand_built(
        "000201",
        "010212",
        account,
        national,
        "52045499",
        "5303360",
        "540525000",
        "5802ID",
        "5915Pasar Atas Baru",
        "6006CIMAHI",
        "610540513",
        additional,
    )

    payload = encode_dynamic_qris(MERCHANT, 25_000, "ORD-0001", "PI-0001")

    assert payload == expected
    assert payload.startswith("00020101021226630019ID.CO.SIMULATOR.WWW0118936000140000000001")
    assert payload[-8:-4] == "6304"
    assert payload[-4:] == _crc(payload[:-4])


def test_terminal_label_is_sub_tag_07_of_additional_data() -> None:
    payload = encode_dynamic_qris(MERCHANT, 25_000, "ORD-0001", "PI-0001", terminal_label="KIOSK-A1")
    additional = _template("62", [*ADDITIONAL_SUBTAGS, "0708KIOSK-A1"])
    assert additional + "6304" in payload


# --- round trip --------------------------------------------------------------------------------------


def test_encode_decode_round_trip_preserves_every_field() -> None:
    payload = encode_dynamic_qris(MERCHANT, 1_234_567, "ORD-2024-000042", "PI-7f3a9c", terminal_label="RW05")

    decoded = decode_qris(payload)

    assert isinstance(decoded, QrisPayload)
    assert decoded.point_of_initiation == "12"
    assert decoded.is_dynamic is True
    assert decoded.amount == 1_234_567
    assert decoded.merchant_name == MERCHANT.merchant_name
    assert decoded.merchant_city == MERCHANT.merchant_city
    assert decoded.postal_code == MERCHANT.postal_code
    assert decoded.mcc == MERCHANT.mcc
    assert decoded.currency == "360"
    assert decoded.country == "ID"
    assert decoded.nmid == MERCHANT.nmid
    assert decoded.acquirer_guid == MERCHANT.acquirer_guid
    assert decoded.merchant_pan == MERCHANT.merchant_pan
    assert decoded.merchant_id == MERCHANT.merchant_id
    assert decoded.merchant_criteria == MERCHANT.merchant_criteria
    assert decoded.bill_number == "ORD-2024-000042"
    assert decoded.reference_label == "PI-7f3a9c"
    assert decoded.terminal_label == "RW05"
    assert list(decoded.tags) == [
        "00",
        "01",
        "26",
        "51",
        "52",
        "53",
        "54",
        "58",
        "59",
        "60",
        "61",
        "62",
        "63",
    ]
    assert decoded.templates["51"]["00"] == "ID.CO.QRIS.WWW"
    assert decoded.tags["63"] == payload[-4:]


def test_decoded_payload_is_immutable() -> None:
    decoded = decode_qris(encode_dynamic_qris(MERCHANT, 5_000, "ORD-1", "PI-1"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        decoded.amount = 1  # type: ignore[misc]


def test_static_payload_decodes_without_amount() -> None:
    payload = _hand_built(
        "000201",
        "010211",
        _template("26", MERCHANT_ACCOUNT_SUBTAGS),
        _template("51", NATIONAL_SUBTAGS),
        "52045499",
        "5303360",
        "5802ID",
        "5915Pasar Atas Baru",
        "6006CIMAHI",
        "610540513",
    )

    decoded = decode_qris(payload)

    assert decoded.point_of_initiation == "11"
    assert decoded.is_dynamic is False
    assert decoded.amount is None
    assert decoded.bill_number is None
    assert decoded.nmid == "ID1020000000001"
    assert decoded.merchant_pan == "936000140000000001"


def test_amount_with_zero_cents_from_other_issuers_decodes_to_whole_rupiah() -> None:
    payload = _hand_built(
        "000201", "010212", "52045499", "5303360", "540815000.00", "5802ID", "5906WARUNG", "6005TEGAL"
    )
    assert decode_qris(payload).amount == 15_000


# --- decoding rejects broken payloads ----------------------------------------------------------------


@pytest.mark.parametrize("where", ["name", "amount", "pan", "crc"])
def test_tampering_one_character_fails_the_crc(where: str) -> None:
    payload = encode_dynamic_qris(MERCHANT, 25_000, "ORD-0001", "PI-0001")
    index = {
        "name": payload.index("Pasar Atas Baru"),
        "amount": payload.index("540525000") + 4,
        "pan": payload.index("936000140000000001") + 17,
        "crc": len(payload) - 1,
    }[where]

    with pytest.raises(QrisError, match="CRC"):
        decode_qris(_tampered(payload, index))


def test_qris_error_is_a_value_error() -> None:
    assert issubclass(QrisError, ValueError)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("", "empty"),
        ("000201010212520", "truncated"),
        ("00020101021252045499530336", "truncated"),
        ("000201010A12", "length"),
        ("0000", "length"),
        ("XX0201", "two digits"),
    ],
)
def test_malformed_tlv_is_rejected(payload: str, message: str) -> None:
    with pytest.raises(QrisError, match=message):
        decode_qris(payload)


def test_truncated_payload_is_rejected() -> None:
    payload = encode_dynamic_qris(MERCHANT, 25_000, "ORD-0001", "PI-0001")
    with pytest.raises(QrisError):
        decode_qris(payload[:-10])


@pytest.mark.parametrize("dropped", ["52", "53", "58", "59", "60"])
def test_missing_mandatory_tag_is_rejected_even_with_a_valid_crc(dropped: str) -> None:
    segments = {
        "52": "52045499",
        "53": "5303360",
        "58": "5802ID",
        "59": "5906WARUNG",
        "60": "6005TEGAL",
    }
    payload = _hand_built("000201", "010211", *(v for k, v in segments.items() if k != dropped))
    with pytest.raises(QrisError, match=f"missing mandatory tag.*{dropped}"):
        decode_qris(payload)


def test_missing_crc_is_rejected() -> None:
    with pytest.raises(QrisError, match="63"):
        decode_qris("0002010102115204549953033605802ID5906WARUNG6005TEGAL")


def test_unknown_point_of_initiation_is_rejected() -> None:
    payload = _hand_built("000201", "010213", "52045499", "5303360", "5802ID", "5906WARUNG", "6005TEGAL")
    with pytest.raises(QrisError, match="point of initiation"):
        decode_qris(payload)


def test_malformed_template_is_rejected() -> None:
    payload = _hand_built(
        "000201", "010211", "2606001999", "52045499", "5303360", "5802ID", "5906WARUNG", "6005TEGAL"
    )
    with pytest.raises(QrisError, match="template 26"):
        decode_qris(payload)


# --- amount and additional data limits ---------------------------------------------------------------


@pytest.mark.parametrize("amount", [0, -1, -25_000, 10_000_001, 50_000_000])
def test_amount_outside_qris_limits_is_refused(amount: int) -> None:
    with pytest.raises(ValueError, match="amount"):
        encode_dynamic_qris(MERCHANT, amount, "ORD-0001", "PI-0001")


@pytest.mark.parametrize("amount", [1, 10_000_000])
def test_amount_at_the_limits_is_accepted(amount: int) -> None:
    assert decode_qris(encode_dynamic_qris(MERCHANT, amount, "ORD-0001", "PI-0001")).amount == amount


@pytest.mark.parametrize("amount", [True, 1500.0, "1500"])
def test_amount_must_be_an_integer(amount: object) -> None:
    with pytest.raises(ValueError, match="amount"):
        encode_dynamic_qris(MERCHANT, amount, "ORD-0001", "PI-0001")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("bill_number", "reference_label", "terminal_label", "field"),
    [
        ("B" * 26, "PI-1", None, "bill_number"),
        ("", "PI-1", None, "bill_number"),
        ("ORD-1", "R" * 26, None, "reference_label"),
        ("ORD-1", "", None, "reference_label"),
        ("ORD-1", "PI-1", "T" * 26, "terminal_label"),
        ("ORD-1", "PI-1", "", "terminal_label"),
        ("ORD-ü", "PI-1", None, "bill_number"),
    ],
)
def test_additional_data_limits(
    bill_number: str, reference_label: str, terminal_label: str | None, field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        encode_dynamic_qris(MERCHANT, 10_000, bill_number, reference_label, terminal_label)


def test_additional_data_at_25_characters_is_accepted() -> None:
    decoded = decode_qris(encode_dynamic_qris(MERCHANT, 10_000, "B" * 25, "R" * 25, "T" * 25))
    assert (decoded.bill_number, decoded.reference_label, decoded.terminal_label) == (
        "B" * 25,
        "R" * 25,
        "T" * 25,
    )


# --- merchant name and city ------------------------------------------------------------------------


def test_long_name_and_city_are_trimmed_to_25_and_15_and_still_decode() -> None:
    merchant = dataclasses.replace(
        MERCHANT,
        merchant_name="Koperasi Pasar Tradisional Kota Cimahi Sejahtera",
        merchant_city="Kabupaten Bandung Barat",
    )

    payload = encode_dynamic_qris(merchant, 25_000, "ORD-0001", "PI-0001")
    decoded = decode_qris(payload)

    assert decoded.merchant_name == "Koperasi Pasar Tradisiona"
    assert len(decoded.merchant_name) == 25
    assert decoded.merchant_city == "Kabupaten Bandu"
    assert len(decoded.merchant_city) == 15
    assert "5925Koperasi Pasar Tradisiona6015Kabupaten Bandu" in payload


def test_trim_never_leaves_a_trailing_space() -> None:
    merchant = dataclasses.replace(MERCHANT, merchant_name="A" * 24 + " Z", merchant_city="Tegal Selatan X")
    decoded = decode_qris(encode_dynamic_qris(merchant, 25_000, "ORD-0001", "PI-0001"))
    assert decoded.merchant_name == "A" * 24


def test_non_ascii_name_is_folded_to_ascii() -> None:
    merchant = dataclasses.replace(MERCHANT, merchant_name="Warung Bu Sri Ébé", merchant_city="Tégal")

    payload = encode_dynamic_qris(merchant, 25_000, "ORD-0001", "PI-0001")
    decoded = decode_qris(payload)

    assert decoded.merchant_name == "Warung Bu Sri Ebe"
    assert decoded.merchant_city == "Tegal"
    assert "5917Warung Bu Sri Ebe6005Tegal" in payload
    assert payload.isascii()


def test_folding_happens_before_trimming_so_lengths_stay_true() -> None:
    # Decomposed accents are extra code points; the trim must count the folded text, not the raw one.
    merchant = dataclasses.replace(
        MERCHANT, merchant_name="Toko Kue Ibu Ségár — Pasar Pagi Tegal", merchant_city="Kota\tTegal  Timur"
    )
    decoded = decode_qris(encode_dynamic_qris(merchant, 25_000, "ORD-0001", "PI-0001"))
    assert decoded.merchant_name == "Toko Kue Ibu Segar Pasar"
    assert decoded.merchant_city == "Kota Tegal Timu"


# --- merchant-of-record configuration --------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"merchant_pan": "936000990000000001"}, "must start with the acquirer NNS"),
        ({"merchant_pan": "93600014ABC"}, "merchant_pan"),
        ({"merchant_pan": "93600014" + "0" * 12}, "merchant_pan"),
        ({"acquirer_nns": "93700014", "merchant_pan": "937000140000000001"}, "9360"),
        ({"acquirer_nns": "9360001"}, "acquirer_nns"),
        ({"mcc": "541"}, "mcc"),
        ({"mcc": "54A1"}, "mcc"),
        ({"merchant_criteria": "UMK"}, "merchant_criteria"),
        ({"merchant_criteria": "umi"}, "merchant_criteria"),
        ({"acquirer_guid": "id.co.simulator.www"}, "acquirer_guid"),
        ({"acquirer_guid": "SIMULATOR"}, "acquirer_guid"),
        ({"acquirer_guid": "ID.CO.QRIS.WWW"}, "acquirer_guid"),
        ({"nmid": "1020000000001"}, "nmid"),
        ({"postal_code": "4051"}, "postal_code"),
        ({"merchant_id": ""}, "merchant_id"),
        ({"merchant_id": "M" * 80}, "99"),
        ({"merchant_name": "日本の店"}, "merchant_name"),
        ({"merchant_city": "   "}, "merchant_city"),
    ],
)
def test_bad_merchant_of_record_config_is_refused(changes: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(MERCHANT, **changes)


# --- images ------------------------------------------------------------------------------------------


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_png_is_a_square_qr_with_8px_modules_and_quiet_zone() -> None:
    png = qr_png(encode_dynamic_qris(MERCHANT, 25_000, "ORD-0001", "PI-0001"))

    assert png.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(png)) as image:
        width, height = image.size
        assert width == height
        assert width % 8 == 0
        modules = width // 8 - 2 * 4
        assert modules >= 21 and (modules - 21) % 4 == 0  # a valid QR version size
        corner = image.convert("L").getpixel((0, 0))
        assert corner == 255  # quiet zone is white


def test_svg_is_an_svg_document() -> None:
    svg = qr_svg(encode_dynamic_qris(MERCHANT, 25_000, "ORD-0001", "PI-0001"))
    assert b"<svg" in svg
    assert b"<path" in svg


def test_empty_payload_cannot_be_rendered() -> None:
    with pytest.raises(ValueError):
        qr_png("")


def test_png_and_svg_scan_back_to_the_exact_payload() -> None:
    """What a banking app's scanner reads must be byte-for-byte the payload we encoded."""
    import zxingcpp

    payload = encode_dynamic_qris(MERCHANT, 25_000, "ORD-0001", "PI-0001")
    with Image.open(io.BytesIO(qr_png(payload))) as image:
        results = zxingcpp.read_barcodes(image.convert("L"))
    assert [r.text for r in results] == [payload]
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode
    assert decode_qris(results[0].text).amount == 25_000


def test_round_trip_for_many_generated_intents() -> None:
    """500 generated intents (amounts across the QRIS range, bill numbers, labels, Indonesian names and cities of
    any length): every one decodes back to what was asked, and its CRC checks against an independent oracle."""
    rng = random.Random(20261127)
    alphabet = string.ascii_letters + string.digits + " .-'&éÉâüñ"
    label_chars = string.ascii_uppercase + string.digits + "-"
    for _ in range(500):
        merchant = dataclasses.replace(
            MERCHANT,
            merchant_name="".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))).strip() or "Pasar",
            merchant_city="".join(rng.choice(string.ascii_letters + " ") for _ in range(rng.randint(1, 25))).strip()
            or "Tegal",
        )
        amount = rng.choice([1, 10_000_000, rng.randint(1, 10_000_000), rng.randint(1_000, 250_000)])
        bill = "".join(rng.choice(label_chars) for _ in range(rng.randint(1, 25)))
        reference = "".join(rng.choice(label_chars) for _ in range(rng.randint(1, 25)))
        payload = encode_dynamic_qris(merchant, amount, bill, reference)

        decoded = decode_qris(payload)
        assert decoded.is_dynamic and decoded.amount == amount
        assert (decoded.bill_number, decoded.reference_label) == (bill, reference)
        assert 1 <= len(decoded.merchant_name) <= 25 and 1 <= len(decoded.merchant_city) <= 15
        assert decoded.merchant_name.isascii() and decoded.merchant_city.isascii()
        assert payload[-4:] == _crc(payload[:-4])
