"""The one place that imports cassandra-driver, so a missing install is explained once."""

from __future__ import annotations

from types import ModuleType

from ingest.errors import ConfigError

__all__ = ["require_driver"]

INSTALL_HINT = "pip install 'rdg[cassandra]'"


def require_driver() -> ModuleType:
    """Import and return the ``cassandra`` package, or raise ConfigError with the fix."""
    try:
        import cassandra
        import cassandra.cluster  # fails when the IO reactor extras are broken
    except ImportError as exc:
        raise ConfigError(
            f"the Cassandra store needs cassandra-driver, which is not importable ({exc}); "
            f"install it with: {INSTALL_HINT}"
        ) from exc
    return cassandra
