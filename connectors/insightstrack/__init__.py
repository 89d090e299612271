"""X InsightsTrack: stream event models and their Kafka records."""
