"""Package metadata."""

__title__ = "civictext"
__version__ = "0.1.0"
