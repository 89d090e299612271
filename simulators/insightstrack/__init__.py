"""The InsightsTrack simulator: a deterministic event script, the stream and the rules API."""

from socialstream.simulators.insightstrack.events import EventScript
from socialstream.simulators.insightstrack.server import InsightsTrackSimulator

__all__ = ["EventScript", "InsightsTrackSimulator"]
