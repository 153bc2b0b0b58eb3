"""The webhook signature scheme: exactly the documented canonical string, and every way to get it wrong."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from payments.signing import MAX_SKEW_SECONDS, SignatureError, canonical_string, sign, signed_headers, verify

SECRET = "test-secret"
PATH = "/acquirer/cimahi/notifications"
BODY = b'{"bill_number":"PK1","amount":15000}'
NOW = 1_800_000_000


def test_canonical_string_is_the_documented_five_lines() -> None:
    digest = hashlib.sha256(BODY).hexdigest()
    assert canonical_string("post", PATH, "1800000000", "req-1", BODY) == (
        f"POST\n{PATH}\n1800000000\nreq-1\n{digest}")


def test_signature_is_hex_hmac_sha512_of_the_canonical_string() -> None:
    expected = hmac.new(SECRET.encode(), canonical_string("POST", PATH, "1800000000", "req-1", BODY).encode(),
                        hashlib.sha512).hexdigest()
    assert sign(SECRET, "POST", PATH, "1800000000", "req-1", BODY) == expected
    assert len(expected) == 128


def test_signed_headers_verify() -> None:
    headers = signed_headers(SECRET, PATH, BODY, timestamp=NOW, request_id="req-1")
    verified = verify(SECRET, "POST", PATH, headers, BODY, now=NOW + 10)
    assert (verified.request_id, verified.timestamp) == ("req-1", NOW)


@pytest.mark.parametrize(("tamper", "code"), [
    (lambda h, b: (h, b + b" "), "bad-signature"),                         # body changed
    (lambda h, b: ({**h, "X-Pk-Request-Id": "req-2"}, b), "bad-signature"),  # request id changed
    (lambda h, b: ({**h, "X-Pk-Timestamp": str(NOW + 1)}, b), "bad-signature"),
    (lambda h, b: ({**h, "X-Pk-Signature": "0" * 128}, b), "bad-signature"),
    (lambda h, b: ({**h, "X-Pk-Signature": "zz"}, b), "bad-signature"),
    (lambda h, b: ({k: v for k, v in h.items() if k != "X-Pk-Signature"}, b), "missing-signature"),
    (lambda h, b: ({k: v for k, v in h.items() if k != "X-Pk-Timestamp"}, b), "missing-signature"),
    (lambda h, b: ({**h, "X-Pk-Timestamp": "2026-01-01T00:00:00Z"}, b), "bad-timestamp"),
    (lambda h, b: ({**h, "X-Pk-Request-Id": "a b"}, b), "bad-request-id"),
])
def test_tampering_is_refused(tamper, code: str) -> None:  # type: ignore[no-untyped-def]
    headers, body = tamper(signed_headers(SECRET, PATH, BODY, timestamp=NOW, request_id="req-1"), BODY)
    with pytest.raises(SignatureError) as err:
        verify(SECRET, "POST", PATH, headers, body, now=NOW)
    assert err.value.code == code


def test_other_citys_secret_or_path_is_refused() -> None:
    headers = signed_headers(SECRET, PATH, BODY, timestamp=NOW, request_id="req-1")
    with pytest.raises(SignatureError):
        verify("other-secret", "POST", PATH, headers, BODY, now=NOW)
    with pytest.raises(SignatureError):
        verify(SECRET, "POST", "/acquirer/tegal/notifications", headers, BODY, now=NOW)


@pytest.mark.parametrize("skew", [MAX_SKEW_SECONDS + 1, -(MAX_SKEW_SECONDS + 1)])
def test_stale_or_future_timestamp_is_refused(skew: int) -> None:
    headers = signed_headers(SECRET, PATH, BODY, timestamp=NOW, request_id="req-1")
    with pytest.raises(SignatureError) as err:
        verify(SECRET, "POST", PATH, headers, BODY, now=NOW + skew)
    assert err.value.code == "stale-timestamp"


def test_timestamp_at_the_edge_of_the_window_is_accepted() -> None:
    headers = signed_headers(SECRET, PATH, BODY, timestamp=NOW, request_id="req-1")
    verify(SECRET, "POST", PATH, headers, BODY, now=NOW + MAX_SKEW_SECONDS)
