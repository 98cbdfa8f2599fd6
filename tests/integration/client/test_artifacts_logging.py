"""Client and fluent artifact calls, embedded and through a live server (local destination).

log_artifact (file and directory), log_text, log_dict (JSON and YAML), log_figure
(matplotlib), log_image (numpy and PIL, by file and by key), list_artifacts (one level, run-root
relative), download_artifacts, and `modelyard.artifacts` (runs:/ and store URIs, load_text,
load_dict). Paths are checked before anything is sent.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import modelyard
import modelyard as mlflow
from modelyard.client import Client, fluent
from modelyard.client import client as client_module
from modelyard.errors import InvalidArgument, NotFound

pytestmark = pytest.mark.integration

BAD_PATHS = [
    "../escape",
    "a/../../escape",
    "/absolute",
    "a//b",
    "a/./b",
    "%2e%2e/x",
    "a%2Fb",
    "a\\b",
    "a;b",
    "C:/windows",
    "nul\x00byte",
    "x/.modelyard-partial/y",
]


@dataclass
class Setup:
    """A tracking URI, a Client on it and a fresh run."""

    tracking_uri: str
    client: Client
    run_id: str
    destination: Path | None  # the server's local destination (None when embedded)

    def physical(self) -> Path:
        """The local folder holding this run's artifacts."""
        uri = self.client.get_run(self.run_id).info.artifact_uri
        if self.destination is None:
            assert uri.startswith("file://"), uri
            return Path(uri.removeprefix("file://"))
        assert uri.startswith("modelyard-artifacts:/"), uri
        return self.destination / uri.removeprefix("modelyard-artifacts:/")


