"""The notifications service's own metrics (beside the kernel's): never a phone number or a text as a label."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter("pasarkota_notifications_messages_total",
                   "Messages by template, channel and outcome (queued, sent, retried, fallback_sms, failed, "
                   "skipped_unknown_phone, skipped_opted_out, deferred_quiet_hours, deferred_rate_limit)",
                   ["city", "template", "channel", "outcome"])
SEND_SECONDS = Histogram("pasarkota_notifications_send_seconds", "Provider call duration per channel",
                         ["channel"], buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
QUEUE_DEPTH = Gauge("pasarkota_notifications_queue_depth", "Messages queued or being sent", ["city"])
OPT_OUTS = Counter("pasarkota_notifications_opt_outs_total", "Replies that opted a phone out (BERHENTI) or back in "
                   "(MULAI)", ["city", "action"])
WEBHOOKS = Counter("pasarkota_notifications_webhooks_total", "Provider webhooks by outcome (applied, replayed, "
                   "forged, unknown_message)", ["outcome"])
PARKED = Counter("pasarkota_notifications_parked_events_total",
                 "Order events that arrived before their OrderPlaced, kept until it came", ["city", "event_type"])
