"""Pure logic of the client's artifact side: URI parsing and routing, the parallel runner,
image conversion, dict and figure writers, image key names, the progress-bar rules and the
FileInfo entity. Nothing here talks to a server or a bucket."""

from __future__ import annotations

import io
import json
import re
import threading
from pathlib import Path

import pytest
import yaml

from modelyard.client import artifact_api
from modelyard.client.artifact_repos import (
    ProxiedRepository,
    StoreRepository,
    _run_parallel,
    directory_argument,
    proxied_target,
    repository_for,
)
from modelyard.client.progress import Progress, progress_forced, progress_wanted, transfer_progress
from modelyard.entities import FileInfo
from modelyard.errors import InvalidArgument

GRPC = "grpc://127.0.0.1:5000"

# -- routing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "tracking", "expected"),
    [
        ("modelyard-artifacts:/1/abc/artifacts", GRPC, (GRPC, "1/abc/artifacts")),
        ("modelyard-artifacts:/", GRPC, (GRPC, "")),
        (
            "modelyard-artifacts:/0",
            "grpcs://tracking.example:443",
            ("grpcs://tracking.example:443", "0"),
        ),
        (
            "modelyard-artifacts://files:7000/1/r/artifacts",
            GRPC,
            ("grpc://files:7000", "1/r/artifacts"),
        ),
        ("modelyard-artifacts://files:7000/", "grpcs://t:443", ("grpcs://files:7000", "")),
        ("modelyard-artifacts://files:7000/x", "sqlite:///m.db", ("grpc://files:7000", "x")),
        ("modelyard-artifacts://files/x", GRPC, ("grpc://files:50051", "x")),
    ],
)
def test_proxied_target(uri: str, tracking: str, expected: tuple[str, str]) -> None:
    """Host-less URIs go to the tracking server; explicit hosts get TLS when tracking has it."""
    assert proxied_target(uri, tracking) == expected


@pytest.mark.parametrize(
    ("uri", "tracking", "named"),
    [
        ("modelyard-artifacts:/1/x", "sqlite:///m.db", "modelyard-artifacts:/1/x"),
        ("modelyard-artifacts:/1/../x", GRPC, "1/../x"),
        ("modelyard-artifacts:/1/%2e%2e/x", GRPC, "1/%2e%2e/x"),
        ("modelyard-artifacts:/1//x", GRPC, "1//x"),
        ("modelyard-artifacts:/1/x?path=../../etc", GRPC, "modelyard-artifacts:/1/x?path"),
        ("modelyard-artifacts:/1/x#frag", GRPC, "modelyard-artifacts:/1/x#frag"),
        ("modelyard-artifacts://user@files:7000/x", GRPC, "user@files"),
        ("modelyard-artifacts://files:notaport/x", GRPC, "files:notaport"),
        ("s3://bucket/x", GRPC, "s3://bucket/x"),
    ],
)
def test_proxied_target_refuses(uri: str, tracking: str, named: str) -> None:
    """Malformed proxied URIs are InvalidArgument naming the offending value."""
    with pytest.raises(InvalidArgument, match=re.escape(named)):
        proxied_target(uri, tracking)


def test_repository_for_routes_by_scheme(tmp_path: Path) -> None:
    """Stores for file:, paths, s3: and wasbs:; the ArtifactService for modelyard-artifacts:."""
    assert isinstance(repository_for(tmp_path.as_uri(), tracking_uri=GRPC), StoreRepository)
    assert isinstance(repository_for(str(tmp_path), tracking_uri=GRPC), StoreRepository)
    s3 = repository_for("s3://bucket/exp/run/artifacts", tracking_uri=GRPC)
    assert isinstance(s3, StoreRepository)
    assert s3.artifact_uri == "s3://bucket/exp/run/artifacts"
    proxied = repository_for("modelyard-artifacts:/1/r/artifacts", tracking_uri=GRPC)
    assert isinstance(proxied, ProxiedRepository)
    assert (proxied.target, proxied.prefix) == (GRPC, "1/r/artifacts")
    with pytest.raises(InvalidArgument, match=re.escape("runs:/abc/model")):
        repository_for("runs:/abc/model", tracking_uri=GRPC)
    with pytest.raises(InvalidArgument, match="''"):
        repository_for("", tracking_uri=GRPC)


