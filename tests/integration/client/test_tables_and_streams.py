"""log_table / load_table / log_stream, embedded and through a live server."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest

import modelyard
import modelyard as mlflow
from modelyard.client import tables
from modelyard.errors import InvalidArgument, NotFound
from tests.integration.client.test_artifacts_logging import Setup, setup  # noqa: F401

pytestmark = pytest.mark.integration

FILE = "eval/results.json"


def test_log_table_writes_mlflow_split_json_and_appends(setup: Setup) -> None:  # noqa: F811
    """A dict or a DataFrame is stored as {"columns", "data"}; a second log appends its rows
    (columns united); the run's tag lists the table once."""
    with mlflow.start_run() as run:
        modelyard.log_table({"question": ["a?", "b?"], "score": [0.5, 0.75]}, FILE)
        modelyard.log_table(pd.DataFrame({"question": ["c?"], "judge": ["gpt"]}), FILE)
    local = setup.client.download_artifacts(run.info.run_id, FILE, str(setup.physical().parent))
    doc = json.loads(Path(local).read_text(encoding="utf-8"))
    assert doc["columns"] == ["question", "score", "judge"]
    assert doc["data"] == [["a?", 0.5, None], ["b?", 0.75, None], ["c?", None, "gpt"]]
    tag = json.loads(setup.client.get_run(run.info.run_id).data.tags[tables.LOGGED_ARTIFACTS_TAG])
    assert tag == [{"path": FILE, "type": "table"}]


def test_load_table_gathers_the_runs_that_logged_it(setup: Setup) -> None:  # noqa: F811
    mlflow.set_experiment("evals")
    ids = []
    for name, score in (("first", 0.1), ("second", 0.2)):
        with mlflow.start_run(run_name=name) as run:
            modelyard.log_table({"score": [score]}, FILE)
            modelyard.log_table({"score": [score * 10]}, "other.json")
        ids.append(run.info.run_id)
    with mlflow.start_run(run_name="no-table"):
        modelyard.log_metric("x", 1)
    frame = modelyard.load_table(FILE, extra_columns=["run_id", "run_name"])
    assert frame.to_dict("records") == [
        {"score": 0.1, "run_id": ids[0], "run_name": "first"},
        {"score": 0.2, "run_id": ids[1], "run_name": "second"},
    ]
    only = modelyard.load_table(FILE, run_ids=[ids[1]])
    assert only["score"].tolist() == [0.2]
    with pytest.raises(NotFound, match=r"'missing\.json'"):
        modelyard.load_table("missing.json")
    with pytest.raises(InvalidArgument, match="'no_such_attribute'"):
        modelyard.load_table(FILE, extra_columns=["no_such_attribute"])


def test_bad_tables_are_refused_and_write_nothing(setup: Setup) -> None:  # noqa: F811
    with mlflow.start_run() as run:
        with pytest.raises(InvalidArgument, match=r"'results\.csv'"):
            modelyard.log_table({"a": [1]}, "results.csv")
        with pytest.raises(InvalidArgument, match=r"same length, got lengths \[1, 2\]"):
            modelyard.log_table({"a": [1], "b": [1, 2]}, FILE)
        with pytest.raises(InvalidArgument, match="list"):
            modelyard.log_table([1, 2, 3], FILE)
        with pytest.raises(InvalidArgument, match=re.escape("'../out.json'")):
            modelyard.log_table({"a": [1]}, "../out.json")
    assert setup.client.list_artifacts(run.info.run_id) == []
    assert tables.LOGGED_ARTIFACTS_TAG not in setup.client.get_run(run.info.run_id).data.tags


def test_log_stream_copies_a_binary_stream(setup: Setup) -> None:  # noqa: F811
    payload = bytes(range(256)) * 9000  # over one 1 MiB chunk
    with mlflow.start_run() as run:
        modelyard.log_stream(io.BytesIO(payload), "blobs/data.bin")
        with pytest.raises(TypeError, match="binary"):
            modelyard.log_stream(io.StringIO("text"), "blobs/text.bin")
    local = setup.client.download_artifacts(run.info.run_id, "blobs", str(setup.physical().parent))
    assert Path(local, "data.bin").read_bytes() == payload
    assert [f.path for f in setup.client.list_artifacts(run.info.run_id, "blobs")] == [
        "blobs/data.bin"
    ]
