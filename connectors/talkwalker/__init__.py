"""Talkwalker streaming API v2: chunk models and their Kafka records."""
