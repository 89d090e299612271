"""Deployment helpers: the local Kafka launcher (and, later, container and chart files)."""
