"""Deployment: the local runtime (Kafka, Postgres, service processes), the topic plan and the CLI."""
