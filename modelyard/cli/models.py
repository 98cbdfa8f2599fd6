"""`modelyard models …`: the registry from shell scripts and CI pipelines.

Every command goes through `modelyard.Client` (any tracking URI), prints a short line or, with
`--json`, one JSON document (`watch` prints one JSON object per line), and exits with a code
that says what went wrong (see `modelyard.cli.app.EXIT_CODES`): 0 ok, 2 bad input,
3 not found, 4 already exists, 5 refused in the current state, 6 permission denied,
7 server unavailable, 1 anything else.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

import click

from modelyard.cli.app import echo_json, echo_table, jsonable
from modelyard.cli.tracking import _parse_tags, json_option, run_dict, tracking_uri_option

if TYPE_CHECKING:
    from modelyard.client.client import Client
    from modelyard.entities.model_registry import ModelVersion, RegistryEvent

name_option = click.option("--name", "-n", required=True, help="Registered model name.")
version_option = click.option("--version", "-v", "version", required=True, help="Version number.")


def _client(tracking_uri: str | None) -> Client:
    from modelyard.client.client import Client

    return Client(tracking_uri)


def as_data(value: Any) -> Any:
    """Domain dataclasses (and lists of them) as plain data, for `echo_json` / `jsonable`."""
    if isinstance(value, (list, tuple)):
        return [as_data(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def _version_line(mv: ModelVersion) -> str:
    aliases = f" aliases={','.join(mv.aliases)}" if mv.aliases else ""
    return f"{mv.name} version {mv.version} [{mv.current_stage}] {mv.status}{aliases}"


def _event_line(event: RegistryEvent) -> str:
    who = f"{event.user_id or 'unknown'} (reported by the client, not verified)"
    what = event.kind.value
    if event.from_stage is not None or event.to_stage is not None:
        what += f" {event.from_stage} -> {event.to_stage}"
    if event.alias is not None:
        before = f" (was {event.previous_version})" if event.previous_version else ""
        what += f" @{event.alias}{before}"
    if event.new_model_name:
        what += f" -> {event.new_model_name}"
    version = f" v{event.version}" if event.version else ""
    return f"#{event.event_id} {event.time} {event.model_name}{version} {what} by {who}"


@click.group("models")
def models_group() -> None:
    """Register, promote and inspect model versions."""


@models_group.command("create")
@name_option
@click.option("--description", "-d", default=None)
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Tag (repeatable).")
@tracking_uri_option
@json_option
def create_model(
    name: str,
    description: str | None,
    tags: tuple[str, ...],
    tracking_uri: str | None,
    as_json: bool,
) -> None:
    """Create a registered model (exit 4 if it exists)."""
    model = _client(tracking_uri).create_registered_model(name, _parse_tags(tags), description)
    if as_json:
        echo_json(as_data(model))
    else:
        click.echo(f"Created registered model {model.name!r}")


@models_group.command("register")
@click.option("--model-uri", "-m", required=True, help="runs:/<run_id>/<path>, models:/… or a URI.")
@name_option
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Version tag.")
@tracking_uri_option
@json_option
def register(
    model_uri: str, name: str, tags: tuple[str, ...], tracking_uri: str | None, as_json: bool
) -> None:
    """Register a logged model as a new version (the model is created if new)."""
    from modelyard.client.registration import register_with

    mv = register_with(_client(tracking_uri), model_uri, name, tags=_parse_tags(tags))
    if as_json:
        echo_json(as_data(mv))
    else:
        click.echo(f"Registered {mv.name} version {mv.version} ({mv.status})")


@models_group.command("list")
@click.option("--filter", "filter_string", default="", help="Filter, e.g. \"name LIKE 'churn%'\".")
@click.option("--max-results", type=int, default=100, show_default=True)
@tracking_uri_option
@json_option
def list_models(
    filter_string: str, max_results: int, tracking_uri: str | None, as_json: bool
) -> None:
    """List registered models."""
    models = _client(tracking_uri).search_registered_models(filter_string, max_results)
    if as_json:
        echo_json(as_data(list(models)))
        return
    echo_table(
        ["name", "latest", "aliases", "updated"],
        [
            (
                m.name,
                max((v.version for v in m.latest_versions), default=""),
                ",".join(f"{a}={v}" for a, v in sorted(m.aliases.items())),
                m.last_updated_timestamp,
            )
            for m in models
        ],
    )


@models_group.command("versions")
@name_option
@click.option("--filter", "filter_string", default="", help="Extra filter, ANDed with the name.")
@click.option("--max-results", type=int, default=1000, show_default=True)
@tracking_uri_option
@json_option
def list_versions(
    name: str, filter_string: str, max_results: int, tracking_uri: str | None, as_json: bool
) -> None:
    """List a model's versions, newest first (exit 3 if the model does not exist)."""
    client = _client(tracking_uri)
    client.get_registered_model(name)
    quoted = name.replace("'", "''")
    where = f"name = '{quoted}'" + (f" AND {filter_string}" if filter_string else "")
    versions = client.search_model_versions(where, max_results, order_by=["version DESC"])
    if as_json:
        echo_json(as_data(list(versions)))
        return
    echo_table(
        ["version", "stage", "status", "aliases", "run_id", "source"],
        [
            (v.version, v.current_stage, v.status, ",".join(v.aliases), v.run_id, v.source)
            for v in versions
        ],
    )


