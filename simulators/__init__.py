"""Faithful fake upstream servers with scripted faults, for tests, the demo and benchmarks."""
