"""Alembic environment: runs on the connection that modelyard.registry.bootstrap passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from modelyard.registry.schema import Base

config = context.config


def _run(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # type: ignore[attr-defined]
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate through the given connection, or through a new engine on sqlalchemy.url."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("modelyard migrations run online only")
run_migrations_online()
