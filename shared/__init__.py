"""The PasarKota kernel every service uses the same way.

settings, logging, the event envelope and registry, the transactional outbox and its relay, the inbox,
the Kafka event bus (retries and dead letters), database wiring and migrations, HTTP helpers (health,
metrics, problem+json errors) and JWT auth.
"""
