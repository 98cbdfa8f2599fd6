"""End to end: the nested-runs example trains and registers, the CLI promotes, a fresh process
serves by alias.

Two deployments: (a) a live server on PostgreSQL that proxies artifacts to S3 (moto), and
(b) the embedded default (SQLite file and ./mlartifacts in the working directory, no server).
Everything a user would run is its own process: the example (`python
examples/hyperparameter_search.py`), every `modelyard models …` command (`python -m modelyard`,
as a CI shell step runs it) and the serving job (`python -c …` that loads
`models:/<name>@champion`). The test process only reads back through `modelyard.Client`.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import modelyard.pyfunc
from modelyard import Client

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = REPO_ROOT / "examples" / "hyperparameter_search.py"
MODEL = "diabetes-elasticnet"
FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
CANDIDATES = {(a, r) for a in ("0.0005", "0.005", "0.05") for r in ("0.2", "0.8")}
EPOCHS = 20
SECOND_SEED = 13579
GIT_COMMIT = "mlflow.source.git.commit"

# The serving job: a fresh interpreter that knows only the model's name and alias. It predicts
# on the version's stored input example (downloaded next to the model) and on two bad inputs,
# and prints one JSON line.
SERVE = r"""
import json, sys, tempfile
import pandas as pd
import modelyard
import modelyard.pyfunc

name, alias = sys.argv[1], sys.argv[2]
model = modelyard.pyfunc.load_model(f"models:/{name}@{alias}")
client = modelyard.Client()
mv = client.get_model_version_by_alias(name, alias)
with tempfile.TemporaryDirectory() as tmp:
    local = client.download_artifacts(mv.run_id, "model/" + mv.input_example_path, tmp)
    with open(local) as f:
        stored = json.load(f)
stored = stored.get("dataframe_split", stored)
example = pd.DataFrame(stored["data"], columns=stored["columns"])

def attempt(frame):
    try:
        model.predict(frame)
    except Exception as exc:
        code = getattr(exc, "code", None)
        return {"type": type(exc).__name__, "code": getattr(code, "name", None),
                "message": str(exc)}
    return None

wrong_type = example.copy()
wrong_type["bmi"] = "high"
print(json.dumps({
    "version": mv.version,
    "columns": list(example.columns),
    "example": example.values.tolist(),
    "predictions": [float(v) for v in model.predict(example)],
    "missing_column": attempt(example.drop(columns=["bmi"])),
    "wrong_type": attempt(wrong_type),
}))
"""


@dataclass
class Deployment:
    """Where the registry lives and how each process reaches it."""

    kind: str
    tracking_uri: str
    """What the test process and the CLI are given (--tracking-uri)."""
    workdir: Path
    """Working directory of the example and the serving job."""
    env: dict[str, str] = field(default_factory=dict)
    """Environment of every subprocess (MODELYARD_TRACKING_URI only for the server)."""
    bucket: str | None = None
    s3_endpoint: str | None = None

    def client(self) -> Client:
        """A Client in the test process."""
        return Client(tracking_uri=self.tracking_uri)


def _base_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MODELYARD_", "AWS_", "MLFLOW_")) and k != "PYTHONPATH"
    }
    # the checkout itself, whatever the installed copy holds (as running from the root does)
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["MODELYARD_PROGRESS"] = "false"
    return env


@pytest.fixture(params=["postgres-s3-server", "sqlite-embedded"])
def deployment(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Deployment]:
    """(a) a live server on PostgreSQL with S3 artifacts via moto; (b) embedded SQLite."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = _base_env()
    if request.param == "sqlite-embedded":
        uri = f"sqlite:///{workdir / 'modelyard.db'}"
        # this process's own loads (load_model has no tracking_uri argument) read the same file
        monkeypatch.setenv("MODELYARD_TRACKING_URI", uri)
        yield Deployment("sqlite", uri, workdir, env)
        return
    postgres_uri: str = request.getfixturevalue("postgres_uri")
    bucket: str = request.getfixturevalue("s3_bucket")
    s3_env: dict[str, str] = request.getfixturevalue("s3_storage_env")
    for key, value in s3_env.items():  # the server (in this process) writes to the bucket
        monkeypatch.setenv(key, value)
    live_server = request.getfixturevalue("live_server")
    endpoint = s3_env["MODELYARD_S3_ENDPOINT_URL"]
    uri = live_server(
        postgres_uri,
        artifacts_destination=f"s3://{bucket}/artifacts",
        s3_endpoint_url=endpoint,
    )
    # Clients get no S3 credentials: every byte goes through the server's ArtifactService.
    env["MODELYARD_TRACKING_URI"] = uri
    monkeypatch.setenv("MODELYARD_TRACKING_URI", uri)
    yield Deployment("postgres", uri, workdir, env, bucket=bucket, s3_endpoint=endpoint)