def test_proxied_paths_map_both_ways() -> None:
    """Repo paths get the URI's prefix on the wire; answers outside the prefix are refused."""
    repo = ProxiedRepository("modelyard-artifacts:/1/r/artifacts", tracking_uri=GRPC)
    assert repo._wire("a/b.txt") == "1/r/artifacts/a/b.txt"
    assert repo._wire("") == "1/r/artifacts"
    assert repo._relative("1/r/artifacts/a/b.txt") == "a/b.txt"
    with pytest.raises(Exception, match=re.escape("1/other/artifacts/a")):
        repo._relative("1/other/artifacts/a")
    with pytest.raises(InvalidArgument, match=re.escape("1/r/artifacts/../../x")):
        repo._relative("1/r/artifacts/../../x")


@pytest.mark.parametrize(
    ("given", "expected"),
    [(None, ""), ("", ""), ("states", "states"), ("states/", "states"), ("a/b/", "a/b")],
)
def testdirectory_arguments(given: str | None, expected: str) -> None:
    """None is the root; one trailing slash on a directory is dropped."""
    assert directory_argument(given) == expected


@pytest.mark.parametrize("bad", ["/", "a//", "../x/", "a//b/", 3])
def testdirectory_arguments_refused(bad: object) -> None:
    """Anything else goes through clean_path unchanged and is refused there."""
    with pytest.raises(InvalidArgument):
        directory_argument(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("runs:/abc123/model/model.pkl", ("abc123", "model/model.pkl")),
        ("runs:/abc123", ("abc123", "")),
        ("runs:/abc123/states/", ("abc123", "states")),
        ("s3://bucket/x", None),
    ],
)
def test_runs_uris(uri: str, expected: tuple[str, str] | None) -> None:
    """runs:/<run_id>/<path> splits into the run and the run-relative path."""
    assert artifact_api._parse_runs_uri(uri) == expected


@pytest.mark.parametrize("uri", ["runs://host/abc/x", "runs:/", "runs:/abc/x?y=1"])
def test_bad_runs_uris(uri: str) -> None:
    """A runs URI with a host, no run id or a query is refused, naming it."""
    with pytest.raises(InvalidArgument, match=re.escape(uri)):
        artifact_api._parse_runs_uri(uri)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket/a/b.txt", ("s3://bucket/a", "b.txt")),
        ("s3://bucket/b.txt", ("s3://bucket/", "b.txt")),
        ("s3://bucket", ("s3://bucket", "")),
        ("file:///tmp/x/y", ("file:///tmp/x", "y")),
        ("/tmp/x/y/", ("/tmp/x", "y")),
        ("model.pkl", (".", "model.pkl")),
        (
            "modelyard-artifacts:/1/r/artifacts/a.txt",
            ("modelyard-artifacts:/1/r/artifacts", "a.txt"),
        ),
        ("modelyard-artifacts://h:1/1/a", ("modelyard-artifacts://h:1/1", "a")),
        ("modelyard-artifacts:/", ("modelyard-artifacts:/", "")),
        (
            "wasbs://c@acct.blob.core.windows.net/p/f",
            ("wasbs://c@acct.blob.core.windows.net/p", "f"),
        ),
    ],
)
def test_split_store_uris(uri: str, expected: tuple[str, str]) -> None:
    """download_artifacts(artifact_uri=...) opens the parent and fetches the last segment."""
    assert artifact_api._split_uri(uri) == expected


# -- the parallel runner ----------------------------------------------------------------------


def test_run_parallel_runs_jobs_at_the_same_time() -> None:
    """Two jobs that each wait for the other can only finish when they run concurrently."""
    barrier = threading.Barrier(2, timeout=30)
    done: list[int] = []
    _run_parallel([lambda i=i: (barrier.wait(), done.append(i)) for i in range(2)])
    assert sorted(done) == [0, 1]


def test_run_parallel_raises_the_failure_itself() -> None:
    """A failing transfer surfaces as its own exception; queued ones are not started."""
    finished: list[int] = []

    def job(i: int) -> None:
        if i == 3:
            raise ValueError("job 3 broke")
        finished.append(i)

    with pytest.raises(ValueError, match="job 3 broke"):
        _run_parallel([lambda i=i: job(i) for i in range(20)])
    assert 3 not in finished


