"""The modelyard version (its own module, so core code can read it without the package API)."""

__version__ = "0.1.0"
