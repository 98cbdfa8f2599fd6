"""`modelyard experiments …` and `modelyard runs …`, over the tracking store of a URI."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

import click

from modelyard.cli.app import echo_json, echo_table
from modelyard.config import DEFAULT_TRACKING_URI, client_config
from modelyard.entities import Experiment, Run, ViewType
from modelyard.store_registry import tracking_store_for_uri
from modelyard.stores import TrackingStore

VIEWS = {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}

tracking_uri_option = click.option(
    "--tracking-uri",
    default=None,
    help="Tracking URI [default: MODELYARD_TRACKING_URI, else sqlite:///modelyard.db].",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
view_option = click.option(
    "--view",
    type=click.Choice(sorted(VIEWS)),
    default="active",
    show_default=True,
    help="Which lifecycle stages to list.",
)


@contextmanager
def open_store(tracking_uri: str | None) -> Iterator[TrackingStore]:
    """The validated store for a URI (flag, else environment, else the embedded default)."""
    uri = tracking_uri or client_config().tracking_uri or DEFAULT_TRACKING_URI
    store = tracking_store_for_uri(uri)
    try:
        yield store
    finally:
        store.close()


def experiment_dict(experiment: Experiment) -> dict[str, object]:
    """An experiment as plain data."""
    return dataclasses.asdict(experiment)


def run_dict(run: Run) -> dict[str, object]:
    """A run as plain data (MLflow's shape: info, data.metrics/params/tags)."""
    return {
        "info": dataclasses.asdict(run.info),
        "data": {
            "metrics": run.data.metrics,
            "params": run.data.params,
            "tags": run.data.tags,
        },
    }


def _parse_tags(pairs: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--tag")
        out[key] = value
    return out


# -- experiments ---------------------------------------------------------------------------


@click.group("experiments")
def experiments_group() -> None:
    """Create, list, rename, delete and restore experiments."""


@experiments_group.command("create")
@click.option("--name", "-n", required=True, help="Experiment name.")
@click.option("--artifact-location", "-l", default=None, help="Artifact root URI.")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Tag (repeatable).")
@tracking_uri_option
@json_option
def create_experiment(
    name: str,
    artifact_location: str | None,
    tags: tuple[str, ...],
    tracking_uri: str | None,
    as_json: bool,
) -> None:
    """Create an experiment and print its id."""
    with open_store(tracking_uri) as store:
        experiment_id = store.create_experiment(
            name, artifact_location=artifact_location, tags=_parse_tags(tags)
        )
        if as_json:
            echo_json(experiment_dict(store.get_experiment(experiment_id)))
        else:
            click.echo(f"Created experiment {name!r} with id {experiment_id}")


@experiments_group.command("list")
@view_option
@click.option("--filter", "filter_string", default="", help="Filter, e.g. \"name LIKE 'a%'\".")
@click.option("--order-by", multiple=True, help="Order clause (repeatable).")
@click.option("--max-results", type=int, default=1000, show_default=True)
@tracking_uri_option
@json_option
def list_experiments(
    view: str,
    filter_string: str,
    order_by: tuple[str, ...],
    max_results: int,
    tracking_uri: str | None,
    as_json: bool,
) -> None:
    """List experiments."""
    with open_store(tracking_uri) as store:
        page = store.search_experiments(
            view_type=VIEWS[view],
            filter_string=filter_string,
            order_by=list(order_by),
            max_results=max_results,
        )
    if as_json:
        echo_json([experiment_dict(e) for e in page])
        return
    echo_table(
        ["experiment_id", "name", "artifact_location", "lifecycle_stage"],
        [(e.experiment_id, e.name, e.artifact_location, e.lifecycle_stage) for e in page],
    )


@experiments_group.command("delete")
@click.argument("experiment_id")
@tracking_uri_option
def delete_experiment(experiment_id: str, tracking_uri: str | None) -> None:
    """Soft-delete an experiment and its runs."""
    with open_store(tracking_uri) as store:
        store.delete_experiment(experiment_id)
    click.echo(f"Deleted experiment {experiment_id}")


@experiments_group.command("restore")
@click.argument("experiment_id")
@tracking_uri_option
def restore_experiment(experiment_id: str, tracking_uri: str | None) -> None:
    """Restore a deleted experiment and the runs its deletion removed."""
    with open_store(tracking_uri) as store:
        store.restore_experiment(experiment_id)
    click.echo(f"Restored experiment {experiment_id}")


@experiments_group.command("rename")
@click.argument("experiment_id")
@click.argument("new_name")
@tracking_uri_option
def rename_experiment(experiment_id: str, new_name: str, tracking_uri: str | None) -> None:
    """Rename an experiment."""
    with open_store(tracking_uri) as store:
        store.rename_experiment(experiment_id, new_name)
    click.echo(f"Renamed experiment {experiment_id} to {new_name!r}")


# -- runs ----------------------------------------------------------------------------------


@click.group("runs")
def runs_group() -> None:
    """List, show, delete and restore runs."""


@runs_group.command("list")
@click.option(
    "--experiment-id",
    "experiment_ids",
    multiple=True,
    required=True,
    help="Experiment to search (repeatable).",
)
@view_option
@click.option("--filter", "filter_string", default="", help='Filter, e.g. "metrics.acc > 0.9".')
@click.option("--order-by", multiple=True, help="Order clause (repeatable).")
@click.option("--max-results", type=int, default=1000, show_default=True)
@tracking_uri_option
@json_option
def list_runs(
    experiment_ids: tuple[str, ...],
    view: str,
    filter_string: str,
    order_by: tuple[str, ...],
    max_results: int,
    tracking_uri: str | None,
    as_json: bool,
) -> None:
    """List the runs of experiments."""
    with open_store(tracking_uri) as store:
        page = store.search_runs(
            experiment_ids=list(experiment_ids),
            filter_string=filter_string,
            view_type=VIEWS[view],
            max_results=max_results,
            order_by=list(order_by),
        )
    if as_json:
        echo_json([run_dict(r) for r in page])
        return
    echo_table(
        ["run_id", "experiment_id", "run_name", "status", "start_time", "lifecycle_stage"],
        [
            (
                r.info.run_id,
                r.info.experiment_id,
                r.info.run_name,
                r.info.status,
                r.info.start_time,
                r.info.lifecycle_stage,
            )
            for r in page
        ],
    )


@runs_group.command("get")
@click.argument("run_id")
@tracking_uri_option
def get_run(run_id: str, tracking_uri: str | None) -> None:
    """Print a run as JSON."""
    with open_store(tracking_uri) as store:
        run = store.get_run(run_id)
    echo_json(run_dict(run))


@runs_group.command("delete")
@click.argument("run_id")
@tracking_uri_option
def delete_run(run_id: str, tracking_uri: str | None) -> None:
    """Soft-delete a run."""
    with open_store(tracking_uri) as store:
        store.delete_run(run_id)
    click.echo(f"Deleted run {run_id}")


@runs_group.command("restore")
@click.argument("run_id")
@tracking_uri_option
def restore_run(run_id: str, tracking_uri: str | None) -> None:
    """Restore a deleted run."""
    with open_store(tracking_uri) as store:
        store.restore_run(run_id)
    click.echo(f"Restored run {run_id}")
