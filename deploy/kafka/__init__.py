"""A real Apache Kafka broker (KRaft, one node) for laptops, tests and the demo."""
