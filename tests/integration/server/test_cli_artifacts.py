"""`modelyard artifacts …` against a live server proxying to a local destination."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelyard import Client
from modelyard.cli import cli
from tests.conftest import LiveServers

pytestmark = pytest.mark.integration


@pytest.fixture
def served(tmp_path: Path, sqlite_uri: str, live_server: LiveServers) -> tuple[str, str, Path]:
    """(tracking URI, a fresh run id, the server's destination folder)."""
    destination = tmp_path / "destination"
    uri = live_server(sqlite_uri, artifacts_destination=str(destination))
    client = Client(uri)
    run_id = client.create_run(client.create_experiment("cli-artifacts")).info.run_id
    return uri, run_id, destination


def invoke(*args: str) -> str:
    """Run the CLI; fail with its output unless it exits 0."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_log_list_and_download(served: tuple[str, str, Path], tmp_path: Path) -> None:
    uri, run_id, destination = served
    model = tmp_path / "model.pkl"
    model.write_bytes(bytes(range(256)) * 1000)
    folder = tmp_path / "data"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("alpha")
    (folder / "sub" / "b.txt").write_text("beta")

    invoke("artifacts", "log-artifact", "-l", str(model), "-r", run_id, "--tracking-uri", uri)
    invoke(
        "artifacts", "log-artifacts", "-l", str(folder), "-r", run_id, "-a", "states",
        "--tracking-uri", uri,
    )  # fmt: skip
    listed = json.loads(invoke("artifacts", "list", "-r", run_id, "--json", "--tracking-uri", uri))
    assert listed == [
        {"path": "model.pkl", "is_dir": False, "file_size": 256_000},
        {"path": "states", "is_dir": True, "file_size": None},
    ]
    table = invoke("artifacts", "list", "-r", run_id, "-a", "states", "--tracking-uri", uri)
    assert "states/a.txt" in table and "states/sub" in table

    by_run = Path(
        invoke(
            "artifacts", "download", "-r", run_id, "-a", "states", "-d", str(tmp_path / "one"),
            "--tracking-uri", uri,
        ).strip()
    )  # fmt: skip
    assert (by_run / "a.txt").read_text() == "alpha"
    assert (by_run / "sub" / "b.txt").read_text() == "beta"
    by_uri = Path(
        invoke(
            "artifacts", "download", "-u", f"runs:/{run_id}/model.pkl", "-d", str(tmp_path / "two"),
            "--tracking-uri", uri,
        ).strip()
    )  # fmt: skip
    assert by_uri.read_bytes() == model.read_bytes()
    # The bytes went through the server into its destination.
    stored = list(destination.rglob("model.pkl"))
    assert len(stored) == 1 and stored[0].read_bytes() == model.read_bytes()


def test_bad_input_is_refused_without_writing(
    served: tuple[str, str, Path], tmp_path: Path
) -> None:
    uri, run_id, destination = served
    model = tmp_path / "model.pkl"
    model.write_bytes(b"x")
    result = CliRunner().invoke(
        cli,
        ["artifacts", "log-artifact", "-l", str(model), "-r", run_id, "-a", "../escape",
         "--tracking-uri", uri],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "../escape" in result.output
    assert not list(destination.rglob("model.pkl"))
    both = CliRunner().invoke(
        cli,
        ["artifacts", "download", "-r", run_id, "-u", f"runs:/{run_id}/x", "--tracking-uri", uri],
    )
    assert both.exit_code == 2 and "exactly one" in both.output
