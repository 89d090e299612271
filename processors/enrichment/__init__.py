"""Enrichment: Talkwalker results and InsightsTrack tweets as one normalised Document stream."""