@pytest.fixture(params=["embedded", "proxied"])
def setup(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    live_server: Any,
) -> Iterator[Setup]:
    """A run on the embedded SQLite store (./mlartifacts) or on a server proxying to a folder."""
    for name in list(os.environ):
        if name.startswith("MODELYARD_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(fluent, "_active_experiment", None)
    backend = f"sqlite:///{tmp_path / 'modelyard.db'}"
    destination = None
    if request.param == "embedded":
        uri = backend
    else:
        destination = tmp_path / "destination"
        uri = live_server(backend, artifacts_destination=str(destination))
    mlflow.set_tracking_uri(uri)
    client = Client(uri)
    run = client.create_run("0")
    try:
        yield Setup(uri, client, run.info.run_id, destination)
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.set_tracking_uri(None)
        for key in [k for k in client_module._backends if str(tmp_path) in k]:
            client_module._backends.pop(key).store.close()


def _listing(client: Client, run_id: str, path: str | None = None) -> list[tuple[Any, ...]]:
    return [(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run_id, path)]


def test_log_artifact_file_and_directory(setup: Setup, tmp_path: Path) -> None:
    """A file goes to <artifact_path>/<name>; a directory to <artifact_path>/<its name>/…."""
    src = tmp_path / "src"
    (src / "model" / "sub").mkdir(parents=True)
    (src / "model" / "weights.bin").write_bytes(b"\x00\x01" * 100)
    (src / "model" / "sub" / "conf.txt").write_text("k=v")
    (src / "readme.md").write_text("# hi")
    c, run_id = setup.client, setup.run_id
    c.log_artifact(run_id, src / "readme.md")
    c.log_artifact(run_id, src / "readme.md", artifact_path="docs/")
    c.log_artifact(run_id, src / "model", artifact_path="outputs")
    c.log_artifact(run_id, str(src / "model"))
    assert _listing(c, run_id) == [
        ("docs", True, None),
        ("model", True, None),
        ("outputs", True, None),
        ("readme.md", False, 4),
    ]
    assert _listing(c, run_id, "outputs/model") == [
        ("outputs/model/sub", True, None),
        ("outputs/model/weights.bin", False, 200),
    ]
    assert _listing(c, run_id, "outputs/model/sub/") == [("outputs/model/sub/conf.txt", False, 3)]
    assert _listing(c, run_id, "docs/readme.md") == []  # MLflow lists nothing for a file
    assert _listing(c, run_id, "missing") == []
    physical = setup.physical()
    assert (physical / "outputs" / "model" / "sub" / "conf.txt").read_text() == "k=v"
    assert (physical / "model" / "weights.bin").read_bytes() == b"\x00\x01" * 100
    with pytest.raises(FileNotFoundError, match=re.escape("nope.txt")):
        c.log_artifact(run_id, src / "nope.txt")


def test_fluent_log_text_and_dict(setup: Setup) -> None:
    """log_text is UTF-8; log_dict writes JSON (indent 2) or YAML by extension; loaders agree."""
    config = {"lr": 0.01, "layers": [64, 32], "name": "näive", "nested": {"b": True}}
    with mlflow.start_run(run_id=setup.run_id):
        mlflow.log_text("héllo ✓\nline 2", "notes/greeting.txt")
        mlflow.log_dict(config, "config/params.json")
        mlflow.log_dict(config, "config/params.yaml")
        mlflow.log_dict(config, "params.yml")
    physical = setup.physical()
    assert (physical / "notes" / "greeting.txt").read_bytes() == "héllo ✓\nline 2".encode()
    assert (physical / "config" / "params.json").read_text() == json.dumps(config, indent=2)
    assert yaml.safe_load((physical / "config" / "params.yaml").read_text()) == config
    runs_uri = f"runs:/{setup.run_id}"
    assert modelyard.artifacts.load_text(f"{runs_uri}/notes/greeting.txt") == "héllo ✓\nline 2"
    assert modelyard.artifacts.load_dict(f"{runs_uri}/config/params.json") == config
    assert modelyard.artifacts.load_dict(f"{runs_uri}/config/params.yaml") == config
    artifact_uri = setup.client.get_run(setup.run_id).info.artifact_uri
    assert modelyard.artifacts.load_dict(f"{artifact_uri}/params.yml") == config
    with pytest.raises(InvalidArgument, match=re.escape("greeting.txt")):
        modelyard.artifacts.load_dict(f"{runs_uri}/notes/greeting.txt")
    assert _listing(setup.client, setup.run_id, "config") == [
        ("config/params.json", False, len(json.dumps(config, indent=2).encode())),
        ("config/params.yaml", False, (physical / "config" / "params.yaml").stat().st_size),
    ]


def test_log_figure_matplotlib(setup: Setup) -> None:
    """A matplotlib figure is saved with savefig (PNG by name, SVG by save_kwargs too)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from PIL import Image

    fig = Figure(figsize=(2, 1), dpi=50)
    fig.add_subplot().plot([0, 1, 2], [2, 0, 1])
    with mlflow.start_run(run_id=setup.run_id):
        mlflow.log_figure(fig, "plots/curve.png")
        mlflow.log_figure(fig, "plots/curve.svg", save_kwargs={"transparent": True})
        with pytest.raises(TypeError, match="matplotlib or plotly"):
            mlflow.log_figure({"not": "a figure"}, "plots/bad.png")
    physical = setup.physical()
    with Image.open(physical / "plots" / "curve.png") as png:
        assert png.size == (100, 50)
    assert b"<svg" in (physical / "plots" / "curve.svg").read_bytes()
    assert [p for p, _, _ in _listing(setup.client, setup.run_id, "plots")] == [
        "plots/curve.png",
        "plots/curve.svg",
    ]


def test_log_image_arrays_and_pil(setup: Setup, tmp_path: Path) -> None:
    """uint8 and float [0, 1] arrays, grayscale, RGBA and PIL images round-trip exactly (PNG)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 256, size=(6, 5, 3), dtype=np.uint8)
    gray = rng.random((4, 3))
    rgba = rng.integers(0, 256, size=(3, 3, 4), dtype=np.uint8)
    pil = Image.fromarray(rgb)
    with mlflow.start_run(run_id=setup.run_id):
        mlflow.log_image(rgb, "images/rgb.png")
        mlflow.log_image(gray, "images/gray.png")
        mlflow.log_image(rgba, artifact_file="images/rgba.png")
        mlflow.log_image(pil, "images/pil.jpg")
        with pytest.raises(InvalidArgument, match=r"\[0, 1\]"):
            mlflow.log_image(gray * 2, "images/too-bright.png")
        with pytest.raises(TypeError, match="exactly one"):
            mlflow.log_image(rgb, "images/x.png", key="x")
        with pytest.raises(TypeError, match="exactly one"):
            mlflow.log_image(rgb)
    dst = Path(setup.client.download_artifacts(setup.run_id, "images", tmp_path / "dl"))
    with Image.open(dst / "rgb.png") as im:
        assert np.array_equal(np.asarray(im), rgb)
    with Image.open(dst / "gray.png") as im:
        assert im.mode == "L"
        assert np.array_equal(np.asarray(im), np.rint(gray * 255).astype(np.uint8))
    with Image.open(dst / "rgba.png") as im:
        assert np.array_equal(np.asarray(im), rgba)
    with Image.open(dst / "pil.jpg") as im:
        assert im.format == "JPEG" and im.size == (5, 6)
    assert sorted(p.name for p in dst.iterdir()) == ["gray.png", "pil.jpg", "rgb.png", "rgba.png"]


