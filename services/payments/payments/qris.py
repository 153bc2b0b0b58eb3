"""QRIS (EMVCo merchant-presented QR) payloads: encode a dynamic payment QR, decode and verify any payload.

Pure functions, no IO: the payments service turns a payment intent into a payload here, the portal renders
it (see ``payments.qr_image``), and tests and the acquirer simulator decode it back. Every length in a
payload is counted in characters of the value actually emitted, so we only ever emit printable ASCII —
then characters, bytes and the acquirer's view of the length all agree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

__all__ = [
    "MAX_AMOUNT",
    "MERCHANT_CITY_MAX",
    "MERCHANT_CRITERIA",
    "MERCHANT_NAME_MAX",
    "MerchantFieldError",
    "MerchantOfRecord",
    "QrisError",
    "QrisPayload",
    "ascii_fold",
    "crc16_ccitt_false",
    "decode_qris",
    "encode_dynamic_qris",
]

MAX_AMOUNT = 10_000_000  # QRIS caps one transaction at Rp 10.000.000.
MERCHANT_NAME_MAX = 25
MERCHANT_CITY_MAX = 15
ADDITIONAL_DATA_FIELD_MAX = 25  # EMVCo limit for bill number, reference label, terminal label.
GUID_MAX = 32  # EMVCo: sub-tag 00 of a merchant account template is "ans, up to 32".
MERCHANT_CRITERIA = frozenset({"UMI", "UKE", "UME", "UBE", "URE"})
QRIS_NATIONAL_GUID = "ID.CO.QRIS.WWW"

POINT_OF_INITIATION_STATIC = "11"
POINT_OF_INITIATION_DYNAMIC = "12"
PAYLOAD_FORMAT_INDICATOR = "01"
CURRENCY_IDR = "360"  # ISO 4217 numeric
COUNTRY_ID = "ID"
CRC_TAG_HEADER = "6304"  # the CRC is computed over everything up to and including this header

MANDATORY_TAGS = ("00", "01", "52", "53", "58", "59", "60", "63")
# 26–51: merchant account information templates (51 is the QRIS national repository); 62: additional data.
TEMPLATE_TAGS = frozenset({f"{n:02d}" for n in range(26, 52)} | {"62"})

# re.ASCII: without it \d also matches non-ASCII digits such as "٣".
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")
_NNS = re.compile(r"9360\d{4}", re.ASCII)
_PAN = re.compile(r"\d{9,19}", re.ASCII)  # NNS (8 digits) + at least one digit; ISO/IEC 7812 PANs are ≤ 19
_MCC = re.compile(r"\d{4}", re.ASCII)
_POSTAL_CODE = re.compile(r"\d{5}", re.ASCII)  # Indonesian kode pos
_NMID = re.compile(r"ID[0-9A-Z]{1,20}")
_GUID = re.compile(r"[A-Z0-9]+(?:\.[A-Z0-9-]+)+")
_AMOUNT = re.compile(r"(\d+)(?:\.(\d{1,2}))?", re.ASCII)


class QrisError(ValueError):
    """A payload that is not a valid QRIS: bad TLV, wrong CRC or missing mandatory data."""


class MerchantFieldError(ValueError):
    """A merchant-of-record field breaks a QRIS rule; ``field`` names it (a :class:`MerchantOfRecord` field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def crc16_ccitt_false(data: str) -> str:
    """CRC-16/CCITT-FALSE of ``data`` as 4 upper-case hex digits (tag 63 of every QRIS payload).

    Poly 0x1021, init 0xFFFF, no reflection, no final xor; ``crc16_ccitt_false("123456789") == "29B1"``.
    """
    crc = 0xFFFF
    for byte in data.encode("utf-8"):
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return f"{crc:04X}"


def ascii_fold(text: str) -> str:
    """Fold Indonesian (or any) text to printable ASCII: "Warung Bu Sri Ébé" -> "Warung Bu Sri Ebe".

    Payload lengths count characters and not every wallet renders non-ASCII, so accents are stripped,
    anything else outside printable ASCII is dropped and whitespace runs collapse to one space.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    printable = "".join(ch if " " <= ch <= "~" else (" " if ch.isspace() else "") for ch in kept)
    return " ".join(printable.split())


def _fit(text: str, limit: int, what: str) -> str:
    """ASCII-fold then cut to ``limit`` characters; cutting after folding keeps the length field honest."""
    folded = ascii_fold(text)[:limit].rstrip()
    if not folded:
        raise ValueError(f"{what} {text!r} has no printable ASCII characters left after folding")
    return folded


@dataclass(frozen=True, slots=True)
class MerchantOfRecord:
    """A city's QRIS merchant of record (the market operator), as configured per city.

    Validated on construction so a bad city config fails at startup, not when a buyer tries to pay.
    ``merchant_name`` and ``merchant_city`` may be longer or non-ASCII in config: the encoder folds
    and trims them to 25 / 15 characters.
    """

    merchant_name: str
    merchant_city: str
    postal_code: str
    mcc: str
    nmid: str
    acquirer_guid: str
    acquirer_nns: str
    merchant_pan: str
    merchant_id: str
    merchant_criteria: str

    def __post_init__(self) -> None:
        """Raises :class:`MerchantFieldError` (a ``ValueError``) naming the first field that is wrong."""
        for name, value in (("merchant_name", self.merchant_name), ("merchant_city", self.merchant_city)):
            try:
                _fit(value, MERCHANT_NAME_MAX if name == "merchant_name" else MERCHANT_CITY_MAX, name)
            except ValueError as exc:
                raise MerchantFieldError(name, str(exc)) from None
        if not _POSTAL_CODE.fullmatch(self.postal_code):
            raise MerchantFieldError(
                "postal_code", f"postal_code must be a 5-digit Indonesian postal code, got {self.postal_code!r}"
            )
        if not _MCC.fullmatch(self.mcc):
            raise MerchantFieldError("mcc", f"mcc must be exactly 4 digits, got {self.mcc!r}")
        if not _NMID.fullmatch(self.nmid):
            raise MerchantFieldError(
                "nmid", f"nmid must be 'ID' followed by upper-case letters/digits, got {self.nmid!r}"
            )
        if not (_GUID.fullmatch(self.acquirer_guid) and len(self.acquirer_guid) <= GUID_MAX):
            raise MerchantFieldError(
                "acquirer_guid",
                f"acquirer_guid must be an upper-case reverse-domain name of at most {GUID_MAX} characters "
                f"such as 'ID.CO.SIMULATOR.WWW', got {self.acquirer_guid!r}",
            )
        if self.acquirer_guid == QRIS_NATIONAL_GUID:
            raise MerchantFieldError(
                "acquirer_guid", f"acquirer_guid must be the acquirer's own GUID, not {QRIS_NATIONAL_GUID!r}"
            )
        if not _NNS.fullmatch(self.acquirer_nns):
            raise MerchantFieldError(
                "acquirer_nns", f"acquirer_nns must be 8 digits starting with 9360, got {self.acquirer_nns!r}"
            )
        if not _PAN.fullmatch(self.merchant_pan):
            raise MerchantFieldError("merchant_pan", f"merchant_pan must be 9 to 19 digits, got {self.merchant_pan!r}")
        if not self.merchant_pan.startswith(self.acquirer_nns):
            raise MerchantFieldError(
                "merchant_pan",
                f"merchant_pan {self.merchant_pan!r} must start with the acquirer NNS {self.acquirer_nns!r}",
            )
        if not _PRINTABLE_ASCII.fullmatch(self.merchant_id):
            raise MerchantFieldError(
                "merchant_id", f"merchant_id must be non-empty printable ASCII, got {self.merchant_id!r}"
            )
        if self.merchant_criteria not in MERCHANT_CRITERIA:
            raise MerchantFieldError(
                "merchant_criteria",
                f"merchant_criteria must be one of {sorted(MERCHANT_CRITERIA)}, got {self.merchant_criteria!r}",
            )
        # Surfaces an over-long merchant_id (template value > 99 characters) at config time.
        try:
            _merchant_account_template(self)
        except ValueError as exc:
            raise MerchantFieldError("merchant_id", str(exc)) from None


def _tlv(tag: str, value: str) -> str:
    """One EMVCo data object: 2-digit id, 2-digit length (01..99), value."""
    if not _PRINTABLE_ASCII.fullmatch(value):
        raise ValueError(f"tag {tag} value must be non-empty printable ASCII, got {value!r}")
    if len(value) > 99:
        raise ValueError(f"tag {tag} value is {len(value)} characters; a TLV value holds at most 99")
    return f"{tag}{len(value):02d}{value}"


def _merchant_account_template(merchant: MerchantOfRecord) -> str:
    return _tlv(
        "26",
        _tlv("00", merchant.acquirer_guid)
        + _tlv("01", merchant.merchant_pan)
        + _tlv("02", merchant.merchant_id)
        + _tlv("03", merchant.merchant_criteria),
    )


def _additional_data_field(name: str, value: str) -> str:
    if not _PRINTABLE_ASCII.fullmatch(value) or len(value) > ADDITIONAL_DATA_FIELD_MAX:
        raise ValueError(
            f"{name} must be 1 to {ADDITIONAL_DATA_FIELD_MAX} printable ASCII characters, got {value!r}"
        )
    return value


def encode_dynamic_qris(
    merchant: MerchantOfRecord,
    amount: int,
    bill_number: str,
    reference_label: str,
    terminal_label: str | None = None,
) -> str:
    """Build the dynamic (single-payment, fixed-amount) QRIS payload for one payment intent.

    ``amount`` is whole rupiah, 1..10.000.000. ``bill_number`` and ``reference_label`` (≤ 25 printable
    ASCII each) come back in the acquirer's notification, which is how a payment is matched to its intent.
    Expiry is not part of the payload; it lives with the acquirer's intent.
    """
    # bool is an int subclass; True must not become Rp 1.
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise ValueError(f"amount must be an integer number of rupiah, got {amount!r}")
    if not 1 <= amount <= MAX_AMOUNT:
        raise ValueError(f"amount must be between Rp 1 and Rp {MAX_AMOUNT:,}, got {amount}".replace(",", "."))
    additional = _tlv("01", _additional_data_field("bill_number", bill_number)) + _tlv(
        "05", _additional_data_field("reference_label", reference_label)
    )
    if terminal_label is not None:
        additional += _tlv("07", _additional_data_field("terminal_label", terminal_label))

    body = (
        _tlv("00", PAYLOAD_FORMAT_INDICATOR)
        + _tlv("01", POINT_OF_INITIATION_DYNAMIC)
        + _merchant_account_template(merchant)
        + _tlv(
            "51",
            _tlv("00", QRIS_NATIONAL_GUID)
            + _tlv("02", merchant.nmid)
            + _tlv("03", merchant.merchant_criteria),
        )
        + _tlv("52", merchant.mcc)
        + _tlv("53", CURRENCY_IDR)
        + _tlv("54", str(amount))
        + _tlv("58", COUNTRY_ID)
        + _tlv("59", _fit(merchant.merchant_name, MERCHANT_NAME_MAX, "merchant_name"))
        + _tlv("60", _fit(merchant.merchant_city, MERCHANT_CITY_MAX, "merchant_city"))
        + _tlv("61", merchant.postal_code)
        + _tlv("62", additional)
        + CRC_TAG_HEADER
    )
    return body + crc16_ccitt_false(body)


@dataclass(frozen=True, slots=True)
class QrisPayload:
    """A decoded, CRC-verified QRIS payload.

    ``tags`` holds every top-level value as emitted; ``templates`` holds the parsed sub-tags of the
    merchant account templates (26–51) and additional data (62). The acquirer fields come from the
    first merchant account template (26–45) that carries a PAN.
    """

    point_of_initiation: str
    amount: int | None
    merchant_name: str
    merchant_city: str
    postal_code: str | None
    mcc: str
    currency: str
    country: str
    nmid: str | None
    acquirer_guid: str | None
    merchant_pan: str | None
    merchant_id: str | None
    merchant_criteria: str | None
    bill_number: str | None
    reference_label: str | None
    terminal_label: str | None
    tags: dict[str, str] = field(repr=False)
    templates: dict[str, dict[str, str]] = field(repr=False)

    @property
    def is_dynamic(self) -> bool:
        """Dynamic QRIS is single-use with a fixed amount; static is printed once and reused."""
        return self.point_of_initiation == POINT_OF_INITIATION_DYNAMIC


def _parse_tlv(data: str, where: str) -> dict[str, str]:
    """Split a TLV string into {tag: value}, rejecting truncation, bad lengths and duplicate tags."""
    tags: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        header = data[pos : pos + 4]
        if len(header) < 4:
            raise QrisError(f"{where}: truncated TLV header {header!r} at position {pos}")
        tag, length_text = header[:2], header[2:]
        if not (tag.isdigit() and tag.isascii()):
            raise QrisError(f"{where}: tag id {tag!r} at position {pos} is not two digits")
        if not (length_text.isdigit() and length_text.isascii()) or length_text == "00":
            raise QrisError(f"{where}: tag {tag} has bad length {length_text!r} (must be 01..99)")
        length = int(length_text)
        value = data[pos + 4 : pos + 4 + length]
        if len(value) < length:
            raise QrisError(
                f"{where}: tag {tag} declares {length} characters but only {len(value)} remain (truncated)"
            )
        if tag in tags:
            raise QrisError(f"{where}: tag {tag} appears twice")
        tags[tag] = value
        pos += 4 + length
    return tags


def _parse_amount(value: str) -> int:
    match = _AMOUNT.fullmatch(value)
    if not match:
        raise QrisError(f"tag 54 amount {value!r} is not a number")
    whole, fraction = match.groups()
    # Rupiah has no minor unit in practice; some issuers still write "15000.00", which is fine.
    if fraction and int(fraction):
        raise QrisError(f"tag 54 amount {value!r} has a fraction; QRIS rupiah amounts are whole")
    amount = int(whole)
    if amount < 1:
        raise QrisError(f"tag 54 amount {value!r} must be positive")
    return amount


def decode_qris(payload: str) -> QrisPayload:
    """Parse and verify a QRIS payload; raise ``QrisError`` saying what is wrong if it is not valid.

    Checks the TLV framing, that 00 comes first and 63 last, the CRC, and the mandatory tags
    00/01/52/53/58/59/60/63.
    """
    if not payload:
        raise QrisError("empty QRIS payload")
    tags = _parse_tlv(payload, "payload")

    missing = [tag for tag in MANDATORY_TAGS if tag not in tags]
    if missing:
        raise QrisError(f"missing mandatory tag(s) {', '.join(missing)}")
    if next(iter(tags)) != "00":
        raise QrisError("tag 00 (payload format indicator) must come first")
    if list(tags)[-1] != "63" or len(tags["63"]) != 4:
        raise QrisError("tag 63 (CRC) must be the last tag and 4 hex characters long")
    expected_crc = crc16_ccitt_false(payload[:-4])
    if tags["63"].upper() != expected_crc:
        raise QrisError(f"CRC mismatch: payload says {tags['63']!r}, content gives {expected_crc!r}")

    if tags["00"] != PAYLOAD_FORMAT_INDICATOR:
        raise QrisError(f"tag 00 payload format indicator must be '01', got {tags['00']!r}")
    if tags["01"] not in (POINT_OF_INITIATION_STATIC, POINT_OF_INITIATION_DYNAMIC):
        raise QrisError(f"tag 01 point of initiation must be '11' or '12', got {tags['01']!r}")

    templates = {
        tag: _parse_tlv(value, f"template {tag}") for tag, value in tags.items() if tag in TEMPLATE_TAGS
    }
    account = next(
        (templates[tag] for tag in sorted(templates) if "26" <= tag <= "45" and "01" in templates[tag]),
        {},
    )
    national = templates.get("51", {})
    additional = templates.get("62", {})

    return QrisPayload(
        point_of_initiation=tags["01"],
        amount=_parse_amount(tags["54"]) if "54" in tags else None,
        merchant_name=tags["59"],
        merchant_city=tags["60"],
        postal_code=tags.get("61"),
        mcc=tags["52"],
        currency=tags["53"],
        country=tags["58"],
        nmid=national.get("02"),
        acquirer_guid=account.get("00"),
        merchant_pan=account.get("01"),
        merchant_id=account.get("02"),
        merchant_criteria=account.get("03") or national.get("03"),
        bill_number=additional.get("01"),
        reference_label=additional.get("05"),
        terminal_label=additional.get("07"),
        tags=tags,
        templates=templates,
    )