def test_run_parallel_inline_for_one_job() -> None:
    """A single transfer runs on the caller's thread (no pool)."""
    seen: list[str] = []
    _run_parallel([lambda: seen.append(threading.current_thread().name)])
    assert seen == [threading.current_thread().name]


# -- file makers ------------------------------------------------------------------------------


def test_write_dict_json_and_yaml(tmp_path: Path) -> None:
    """.yml/.yaml -> YAML (safe_dump); anything else JSON with indent 2 and str() fallback."""
    data = {"b": 1, "a": [1, 2], "path": Path("x")}
    artifact_api.write_dict(tmp_path / "d.json", data, "dir/d.json")
    assert (tmp_path / "d.json").read_text() == json.dumps(data, indent=2, default=str)
    plain = {"b": 1, "a": [1, 2], "c": {"d": None}}
    for name in ("d.yaml", "d.YML"):
        artifact_api.write_dict(tmp_path / name, plain, name)
        assert yaml.safe_load((tmp_path / name).read_text()) == plain
    with pytest.raises(yaml.YAMLError):
        artifact_api.write_dict(tmp_path / "bad.yaml", {"p": object()}, "bad.yaml")


def test_write_text_needs_str(tmp_path: Path) -> None:
    """log_text takes text, not bytes."""
    with pytest.raises(TypeError, match="bytes"):
        artifact_api.write_text(tmp_path / "t.txt", b"raw")  # type: ignore[arg-type]


def test_write_figure_refuses_other_objects(tmp_path: Path) -> None:
    """Anything but a matplotlib or plotly figure is a TypeError naming its type."""
    with pytest.raises(TypeError, match="dict"):
        artifact_api.write_figure(tmp_path / "f.png", {"data": []})
    assert not (tmp_path / "f.png").exists()


def test_to_pil_image_conversions() -> None:
    """uint8 as is; float [0, 1] scaled; (H, W, 1) squeezed; bool 0/255; modes by channels."""
    np = pytest.importorskip("numpy")
    from PIL import Image

    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    assert artifact_api.to_pil_image(rgb).mode == "RGB"
    assert np.array_equal(np.asarray(artifact_api.to_pil_image(rgb)), rgb)
    floats = np.array([[0.0, 0.5], [1.0, 0.25]])
    gray = np.asarray(artifact_api.to_pil_image(floats))
    assert gray.tolist() == [[0, 128], [255, 64]]
    assert artifact_api.to_pil_image(floats[:, :, None]).mode == "L"
    assert artifact_api.to_pil_image(np.zeros((2, 2, 4), dtype=np.int64)).mode == "RGBA"
    assert np.asarray(artifact_api.to_pil_image(np.array([[True, False]]))).tolist() == [[255, 0]]
    pil = Image.new("RGB", (4, 4))
    assert artifact_api.to_pil_image(pil) is pil


@pytest.mark.parametrize(
    ("make", "error", "pattern"),
    [
        (lambda np: np.full((2, 2), 1.5), InvalidArgument, r"\[0, 1\]"),
        (lambda np: np.full((2, 2), np.nan), InvalidArgument, r"\[0, 1\]"),
        (lambda np: np.full((2, 2), 256), InvalidArgument, "0-255"),
        (lambda np: np.full((2, 2), -1, dtype=np.int16), InvalidArgument, "0-255"),
        (lambda np: np.zeros((2, 2, 2)), InvalidArgument, r"\(2, 2, 2\)"),
        (lambda np: np.zeros((2,)), InvalidArgument, r"\(2,\)"),
        (lambda np: np.zeros((2, 2), dtype=complex), TypeError, "complex"),
        (lambda np: [[0, 1], [1, 0]], TypeError, "list"),
    ],
)
def test_to_pil_image_refuses(make: object, error: type[Exception], pattern: str) -> None:
    """Out-of-range values, odd shapes and non-image types are refused with the reason."""
    np = pytest.importorskip("numpy")
    with pytest.raises(error, match=pattern):
        artifact_api.to_pil_image(make(np))  # type: ignore[operator]


