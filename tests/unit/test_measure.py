"""Weighed goods: one rounding rule and one way to say a weight, for every service."""

from __future__ import annotations

from portal.cart import Cart, load_cart
from shared.measure import grams_label, line_amount, quantity_label, weight_steps


def test_the_rounding_rule_is_half_up_to_the_whole_rupiah() -> None:
    assert line_amount(250, 60_000, "weight") == 15_000
    assert line_amount(300, 45_500, "weight") == 13_650
    assert line_amount(125, 12_500, "weight") == 1_563      # 1.562,5 → up
    assert line_amount(100, 12_345, "weight") == 1_235      # 1.234,5 → up
    assert line_amount(101, 12_345, "weight") == 1_247      # 1.246,845 → down
    assert line_amount(3, 4_000) == 12_000                   # by the piece: unchanged


def test_weights_read_as_people_say_them() -> None:
    assert [grams_label(g) for g in (100, 250, 1_000, 1_500, 2_250)] == ["100 g", "250 g", "1 kg", "1,5 kg",
                                                                         "2,25 kg"]
    assert quantity_label(500, "kg", "weight") == "500 g" and quantity_label(2, "ikat") == "2 ikat"
    assert weight_steps(250, 250, 1_000) == [250, 500, 750, 1_000]
    assert weight_steps(250, 300, 1_000) == [500, 750, 1_000]


def test_a_weighed_line_in_the_cart_keeps_its_grams_and_rounded_price() -> None:
    cart = Cart("cimahi")
    chili = {"id": "p-1", "market_id": "m-1", "name": "Cabai", "unit": "kg", "price": 60_000, "sold_by": "weight",
             "step_grams": 250}
    cart.add(chili, 250)
    again = load_cart(cart.dump("s" * 32), "s" * 32, "cimahi")
    line = again.lines[0]
    assert (line.quantity, line.label, line.amount, again.subtotal, again.count) == (250, "250 g", 15_000, 15_000, 1)
    assert again.other_market({"id": "p-2", "market_id": "m-2"}) and not again.other_market(chili)
