"""Shared plumbing for every Rapport service: config, database, Kafka, metrics, auth."""
