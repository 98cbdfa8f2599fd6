"""Alembic migrations of the metadata database (configured programmatically by bootstrap)."""
