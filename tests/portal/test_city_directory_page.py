"""The operator's city form → the city document identity validates (issue #14)."""

from __future__ import annotations

from portal.pages_cities import document_of


def test_the_form_becomes_a_city_document_with_nested_merchant_and_numbers() -> None:
    form = {"slug": " bandung ", "name": "Kota Bandung", "timezone": "Asia/Jakarta", "delivery_fee": "12.000",
            "payment_expiry_minutes": "", "merchant.name": "UPTD PASAR KOTA BANDUNG", "merchant.mcc": "5411",
            "merchant.mdr_basis_points": "30", "admin_phone": "0812"}
    doc = document_of(form)
    assert doc == {"slug": "bandung", "name": "Kota Bandung", "timezone": "Asia/Jakarta", "delivery_fee": 12000,
                   "merchant": {"name": "UPTD PASAR KOTA BANDUNG", "mcc": "5411", "mdr_basis_points": 30}}


def test_a_number_that_is_not_one_is_passed_as_typed_so_identity_names_the_field() -> None:
    doc = document_of({"delivery_fee": "sepuluh ribu", "merchant.mdr_free_up_to": "-5"})
    assert doc["delivery_fee"] == "sepuluh ribu"
    assert doc["merchant"]["mdr_free_up_to"] == -5  # a whole number: identity refuses it by range
