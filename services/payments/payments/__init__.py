"""Payments service: QRIS payment intents, acquirer webhook, refunds, reconciliation."""
