"""Local runtime: real Apache Kafka and PostgreSQL started as processes on this machine."""
