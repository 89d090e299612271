"""The Crimson Hexagon Monitor API simulator: seeded monitor data and the monitor endpoints."""

from socialstream.simulators.crimson_hexagon.data import MonitorData
from socialstream.simulators.crimson_hexagon.server import CrimsonHexagonSimulator, Monitor

__all__ = ["CrimsonHexagonSimulator", "Monitor", "MonitorData"]
