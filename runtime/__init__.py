"""What every connector and processor shares, like Kafka Connect's connect-runtime."""
