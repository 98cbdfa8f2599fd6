"""The `modelyard` command line: server, db upgrade, gc, experiments, runs, artifacts, models.

Each subcommand lives in its own module; importing this package loads neither SQLAlchemy nor a
server mode (the `server` command imports only the mode its flags select).
"""

from __future__ import annotations

import click

from modelyard.cli.app import ModelyardGroup
from modelyard.cli.artifacts import artifacts_group
from modelyard.cli.db import db_group
from modelyard.cli.gc import gc_command
from modelyard.cli.models import models_group
from modelyard.cli.server import server_command, ui_command
from modelyard.cli.tracking import experiments_group, runs_group


@click.group(cls=ModelyardGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="modelyard", prog_name="modelyard")
def cli() -> None:
    """modelyard: experiment tracking, model registry and artifact store."""


cli.add_command(server_command)
cli.add_command(ui_command)
cli.add_command(db_group)
cli.add_command(gc_command)
cli.add_command(experiments_group)
cli.add_command(runs_group)
cli.add_command(artifacts_group)
cli.add_command(models_group)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `modelyard` console script."""
    cli.main(args=argv, prog_name="modelyard")


__all__ = ["cli", "main"]
