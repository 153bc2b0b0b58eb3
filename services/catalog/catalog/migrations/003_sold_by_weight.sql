-- Goods sold by weight (shared.measure): price per kg; stock, order limits and quantities in grams, in steps.
ALTER TABLE products
    ADD COLUMN sold_by    text    NOT NULL DEFAULT 'piece' CHECK (sold_by IN ('piece', 'weight')),
    ADD COLUMN step_grams integer CHECK (step_grams IS NULL OR step_grams BETWEEN 1 AND 10000),
    ADD CONSTRAINT products_weight_has_step CHECK ((sold_by = 'weight') = (step_grams IS NOT NULL));