def _resolve(client: Client, name: str, version: str | None, alias: str | None) -> ModelVersion:
    if (version is None) == (alias is None):
        raise click.UsageError("give exactly one of --version and --alias")
    if alias is not None:
        return client.get_model_version_by_alias(name, alias)
    return client.get_model_version(name, version)  # type: ignore[arg-type]


@models_group.command("get")
@name_option
@click.option("--version", "-v", default=None, help="Version number.")
@click.option("--alias", "-a", default=None, help="Alias instead of a version.")
@tracking_uri_option
@json_option
def get_version(
    name: str, version: str | None, alias: str | None, tracking_uri: str | None, as_json: bool
) -> None:
    """Show one version (by number or alias), with its signature metadata."""
    mv = _resolve(_client(tracking_uri), name, version, alias)
    if as_json:
        echo_json(as_data(mv))
    else:
        click.echo(_version_line(mv))
        click.echo(f"  source: {mv.source}\n  run_id: {mv.run_id}")
        click.echo(f"  signature: {'yes' if mv.signature else 'no'}  files: {mv.file_count}")


@models_group.command("transition")
@name_option
@version_option
@click.option("--stage", "-s", required=True, help="None, Staging, Production or Archived.")
@click.option("--archive-existing", is_flag=True, help="Archive the other versions in that stage.")
@tracking_uri_option
@json_option
def transition(
    name: str,
    version: str,
    stage: str,
    archive_existing: bool,
    tracking_uri: str | None,
    as_json: bool,
) -> None:
    """Move a version to a stage."""
    mv = _client(tracking_uri).transition_model_version_stage(
        name, version, stage, archive_existing_versions=archive_existing
    )
    if as_json:
        echo_json(as_data(mv))
    else:
        click.echo(f"{mv.name} version {mv.version} is now in {mv.current_stage}")


@models_group.command("set-alias")
@name_option
@click.option("--alias", "-a", required=True)
@version_option
@tracking_uri_option
@json_option
def set_alias(name: str, alias: str, version: str, tracking_uri: str | None, as_json: bool) -> None:
    """Point an alias at a version (moving it)."""
    client = _client(tracking_uri)
    client.set_registered_model_alias(name, alias, version)
    mv = client.get_model_version_by_alias(name, alias)
    if as_json:
        echo_json(as_data(mv))
    else:
        click.echo(f"{name}@{alias} -> version {mv.version}")


@models_group.command("delete-alias")
@name_option
@click.option("--alias", "-a", required=True)
@tracking_uri_option
def delete_alias(name: str, alias: str, tracking_uri: str | None) -> None:
    """Remove an alias (a missing alias is fine)."""
    _client(tracking_uri).delete_registered_model_alias(name, alias)
    click.echo(f"Removed alias {alias!r} of {name}")


@models_group.command("delete-version")
@name_option
@version_option
@tracking_uri_option
def delete_version(name: str, version: str, tracking_uri: str | None) -> None:
    """Delete a version (its number is never reused)."""
    _client(tracking_uri).delete_model_version(name, version)
    click.echo(f"Deleted {name} version {version}")


@models_group.command("delete")
@name_option
@tracking_uri_option
def delete_model(name: str, tracking_uri: str | None) -> None:
    """Delete a registered model with all its versions (its history stays)."""
    _client(tracking_uri).delete_registered_model(name)
    click.echo(f"Deleted registered model {name!r}")


@models_group.command("update")
@name_option
@click.option("--version", "-v", default=None, help="Update this version, not the model.")
@click.option("--description", "-d", default=None, help="The new description.")
@click.option("--rename", "new_name", default=None, help="New name of the model.")
@tracking_uri_option
@json_option
def update(
    name: str,
    version: str | None,
    description: str | None,
    new_name: str | None,
    tracking_uri: str | None,
    as_json: bool,
) -> None:
    """Change a model's description or name, or a version's description."""
    if description is None and new_name is None:
        raise click.UsageError("give --description or --rename")
    if version is not None and new_name is not None:
        raise click.UsageError("--rename renames the model: give it without --version")
    client = _client(tracking_uri)
    if version is not None:
        result: Any = client.update_model_version(name, version, description=description)
        said = f"Updated {name} version {version}"
    else:
        if new_name is not None:
            client.rename_registered_model(name, new_name)
            name = new_name
        if description is not None:
            client.update_registered_model(name, description=description)
        result = client.get_registered_model(name)
        said = f"Updated registered model {name!r}"
    if as_json:
        echo_json(as_data(result))
    else:
        click.echo(said)


