"""`modelyard db upgrade URL`: bring a metadata database to the head migration."""

from __future__ import annotations

import importlib

import click

#: Loaded only when the command runs, so other commands never import SQLAlchemy.
BOOTSTRAP_MODULE = "modelyard.registry.bootstrap"


@click.group("db")
def db_group() -> None:
    """Manage the metadata database."""


@db_group.command("upgrade")
@click.argument("url")
@click.option(
    "--default-artifact-root",
    default=None,
    help="Artifact root of the Default experiment when the database is created.",
)
def upgrade(url: str, default_artifact_root: str | None) -> None:
    """Upgrade (or create) the database at URL to the newest schema."""
    bootstrap = importlib.import_module(BOOTSTRAP_MODULE)
    head = bootstrap.upgrade_database(url, default_artifact_root=default_artifact_root)
    click.echo(f"database is at revision {head}")
