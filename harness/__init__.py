"""Aftershock: chaos and fault-injection test harness for event brokers."""

__version__ = "0.1.0"