# -- processes ---------------------------------------------------------------------------


def _run(
    args: list[str], dep: Deployment, user: str | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    env = dict(dep.env)
    if user is not None:
        env["MODELYARD_TRACKING_USERNAME"] = user
    return subprocess.run(
        args, cwd=dep.workdir, env=env, capture_output=True, text=True, timeout=timeout
    )


def run_example(dep: Deployment, *extra: str) -> dict[str, str]:
    """Run the example; return what it printed (run_id, best_run_id, model_uri, registered)."""
    proc = _run([sys.executable, str(EXAMPLE), *extra], dep, user="data-scientist")
    assert proc.returncode == 0, f"example failed:\n{proc.stdout}\n{proc.stderr}"
    printed = dict(re.findall(r"^(\w+): (.*)$", proc.stdout, flags=re.MULTILINE))
    assert {"run_id", "best_run_id", "model_uri", "registered"} <= set(printed), proc.stdout
    return printed


def cli(dep: Deployment, *args: str, user: str = "ci-bot", expect: int = 0) -> Any:
    """`modelyard models <args> --tracking-uri …` in a subprocess; its JSON when --json."""
    cmd = [sys.executable, "-m", "modelyard", "models", *args, "--tracking-uri", dep.tracking_uri]
    proc = _run(cmd, dep, user=user)
    assert proc.returncode == expect, f"{cmd[3:]} exited {proc.returncode}:\n{proc.stderr}"
    if "--json" in args and expect == 0:
        return json.loads(proc.stdout)
    return proc.stdout + proc.stderr


def serve(dep: Deployment, alias: str = "champion") -> dict[str, Any]:
    """The serving job in a fresh interpreter: load models:/<MODEL>@alias, predict."""
    proc = _run([sys.executable, "-c", SERVE, MODEL, alias], dep, user="serving")
    assert proc.returncode == 0, f"serving job failed:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- read-back helpers -------------------------------------------------------------------


def _metrics(run_json: dict[str, Any]) -> dict[str, float]:
    """Latest metric values of a run as --json prints it (a dict, or the metric_list)."""
    data = run_json["data"]
    if isinstance(data.get("metrics"), dict):
        return data["metrics"]
    out: dict[str, float] = {}
    for m in data["metric_list"]:
        key, value = (m["key"], m["value"]) if isinstance(m, dict) else (m[0], m[1])
        out[key] = value
    return out


def _children(client: Client, parent_run_id: str) -> list[Any]:
    parent = client.get_run(parent_run_id)
    return client.search_runs(
        [parent.info.experiment_id],
        f"tags.`mlflow.parentRunId` = '{parent_run_id}'",
        order_by=["metrics.val_rmse ASC"],
    )


def _git_head() -> str | None:
    try:
        proc = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def check_hyperparameter_search(client: Client, stdout: str, cwd: Path) -> None:
    """What the example logged: a parent, six nested children, the best one's model, registered.

    (Shaped like tests/integration/e2e/test_examples.py's checks, so CHECKS can reuse it.)
    """
    printed = dict(re.findall(r"^(\w+): (.*)$", stdout, flags=re.MULTILINE))
    _check_sweep(client, printed)


def _check_sweep(client: Client, printed: dict[str, str]) -> list[Any]:
    parent = client.get_run(printed["run_id"])
    assert parent.info.run_name == "elasticnet-sweep"
    assert parent.info.status == "FINISHED"
    exp = client.get_experiment_by_name("hyperparameter-search")
    assert exp is not None and parent.info.experiment_id == exp.experiment_id
    children = _children(client, parent.info.run_id)
    assert {(c.data.params["alpha"], c.data.params["l1_ratio"]) for c in children} == CANDIDATES
    for child in children:
        assert child.info.status == "FINISHED"
        assert child.data.params["epochs"] == str(EPOCHS)
        for key in ("train_rmse", "val_rmse"):
            steps = [m.step for m in client.get_metric_history(child.info.run_id, key)]
            assert steps == list(range(EPOCHS)), (key, steps)
    best = children[0]  # lowest final val_rmse
    assert best.info.run_id == printed["best_run_id"]
    assert parent.data.tags["best_run_id"] == best.info.run_id
    assert math.isclose(parent.data.metrics["best_val_rmse"], best.data.metrics["val_rmse"])
    assert {"test_rmse", "test_mae", "test_r2"} <= set(best.data.metrics)
    assert all("test_rmse" not in c.data.metrics for c in children[1:])
    # the model is an artifact of the best child (the MLflow 2 layout: runs:/<run_id>/model)
    listed = {f.path for f in client.list_artifacts(best.info.run_id, "model")}
    assert "model/MLmodel" in listed, listed
    assert printed["model_uri"] == f"runs:/{best.info.run_id}/model"
    return children


def _versions(dep: Deployment) -> dict[int, dict[str, Any]]:
    return {v["version"]: v for v in cli(dep, "versions", "--name", MODEL, "--json")}


def _signature_columns(signature: dict[str, Any] | None) -> list[str]:
    assert signature is not None and signature["inputs"], signature
    return [col.get("name") for col in json.loads(signature["inputs"])]


# -- the test ----------------------------------------------------------------------------


def test_train_register_promote_serve(deployment: Deployment) -> None:
    """Example -> registered v1 -> Staging -> Production -> @champion -> fresh-process predict;
    then a retrain registers v2, the alias moves, and the serving job picks v2 up."""
    dep = deployment
    client = dep.client()

    # 1. The sweep registers the best child's model as version 1.
    first = run_example(dep)
    assert first["registered"] == f"{MODEL} version 1"
    children = _check_sweep(client, first)
    best = children[0]

    versions = _versions(dep)
    assert list(versions) == [1]
    v1 = versions[1]
    assert v1["status"] == "READY"
    assert v1["current_stage"] == "None"
    assert v1["run_id"] == best.info.run_id
    assert v1["source"] == first["model_uri"]
    assert v1["user_id"] == "data-scientist"
    got = cli(dep, "get", "--name", MODEL, "--version", "1", "--json")
    assert _signature_columns(got["signature"]) == FEATURES
    assert got["input_example_path"]
    assert got["file_count"] >= 2 and re.fullmatch(r"[0-9a-f]{64}", got["content_digest"])
    if dep.bucket is not None:  # the files are in the bucket, under the server's destination
        from tests.object_stores import s3_client

        assert dep.s3_endpoint is not None
        keys = [
            o["Key"]
            for page in s3_client(dep.s3_endpoint)
            .get_paginator("list_objects_v2")
            .paginate(Bucket=dep.bucket, Prefix="artifacts/")
            for o in page.get("Contents", [])
        ]
        assert any(k.endswith(f"/{best.info.run_id}/artifacts/model/MLmodel") for k in keys), keys

    # 2. CI promotes it: Staging, then Production archiving what was there, then @champion.
    t0 = int(time.time() * 1000)
    staged = cli(dep, "transition", "--name", MODEL, "-v", "1", "--stage", "staging", "--json")
    assert staged["current_stage"] == "Staging"
    prod = cli(
        dep,
        "transition",
        "--name",
        MODEL,
        "--version",
        "1",
        "--stage",
        "Production",
        "--archive-existing",
        "--json",
        user="release-manager",
    )
    assert prod["current_stage"] == "Production"
    aliased = cli(
        dep,
        "set-alias",
        "--name",
        MODEL,
        "--alias",
        "champion",
        "--version",
        "1",
        "--json",
        user="release-manager",
    )
    assert aliased["version"] == 1 and aliased["aliases"] == ["champion"]
    t1 = int(time.time() * 1000)

    # 3. History: both transitions and the alias move, with who and when.
    events = cli(dep, "history", "--name", MODEL, "--json")
    moves = [
        (e["kind"], e["version"], e["from_stage"], e["to_stage"], e["alias"], e["user_id"])
        for e in events
    ]
    assert moves == [
        ("STAGE_TRANSITIONED", 1, "None", "Staging", None, "ci-bot"),
        ("STAGE_TRANSITIONED", 1, "Staging", "Production", None, "release-manager"),
        ("ALIAS_SET", 1, None, None, "champion", "release-manager"),
    ]
    assert [e["model_name"] for e in events] == [MODEL] * 3
    assert all(t0 - 1000 <= e["time"] <= t1 + 1000 for e in events), events
    assert all(e["user_verified"] is False for e in events)
    assert events[2]["previous_version"] is None
    ids = [e["event_id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == 3
    text = cli(dep, "history", "--name", MODEL)
    assert "release-manager (reported by the client, not verified)" in text

    # 4. Lineage: the best child, its params and metrics, the parent run, the git commit.
    lineage = cli(dep, "lineage", "--name", MODEL, "--alias", "champion", "--json")
    assert lineage["model_version"]["version"] == 1
    run = lineage["run"]
    assert run["info"]["run_id"] == best.info.run_id
    assert run["data"]["params"] == best.data.params
    metrics = _metrics(run)
    assert metrics["val_rmse"] == pytest.approx(best.data.metrics["val_rmse"])
    assert {"train_rmse", "val_rmse", "test_rmse", "test_r2"} <= set(metrics)
    assert lineage["experiment"]["name"] == "hyperparameter-search"
    assert [p["info"]["run_id"] for p in lineage["parent_runs"]] == [first["run_id"]]
    assert lineage["parent_runs"][0]["data"]["tags"]["best_run_id"] == best.info.run_id
    commit = best.data.tags.get(GIT_COMMIT)
    head = _git_head()
    if head is not None:  # the example runs from this checkout, so its runs carry the commit
        assert commit == head
    if commit is not None:
        assert run["data"]["tags"][GIT_COMMIT] == commit
        assert commit in cli(dep, "lineage", "--name", MODEL, "--version", "1")

    # 5. The serving job, in a fresh process, loads @champion and predicts on the example.
    served = serve(dep)
    assert served["version"] == 1
    assert served["columns"] == FEATURES
    assert len(served["predictions"]) == len(served["example"]) == 5
    assert all(25.0 < p < 350.0 for p in served["predictions"]), served["predictions"]
    in_process = modelyard.pyfunc.load_model(f"models:/{MODEL}/1")
    example = pd.DataFrame(served["example"], columns=served["columns"])
    assert served["predictions"] == pytest.approx([float(p) for p in in_process.predict(example)])
    # bad input fails with an error that names the column, not with a numpy traceback
    for key in ("missing_column", "wrong_type"):
        error = served[key]
        assert error is not None, f"{key}: predict accepted it"
        assert error["code"] == "INVALID_ARGUMENT", error
        assert "bmi" in error["message"], error

    # 6. A retrain registers version 2 (another split, so another model); the alias moves.
    second = run_example(dep, "--seed", str(SECOND_SEED))
    assert second["registered"] == f"{MODEL} version 2"
    assert second["best_run_id"] != best.info.run_id
    _check_sweep(client, second)
    cli(dep, "transition", "--name", MODEL, "-v", "2", "-s", "Production", "--archive-existing")
    cli(dep, "set-alias", "--name", MODEL, "--alias", "champion", "--version", "2")
    versions = _versions(dep)
    assert sorted(versions) == [1, 2]
    assert versions[1]["current_stage"] == "Archived" and versions[1]["aliases"] == []
    assert versions[2]["current_stage"] == "Production" and versions[2]["aliases"] == ["champion"]
    assert versions[2]["run_id"] == second["best_run_id"]

    events = cli(dep, "history", "--name", MODEL, "--json")[3:]
    moves = [(e["kind"], e["version"], e["from_stage"], e["to_stage"], e["alias"]) for e in events]
    assert sorted(moves, key=str) == sorted(
        [
            ("STAGE_TRANSITIONED", 2, "None", "Production", None),
            ("STAGE_TRANSITIONED", 1, "Production", "Archived", None),
            ("ALIAS_SET", 2, None, None, "champion"),
        ],
        key=str,
    )
    assert events[-1]["previous_version"] == 1
    assert {e["user_id"] for e in events} == {"ci-bot"}

    served2 = serve(dep)
    assert served2["version"] == 2
    v2 = modelyard.pyfunc.load_model(f"models:/{MODEL}/2")
    example2 = pd.DataFrame(served2["example"], columns=served2["columns"])
    assert served2["predictions"] == pytest.approx([float(p) for p in v2.predict(example2)])
    assert served2["predictions"] != pytest.approx([float(p) for p in in_process.predict(example2)])
    # the run the alias now names: lineage follows the alias
    lineage2 = cli(dep, "lineage", "--name", MODEL, "--alias", "champion", "--json")
    assert lineage2["run"]["info"]["run_id"] == second["best_run_id"]
    assert [p["info"]["run_id"] for p in lineage2["parent_runs"]] == [second["run_id"]]