@models_group.command("set-tag")
@name_option
@click.option("--version", "-v", default=None, help="Tag this version, not the model.")
@click.option(
    "--tag", "tags", multiple=True, required=True, metavar="KEY=VALUE", help="Tag (repeatable)."
)
@tracking_uri_option
def set_tag(
    name: str, version: str | None, tags: tuple[str, ...], tracking_uri: str | None
) -> None:
    """Set (or overwrite) tags of a registered model or of one of its versions."""
    client = _client(tracking_uri)
    parsed = _parse_tags(tags)
    for key, value in parsed.items():
        if version is None:
            client.set_registered_model_tag(name, key, value)
        else:
            client.set_model_version_tag(name, version, key, value)
    target = name if version is None else f"{name} version {version}"
    click.echo(f"Tagged {target}: {', '.join(sorted(parsed))}")


@models_group.command("delete-tag")
@name_option
@click.option("--version", "-v", default=None, help="Untag this version, not the model.")
@click.option("--key", "-k", "keys", multiple=True, required=True, help="Tag key (repeatable).")
@tracking_uri_option
def delete_tag(
    name: str, version: str | None, keys: tuple[str, ...], tracking_uri: str | None
) -> None:
    """Remove tags of a registered model or of one of its versions (a missing tag is fine)."""
    client = _client(tracking_uri)
    for key in keys:
        if version is None:
            client.delete_registered_model_tag(name, key)
        else:
            client.delete_model_version_tag(name, version, key)
    target = name if version is None else f"{name} version {version}"
    click.echo(f"Removed tags of {target}: {', '.join(keys)}")


@models_group.command("lineage")
@name_option
@click.option("--version", "-v", default=None, help="Version number.")
@click.option("--alias", "-a", default=None, help="Alias instead of a version.")
@tracking_uri_option
@json_option
def lineage(
    name: str, version: str | None, alias: str | None, tracking_uri: str | None, as_json: bool
) -> None:
    """Show where a version came from: run, params, metrics, git commit, parent runs."""
    client = _client(tracking_uri)
    mv = _resolve(client, name, version, alias)
    info = client.get_model_version_lineage(name, mv.version)
    if as_json:
        echo_json(
            {
                "model_version": as_data(info.model_version),
                "run": None if info.run is None else run_dict(info.run),
                "experiment": as_data(info.experiment),
                "parent_runs": [run_dict(r) for r in info.parent_runs],
                "copied_from": as_data(info.copied_from),
            }
        )
        return
    click.echo(_version_line(info.model_version))
    click.echo(f"  source: {info.model_version.source}")
    if info.copied_from is not None:
        click.echo(f"  copied from: {info.copied_from.name} version {info.copied_from.version}")
    if info.run is None:
        click.echo("  run: none")
        return
    run = info.run
    click.echo(f"  run: {run.info.run_id} ({run.info.run_name}, {run.info.status})")
    if info.experiment is not None:
        click.echo(f"  experiment: {info.experiment.experiment_id} ({info.experiment.name})")
    commit = run.data.tags.get("mlflow.source.git.commit")
    if commit:
        click.echo(f"  git commit: {commit}")
    for key, value in sorted(run.data.params.items()):
        click.echo(f"  param {key} = {value}")
    for key, value in sorted(run.data.metrics.items()):
        click.echo(f"  metric {key} = {value}")
    for parent in info.parent_runs:
        click.echo(f"  parent run: {parent.info.run_id} ({parent.info.run_name})")


@models_group.command("history")
@name_option
@click.option("--version", "-v", default=None, help="Only this version.")
@click.option("--kind", "kinds", multiple=True, help="Event kinds [default: stages and aliases].")
@tracking_uri_option
@json_option
def history(
    name: str,
    version: str | None,
    kinds: tuple[str, ...],
    tracking_uri: str | None,
    as_json: bool,
) -> None:
    """Who moved which version to which stage or alias, and when (oldest first)."""
    client = _client(tracking_uri)
    events: list[RegistryEvent] = []
    token: str | None = None
    while True:
        page = client.list_registry_history(
            name, kinds=kinds or None, version=version, page_token=token
        )
        events.extend(page)
        token = page.token
        if not token:
            break
    if as_json:
        echo_json(as_data(events))
        return
    for event in events:
        click.echo(_event_line(event))


@models_group.command("watch")
@click.option("--name", "-n", "names", multiple=True, help="Only these models (repeatable).")
@click.option("--kind", "kinds", multiple=True, help="Only these event kinds (repeatable).")
@click.option("--after-event-id", type=int, default=None, help="Resume after this event id.")
@click.option("--count", type=int, default=None, help="Exit after this many events.")
@tracking_uri_option
def watch(
    names: tuple[str, ...],
    kinds: tuple[str, ...],
    after_event_id: int | None,
    count: int | None,
    tracking_uri: str | None,
) -> None:
    """Print registry events as they happen, one JSON object per line."""
    seen = 0
    events = _client(tracking_uri).watch_registry_events(after_event_id, names, kinds or None)
    try:
        for event in events:
            click.echo(json.dumps(jsonable(as_data(event))), nl=True)
            seen += 1
            if count is not None and seen >= count:
                break
    finally:
        events.close()  # type: ignore[attr-defined]
