"""Stream processors: enrichment, sentiment joining, write-back."""