def test_log_image_by_key(setup: Setup) -> None:
    """key mode: MLflow's file names, a compressed WebP preview, the mlflow.loggedImages tag."""
    import numpy as np
    from PIL import Image

    image = np.zeros((300, 400, 3), dtype=np.uint8)
    image[:, :200] = 255
    setup.client.log_image(setup.run_id, image, key="train/sample", step=3, timestamp=1234)
    names = [f.path for f in setup.client.list_artifacts(setup.run_id, "images")]
    assert len(names) == 2, names
    stem = r"images/train~sample\+step\+3\+timestamp\+1234\+[0-9a-f-]{36}"
    png = next(n for n in names if n.endswith(".png"))
    webp = next(n for n in names if n.endswith(".webp"))
    assert re.fullmatch(stem + r"\.png", png), png
    assert webp == png.removesuffix(".png") + "+compressed.webp"
    physical = setup.physical()
    with Image.open(physical / png) as full, Image.open(physical / webp) as preview:
        assert full.size == (400, 300)
        assert preview.format == "WEBP" and max(preview.size) == 256
    assert setup.client.get_run(setup.run_id).data.tags["mlflow.loggedImages"] == "True"


@pytest.mark.parametrize("bad", BAD_PATHS)
def test_bad_paths_are_refused_before_anything_is_sent(
    setup: Setup, tmp_path: Path, bad: str
) -> None:
    """Every user-given artifact path goes through clean_path first, naming the value."""
    local = tmp_path / "f.txt"
    local.write_text("x")
    c, run_id = setup.client, setup.run_id
    shown = re.escape(repr(bad)[1:-1])
    with pytest.raises(InvalidArgument, match=shown):
        c.log_artifact(run_id, local, artifact_path=bad)
    with pytest.raises(InvalidArgument, match=shown):
        c.log_artifacts(run_id, tmp_path, artifact_path=bad)
    with pytest.raises(InvalidArgument, match=shown):
        c.log_text(run_id, "x", bad)
    with pytest.raises(InvalidArgument, match=shown):
        c.list_artifacts(run_id, bad)
    with pytest.raises(InvalidArgument, match=shown):
        c.download_artifacts(run_id, bad, tmp_path / "dl")
    assert c.list_artifacts(run_id) == []