def test_write_image_by_extension(tmp_path: Path) -> None:
    """The file name picks the format; JPEG drops alpha; an unknown extension is refused."""
    np = pytest.importorskip("numpy")
    from PIL import Image

    rgba = np.zeros((3, 3, 4), dtype=np.uint8)
    artifact_api.write_image(tmp_path / "a.jpg", rgba)
    with Image.open(tmp_path / "a.jpg") as im:
        assert (im.format, im.mode) == ("JPEG", "RGB")
    with pytest.raises(InvalidArgument, match=re.escape("a.unknownext")):
        artifact_api.write_image(tmp_path / "a.unknownext", rgba)


def test_image_key_files() -> None:
    """MLflow's names for log_image(key=...): '/' in keys becomes '~', step and timestamp."""
    image, preview = artifact_api.image_key_files("val/sample", 7, 1700000000000)
    assert re.fullmatch(
        r"images/val~sample\+step\+7\+timestamp\+1700000000000\+[0-9a-f-]{36}\.png", image
    )
    assert preview == image.removesuffix(".png") + "+compressed.webp"
    assert artifact_api.image_key_files("k", 0, 0)[0] != artifact_api.image_key_files("k", 0, 0)[0]
    with pytest.raises(InvalidArgument, match="''"):
        artifact_api.image_key_files("", 0, 0)
    with pytest.raises(InvalidArgument, match=re.escape("%")):
        artifact_api.image_key_files("50%", 0, 0)


# -- progress ---------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


BIG = 64 * 1024 * 1024


@pytest.mark.parametrize(
    ("env", "total", "stream", "wanted"),
    [
        ({}, BIG, _Terminal(), True),
        ({}, 1024, _Terminal(), False),  # below the threshold
        ({}, BIG, io.StringIO(), False),  # not a terminal
        ({"PYTEST_CURRENT_TEST": "t"}, BIG, _Terminal(), False),  # in a test
        ({"MODELYARD_PROGRESS": "1", "PYTEST_CURRENT_TEST": "t"}, BIG, io.StringIO(), True),
        ({"MODELYARD_PROGRESS": "1"}, 1024, _Terminal(), False),  # the threshold still applies
        ({"MODELYARD_PROGRESS": "0"}, BIG, _Terminal(), False),
        ({"MODELYARD_PROGRESS": "false"}, BIG, _Terminal(), False),
    ],
)
def test_progress_rules(env: dict[str, str], total: int, stream: io.StringIO, wanted: bool) -> None:
    """A bar only for large transfers on a terminal outside tests, unless forced."""
    assert progress_wanted(total, environ=env, stream=stream) is wanted


def test_progress_forced_values() -> None:
    """MODELYARD_PROGRESS is a tri-state; anything unrecognised means automatic."""
    assert progress_forced({"MODELYARD_PROGRESS": "YES"}) is True
    assert progress_forced({"MODELYARD_PROGRESS": "off"}) is False
    assert progress_forced({"MODELYARD_PROGRESS": "maybe"}) is None
    assert progress_forced({}) is None


def test_transfer_progress_bar_is_thread_safe() -> None:
    """The tqdm bar counts updates from several threads; the silent one is a plain Progress."""
    stream = io.StringIO()
    env = {"MODELYARD_PROGRESS": "1"}
    with transfer_progress(4000, "upload x", threshold=0, environ=env, stream=stream) as bar:
        assert type(bar) is not Progress
        workers = [
            threading.Thread(target=lambda: [bar.update(1) for _ in range(1000)]) for _ in range(4)
        ]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        assert bar._bar.n == 4000  # type: ignore[attr-defined]
    assert "upload x" in stream.getvalue()
    silent = transfer_progress(BIG, "x", environ={"MODELYARD_PROGRESS": "0"})
    assert type(silent) is Progress
    silent.update(5)
    silent.close()


# -- the entity -------------------------------------------------------------------------------


def test_file_info_is_mlflow_shaped() -> None:
    """FileInfo(path, is_dir, file_size): positional, frozen, file_size None for directories."""
    info = FileInfo("d/data.json", False, 12)
    assert (info.path, info.is_dir, info.file_size) == ("d/data.json", False, 12)
    assert FileInfo("d", True) == FileInfo("d", True, None)
    with pytest.raises(AttributeError):
        info.path = "x"  # type: ignore[misc]
