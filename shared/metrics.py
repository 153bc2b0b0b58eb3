"""Prometheus metrics every service exposes on /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PUBLISHED = Counter("pasarkota_events_published_total", "Events relayed from the outbox to Kafka",
                           ["service", "topic"])
EVENTS_CONSUMED = Counter("pasarkota_events_consumed_total", "Events applied by a consumer",
                          ["service", "consumer", "event_type"])
EVENTS_DUPLICATE = Counter("pasarkota_events_duplicate_total", "Events skipped because the inbox had them",
                           ["service", "consumer"])
EVENTS_FAILED = Counter("pasarkota_events_failed_total", "Handler attempts that raised",
                        ["service", "consumer", "event_type"])
EVENTS_DEAD_LETTERED = Counter("pasarkota_events_dead_lettered_total", "Messages sent to a dead-letter topic",
                               ["service", "consumer", "topic"])
OUTBOX_LAG = Gauge("pasarkota_outbox_lag_events", "Outbox rows not yet confirmed by Kafka", ["service"])
OUTBOX_OLDEST_AGE = Gauge("pasarkota_outbox_oldest_unsent_seconds", "Age of the oldest unsent outbox row",
                          ["service"])
HTTP_REQUESTS = Histogram("pasarkota_http_request_seconds", "HTTP request duration",
                          ["service", "method", "route", "status"])
DEAD_LETTERS_TRUNCATED = Counter("pasarkota_dead_letters_truncated_total",
                                 "Dead letters whose body was too large to travel whole: a prefix went to the DLQ,"
                                 " the full body to dead_letter_bodies", ["service", "consumer", "topic"])
CONSUMER_LAG = Gauge("pasarkota_consumer_lag_messages", "Messages behind the partition's head after the last batch",
                     ["service", "group", "topic", "partition"])
CONSUMER_OLDEST_IN_FLIGHT = Gauge("pasarkota_consumer_oldest_in_flight_seconds",
                                  "Age of the oldest message the group is applying now (0 when idle); grows in a stall",
                                  ["service", "group"])
CONSUMER_NACKS = Counter("pasarkota_consumer_nacks_total", "Batches nacked (to be read again)", ["service", "consumer"])
DEPENDENCY_UP = Gauge("pasarkota_dependency_up", "1 when the service reaches a dependency (postgres, kafka) at its "
                      "last readiness check", ["service", "dependency"])
EVENTS_UNHANDLED_VERSION = Counter("pasarkota_events_unhandled_version_total",
                                   "Events of a type a consumer handles, in a version it does not (skipped)",
                                   ["service", "consumer", "event_type", "version"])
AUTH_REFUSED = Counter("pasarkota_auth_refused_total", "Bearer tokens refused, by reason (algorithm, unknown-kid, "
                       "signature, expired, ...)", ["reason"])
SIGN_IN_ATTEMPTS = Counter("pasarkota_sign_in_attempts_total", "Sign-in steps by outcome (ok, code-wrong, "
                           "code-locked, too-many-codes-phone, refresh-invalid, ...); never the code itself",
                           ["step", "outcome"])
