"""The Talkwalker streaming API v2 simulator: a seeded corpus and the streaming endpoint."""

from socialstream.simulators.talkwalker.corpus import Corpus, select_streams
from socialstream.simulators.talkwalker.server import TalkwalkerSimulator

__all__ = ["Corpus", "TalkwalkerSimulator", "select_streams"]