def test_a_bad_file_name_in_a_folder_uploads_nothing(setup: Setup, tmp_path: Path) -> None:
    """log_artifacts checks every remote path before the first upload."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "fine.txt").write_text("ok")
    (src / "100%.txt").write_text("bad")
    with pytest.raises(InvalidArgument, match=re.escape("100%.txt")):
        setup.client.log_artifacts(setup.run_id, src)
    assert setup.client.list_artifacts(setup.run_id) == []


def test_download_artifacts_and_the_artifacts_module(setup: Setup, tmp_path: Path) -> None:
    """Client.download_artifacts and modelyard.artifacts with run ids, runs:/ and store URIs."""
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("A")
    (src / "sub" / "b.txt").write_text("BB")
    c, run_id, uri = setup.client, setup.run_id, setup.tracking_uri
    c.log_artifacts(run_id, src, artifact_path="states")
    artifact_uri = c.get_run(run_id).info.artifact_uri

    dst = tmp_path / "chosen" / "folder"  # created when missing
    assert c.download_artifacts(run_id, "states/sub/b.txt", dst) == str(dst / "states/sub/b.txt")
    assert (dst / "states" / "sub" / "b.txt").read_text() == "BB"
    default = Path(c.download_artifacts(run_id, "states"))
    assert default.name == "states" and (default / "a.txt").read_text() == "A"
    with pytest.raises(NotFound, match=re.escape("states/missing.txt")):
        c.download_artifacts(run_id, "states/missing.txt", tmp_path / "x")

    api = modelyard.artifacts
    got = api.download_artifacts(f"runs:/{run_id}/states", dst_path=tmp_path / "r1")
    assert got == str(tmp_path / "r1" / "states")
    assert (tmp_path / "r1" / "states" / "sub" / "b.txt").read_text() == "BB"
    got = api.download_artifacts(
        run_id=run_id, artifact_path="states/a.txt", dst_path=tmp_path / "r2", tracking_uri=uri
    )
    assert Path(got).read_text() == "A"
    got = api.download_artifacts(f"{artifact_uri}/states/sub", dst_path=tmp_path / "r3")
    assert got == str(tmp_path / "r3" / "sub")
    assert (tmp_path / "r3" / "sub" / "b.txt").read_text() == "BB"
    assert [(f.path, f.is_dir) for f in api.list_artifacts(f"{artifact_uri}/states")] == [
        ("a.txt", False),
        ("sub", True),
    ]
    assert [(f.path, f.is_dir) for f in api.list_artifacts(f"runs:/{run_id}/states")] == [
        ("states/a.txt", False),
        ("states/sub", True),
    ]
    assert [f.path for f in api.list_artifacts(run_id=run_id, tracking_uri=uri)] == ["states"]
    with pytest.raises(InvalidArgument, match="not both"):
        api.download_artifacts(f"runs:/{run_id}/states", run_id=run_id)
    with pytest.raises(InvalidArgument, match="artifact_uri or run_id"):
        api.download_artifacts()
    with pytest.raises(NotFound, match="'m'"):  # models:/ resolves through the registry
        api.download_artifacts("models:/m/1")
    with pytest.raises(
        InvalidArgument, match=re.escape(f"'runs:/{run_id}/../x' is not a clean relative path")
    ):
        api.download_artifacts(f"runs:/{run_id}/../x", dst_path=tmp_path / "r4")


def test_fluent_artifacts_start_a_run_and_resume(setup: Setup, tmp_path: Path) -> None:
    """log_artifact with no active run starts one (like log_param); run_id= targets another."""
    f = tmp_path / "f.txt"
    f.write_text("x")
    mlflow.log_artifact(str(f))
    active = mlflow.active_run()
    assert active is not None
    assert mlflow.get_artifact_uri("f.txt") == f"{active.info.artifact_uri}/f.txt"
    mlflow.end_run()
    mlflow.log_artifacts(str(tmp_path), artifact_path="copy", run_id=setup.run_id)
    mlflow.log_text("t", "t.txt", run_id=setup.run_id)
    mlflow.log_dict({"k": 1}, "d.json", run_id=setup.run_id)
    assert [f.path for f in setup.client.list_artifacts(setup.run_id)] == [
        "copy",
        "d.json",
        "t.txt",
    ]
    assert [f.path for f in setup.client.list_artifacts(active.info.run_id)] == ["f.txt"]
    assert modelyard.artifacts.load_text(f"runs:/{setup.run_id}/copy/f.txt") == "x"
