-- The expiry worker skips intents with a stored-but-unprocessed notification (paid in time, not yet applied).
CREATE INDEX acquirer_notifications_unprocessed_bill ON acquirer_notifications (city, bill_number)
    WHERE processed_at IS NULL;
