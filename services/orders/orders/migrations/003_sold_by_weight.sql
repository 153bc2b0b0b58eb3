-- Goods sold by weight (shared.measure): quantities in grams, price per kg, amount rounded half up.
ALTER TABLE product_view
    ADD COLUMN sold_by    text    NOT NULL DEFAULT 'piece',
    ADD COLUMN step_grams integer;
ALTER TABLE order_lines
    ADD COLUMN sold_by    text    NOT NULL DEFAULT 'piece';
