"""The sentiment-history API simulator: seeded buckets, cursors, credits and errors."""

from socialstream.simulators.sentiment_history.series import SentimentSeries
from socialstream.simulators.sentiment_history.server import (
    Deprecation,
    SentimentHistorySimulator,
)

__all__ = ["Deprecation", "SentimentHistorySimulator", "SentimentSeries"]
