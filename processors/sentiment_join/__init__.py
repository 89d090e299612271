"""Sentiment join: documents with the sentiment bucket of their query and time, and tweets with
their latest summary metrics."""
