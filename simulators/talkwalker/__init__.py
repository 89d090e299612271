"""The Talkwalker API simulator: a seeded corpus, the streaming endpoint, the documents API and
stream / rule / quota management."""

from socialstream.simulators.talkwalker.corpus import Corpus, select_streams
from socialstream.simulators.talkwalker.server import TalkwalkerSimulator

__all__ = ["Corpus", "TalkwalkerSimulator", "select_streams"]
