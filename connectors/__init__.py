"""Source connectors, one sub-package a vendor API."""
