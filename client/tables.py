"""Tables as run artifacts (`log_table`, `load_table`), in MLflow's format.

A table is a JSON file in pandas' "split" layout without the index: `{"columns": [...],
"data": [[...], ...]}`. Logging to a file the run already has appends the new rows (columns
are united, missing cells are null). The run's tag `mlflow.loggedArtifacts` lists every table
as `{"path": <file>, "type": "table"}`, which is how `load_table` finds the runs that have one.
"""

from __future__ import annotations

import json
import posixpath
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.artifacts.paths import clean_path
from modelyard.entities.paging import collect_pages
from modelyard.errors import InvalidArgument, NotFound

if TYPE_CHECKING:
    from modelyard.client.client import Client

#: The run tag listing the run's table artifacts (MLflow's name and JSON form).
LOGGED_ARTIFACTS_TAG = "mlflow.loggedArtifacts"
TABLE_TYPE = "table"


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as exc:  # pragma: no cover - the test venv has pandas
        raise ModuleNotFoundError(
            "tables need pandas: pip install 'modelyard[pandas]'", name="pandas"
        ) from exc
    return pandas


def check_table_file(artifact_file: str) -> None:
    """A table's artifact path must be a clean relative path to a .json file."""
    if not isinstance(artifact_file, str) or not artifact_file.endswith(".json"):
        raise InvalidArgument(
            f"a table is stored as JSON: artifact_file must end with .json, got {artifact_file!r}",
            artifact_file=repr(artifact_file),
        )
    clean_path(artifact_file)


def as_frame(data: Any) -> Any:
    """The table as a DataFrame: a DataFrame as it is, or a dict of equal-length columns."""
    pandas = _pandas()
    if isinstance(data, pandas.DataFrame):
        return data
    if isinstance(data, dict):
        lengths = {len(v) if isinstance(v, (list, tuple)) else 1 for v in data.values()}
        if len(lengths) > 1:
            raise InvalidArgument(
                f"the columns of a table must have the same length, got lengths {sorted(lengths)}",
                lengths=",".join(str(n) for n in sorted(lengths)),
            )
        return pandas.DataFrame(data)
    raise InvalidArgument(
        f"a table is a dict of columns or a pandas DataFrame, got {type(data).__name__}",
        type=type(data).__name__,
    )


def read_table(path: Path) -> Any:
    """A table file as a DataFrame."""
    pandas = _pandas()
    with path.open(encoding="utf-8") as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or "columns" not in doc or "data" not in doc:
        raise InvalidArgument(
            f"{path.name} is not a table (expected a JSON object with columns and data)",
            path=path.name,
        )
    return pandas.DataFrame(doc["data"], columns=doc["columns"])


def log_table(client: Client, run_id: str, data: Any, artifact_file: str) -> None:
    """Write (or append to) the table artifact_file of a run, and list it in the run's tag."""
    check_table_file(artifact_file)
    frame = as_frame(data)
    pandas = _pandas()
    folder = posixpath.dirname(artifact_file) or None
    if artifact_file in {f.path for f in client.list_artifacts(run_id, folder)}:
        with tempfile.TemporaryDirectory(prefix="modelyard-table-") as tmp:
            existing = read_table(Path(client.download_artifacts(run_id, artifact_file, tmp)))
        frame = pandas.concat([existing, frame], ignore_index=True)
    body = frame.to_json(orient="split", index=False, default_handler=str)
    client.log_text(run_id, body, artifact_file)
    listed = _listed_tables(client.get_run(run_id).data.tags)
    entry = {"path": artifact_file, "type": TABLE_TYPE}
    if entry not in listed:
        client.set_tag(run_id, LOGGED_ARTIFACTS_TAG, json.dumps([*listed, entry]))


def _listed_tables(tags: dict[str, str]) -> list[dict[str, str]]:
    try:
        listed = json.loads(tags.get(LOGGED_ARTIFACTS_TAG, "[]"))
    except json.JSONDecodeError:
        return []
    return [e for e in listed if isinstance(e, dict)] if isinstance(listed, list) else []


def load_table(
    client: Client,
    experiment_ids: Sequence[str],
    artifact_file: str,
    run_ids: Sequence[str] | None = None,
    extra_columns: Sequence[str] | None = None,
) -> Any:
    """The rows of table artifact_file from every run of the experiments that logged it.

    `run_ids` narrows the runs; `extra_columns` names run attributes (`run_id`,
    `experiment_id`, `run_name`, `status`, ...) added as columns. Rows keep the runs' order of
    start (oldest first).

    Raises:
        NotFound: no run (of those asked) logged that table.
    """
    check_table_file(artifact_file)
    pandas = _pandas()
    # The LIKE narrows on the server; the tag is parsed below for the exact match.
    quoted = artifact_file.replace("'", "''")
    filters = [f"tags.`{LOGGED_ARTIFACTS_TAG}` LIKE '%{quoted}%'"]
    if run_ids:
        ids = ", ".join("'{}'".format(r.replace("'", "''")) for r in run_ids)
        filters.append(f"attributes.run_id IN ({ids})")
    runs = collect_pages(
        client.search_runs,
        None,
        1000,
        experiment_ids=list(experiment_ids),
        filter_string=" and ".join(filters),
        order_by=["attributes.start_time ASC"],
    )
    entry = {"path": artifact_file, "type": TABLE_TYPE}
    runs = [r for r in runs if entry in _listed_tables(r.data.tags)]
    if not runs:
        raise NotFound(
            f"no run has the table {artifact_file!r}"
            + (f" among runs {list(run_ids)}" if run_ids else ""),
            artifact_file=artifact_file,
        )
    frames = []
    with tempfile.TemporaryDirectory(prefix="modelyard-table-") as tmp:
        for i, run in enumerate(runs):
            into = Path(tmp, str(i))
            into.mkdir()
            local = client.download_artifacts(run.info.run_id, artifact_file, str(into))
            frame = read_table(Path(local))
            for column in extra_columns or ():
                if not hasattr(run.info, column):
                    raise InvalidArgument(
                        f"extra column {column!r} is not a run attribute",
                        extra_column=column,
                    )
                frame[column] = getattr(run.info, column)
            frames.append(frame)
    return pandas.concat(frames, ignore_index=True)
