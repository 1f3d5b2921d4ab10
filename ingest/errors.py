"""The product's exception hierarchy: one root, a few specific kinds.

Messages say what was wrong, with which input, and what to do about it.
"""

from __future__ import annotations

__all__ = [
    "BackpressureError",
    "CheckpointError",
    "ConfigError",
    "ConnectorError",
    "InjectedCrash",
    "RDGError",
    "StateError",
]


class RDGError(Exception):
    """Root of every error the product raises on purpose."""


class ConfigError(RDGError):
    """A configuration value, job spec or command-line option is invalid."""


class StateError(RDGError):
    """Keyed state was used wrongly (e.g. outside a keyed context) or is corrupt."""


class CheckpointError(RDGError):
    """A checkpoint could not be written or no usable checkpoint could be read."""


class ConnectorError(RDGError):
    """An external system (Kafka, Cassandra, a file) failed or is unreachable."""


class BackpressureError(ConnectorError):
    """A sink's target is overloaded; the caller should retry later instead of blocking."""


class InjectedCrash(RDGError):
    """Raised by the crashing test sources/sinks to simulate a failure at a chosen point."""
