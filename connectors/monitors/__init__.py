"""Polled sources: Crimson Hexagon monitor metrics and the sentiment-history series."""
