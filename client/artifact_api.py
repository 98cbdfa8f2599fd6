"""Artifact helpers above the repositories: file makers for log_text/log_dict/log_figure/
log_image, and the user API re-exported by `modelyard.artifacts` (download_artifacts,
list_artifacts, load_text, load_dict) for `runs:/` URIs, run ids and any store URI.
"""

from __future__ import annotations

import contextlib
import json
import numbers
import os
import posixpath
import sys
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from modelyard.artifacts.paths import clean_path
from modelyard.client.artifact_repos import repository_for
from modelyard.client.client import Client
from modelyard.client.tracking_uri import get_tracking_uri
from modelyard.entities import FileInfo
from modelyard.errors import InvalidArgument
from modelyard.models.uris import is_models_uri, is_runs_uri, parse_runs_uri

__all__ = [
    "download_artifacts",
    "download_destination",
    "image_integer",
    "image_key_files",
    "list_artifacts",
    "load_dict",
    "load_text",
    "staged_file",
    "to_pil_image",
    "write_dict",
    "write_figure",
    "write_image",
    "write_image_preview",
    "write_text",
]

YAML_SUFFIXES = (".yml", ".yaml")
#: Files a plotly figure can be written to (html with write_html, the rest with write_image).
PLOTLY_IMAGE_SUFFIXES = (".png", ".jpeg", ".jpg", ".webp", ".svg", ".pdf")
#: Longest side of the compressed preview that log_image(key=...) writes beside each image.
IMAGE_PREVIEW_SIZE = 256
#: The run tag MLflow sets when images are logged by key.
LOGGED_IMAGES_TAG = "mlflow.loggedImages"


# -- file makers ------------------------------------------------------------------------------


@contextlib.contextmanager
def staged_file(artifact_file: str) -> Iterator[Path]:
    """A path in a fresh temporary directory, named like artifact_file's last segment."""
    with tempfile.TemporaryDirectory(prefix="modelyard-") as tmp:
        yield Path(tmp, posixpath.basename(artifact_file))


def write_text(local: Path, text: str) -> None:
    """Write text as UTF-8."""
    if not isinstance(text, str):
        raise TypeError(f"log_text needs a str, got {type(text).__name__}")
    with local.open("w", encoding="utf-8") as out:
        out.write(text)


def write_stream(local: Path, stream: Any) -> None:
    """Copy a binary file-like object to local, 1 MiB at a time."""
    read = getattr(stream, "read", None)
    if read is None:
        raise TypeError(f"log_stream needs a binary file-like object, got {type(stream).__name__}")
    with local.open("wb") as out:
        while chunk := read(1 << 20):
            if not isinstance(chunk, (bytes, bytearray, memoryview)):
                raise TypeError(f"log_stream needs a binary stream, read {type(chunk).__name__}")
            out.write(chunk)


def write_dict(local: Path, dictionary: Mapping[str, Any], artifact_file: str) -> None:
    """YAML (safe_dump) for .yml/.yaml files, else JSON with indent 2 (str() for the rest)."""
    with local.open("w", encoding="utf-8") as out:
        if artifact_file.lower().endswith(YAML_SUFFIXES):
            yaml.safe_dump(dictionary, out, default_flow_style=False)
        else:
            json.dump(dictionary, out, indent=2, default=str)


def _is_matplotlib_figure(figure: object) -> bool:
    module = sys.modules.get("matplotlib.figure")  # not imported: cannot be a figure
    return module is not None and isinstance(figure, module.Figure)


def _is_plotly_figure(figure: object) -> bool:
    module = sys.modules.get("plotly.basedatatypes")
    return module is not None and isinstance(figure, module.BaseFigure)


def write_figure(local: Path, figure: Any, save_kwargs: Mapping[str, Any] | None = None) -> None:
    """Save a matplotlib figure (savefig) or a plotly figure (.html, or an image format).

    Raises:
        TypeError: neither a matplotlib nor a plotly figure.
        InvalidArgument: a file type the figure's library cannot write.
    """
    kwargs = dict(save_kwargs or {})
    suffix = local.suffix.lower()
    if _is_matplotlib_figure(figure):
        figure.savefig(local, **kwargs)
    elif _is_plotly_figure(figure):
        if suffix == ".html":
            figure.write_html(local, **{"include_plotlyjs": "cdn", "auto_open": False, **kwargs})
        elif suffix in PLOTLY_IMAGE_SUFFIXES:
            figure.write_image(local, **kwargs)
        else:
            raise InvalidArgument(
                f"cannot save a plotly figure as {local.name!r}: use .html or one of "
                f"{', '.join(PLOTLY_IMAGE_SUFFIXES)}",
                artifact_file=local.name,
            )
    else:
        raise TypeError(
            f"log_figure needs a matplotlib or plotly figure, got {type(figure).__name__}"
        )


def to_pil_image(image: Any) -> Any:
    """A PIL image from a PIL image or a numpy array (HxW, HxWx1, HxWx3, HxWx4).

    Arrays of floats must lie in [0, 1] and are scaled to 0-255; integer arrays must lie in
    0-255; booleans become 0 or 255.

    Raises:
        TypeError: not a PIL image or numpy array, or an unsupported dtype.
        InvalidArgument: an unsupported shape, or values out of range.
    """
    try:
        from PIL import Image
    except ImportError as exc:  # an optional dependency: modelyard[images]
        raise ImportError(f"log_image needs Pillow (pip install modelyard[images]): {exc}") from exc
    if isinstance(image, Image.Image):
        return image
    np = sys.modules.get("numpy")
    if np is None or not isinstance(image, np.ndarray):
        raise TypeError(f"log_image needs a numpy array or a PIL image, got {type(image).__name__}")
    array = image
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise InvalidArgument(
            f"an image array must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), "
            f"got {image.shape}",
            shape=image.shape,
        )
    kind = array.dtype.kind
    if kind == "b":
        array = array.astype(np.uint8) * 255
    elif kind == "f":
        if array.size and not (
            np.all(np.isfinite(array)) and array.min() >= 0 and array.max() <= 1
        ):
            raise InvalidArgument(
                "a float image array must hold values in [0, 1], got "
                f"[{array.min()}, {array.max()}]",
                dtype=str(array.dtype),
            )
        array = np.rint(array * 255).astype(np.uint8)
    elif kind in "iu":
        if array.size and (array.min() < 0 or array.max() > 255):
            raise InvalidArgument(
                f"an integer image array must hold values in 0-255, got "
                f"[{array.min()}, {array.max()}]",
                dtype=str(array.dtype),
            )
        array = array.astype(np.uint8)
    else:
        raise TypeError(f"unsupported image array dtype {array.dtype}")
    return Image.fromarray(np.ascontiguousarray(array))


def write_image(local: Path, image: Any) -> None:
    """Save an image in the format its file name says (.png, .jpg, .webp, …).

    Raises:
        InvalidArgument: a file name Pillow cannot pick a format for.
    """
    pil = to_pil_image(image)
    if local.suffix.lower() in (".jpg", ".jpeg") and pil.mode not in ("RGB", "L"):
        pil = pil.convert("RGB")  # JPEG has no alpha channel or palette
    try:
        pil.save(local)
    except ValueError as exc:
        raise InvalidArgument(
            f"cannot save an image as {local.name!r}: {exc}", artifact_file=local.name
        ) from exc


def write_image_preview(local: Path, image: Any) -> None:
    """Save a small WebP preview (longest side IMAGE_PREVIEW_SIZE) of an image."""
    preview = to_pil_image(image).copy()
    preview.thumbnail((IMAGE_PREVIEW_SIZE, IMAGE_PREVIEW_SIZE))
    preview.save(local, format="WEBP")


def image_integer(what: str, value: object) -> int:
    """A step or timestamp of log_image(key=...) as an int (InvalidArgument otherwise)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    raise InvalidArgument(f"log_image {what} must be an integer, got {value!r}", **{what: value})


def image_key_files(key: str, step: int, timestamp: int) -> tuple[str, str]:
    """(image, preview) artifact paths of log_image(key=...), in MLflow's naming."""
    if not isinstance(key, str) or not key:
        raise InvalidArgument(f"an image key must be a non-empty string, got {key!r}", key=key)
    stem = f"images/{key.replace('/', '~')}+step+{step}+timestamp+{timestamp}+{uuid.uuid4()}"
    return clean_path(f"{stem}.png"), clean_path(f"{stem}+compressed.webp")


# -- the user API (modelyard.artifacts) ----------------------------------------------------


def _parse_runs_uri(uri: str) -> tuple[str, str] | None:
    """(run_id, path) of a runs:/<run_id>[/<path>] URI, None for any other scheme."""
    if not is_runs_uri(uri):
        return None
    parsed = parse_runs_uri(uri)
    return parsed.run_id, parsed.path


def _split_uri(uri: str) -> tuple[str, str]:
    """(parent URI, last segment) of a store URI; ("<root>", "") when it names a root."""
    parts = urlsplit(uri)
    if len(parts.scheme) <= 1:  # a plain path ("C:" is a drive letter, not a scheme)
        parts = parts._replace(scheme="", netloc="", path=uri, query="", fragment="")
    trimmed = parts.path.rstrip("/")
    if not trimmed:
        return uri, ""
    parent, _, name = trimmed.rpartition("/")
    if not parent:
        parent = "/" if trimmed.startswith("/") else "."
    return urlunsplit(parts._replace(path=parent)), name


def _check_one_source(
    artifact_uri: str | None, run_id: str | None, artifact_path: str | None
) -> None:
    if artifact_uri is not None and (run_id is not None or artifact_path is not None):
        raise InvalidArgument(
            "give artifact_uri, or run_id (with an optional artifact_path), not both",
            artifact_uri=artifact_uri,
            run_id=run_id,
        )
    if artifact_uri is None and run_id is None:
        raise InvalidArgument("give artifact_uri or run_id")


def _registry_source(uri: str, tracking: str) -> str:
    """The artifact URI a models:/ URI stands for (through the registry); other URIs as given."""
    if not is_models_uri(uri):
        return uri
    from modelyard.client.models_io import resolve_models_uri  # models_io imports this module

    client = Client(tracking)
    name, version = resolve_models_uri(uri, client)
    return client.get_model_version_download_uri(name, version)


def download_artifacts(
    artifact_uri: str | None = None,
    *,
    run_id: str | None = None,
    artifact_path: str | None = None,
    dst_path: str | os.PathLike[str] | None = None,
    tracking_uri: str | None = None,
) -> str:
    """Download an artifact file or directory and return its local path.

    Give `artifact_uri` (runs:/<run_id>/<path>, models:/<name>/<version|stage|latest> or
    models:/<name>@<alias> for a version's files, modelyard-artifacts:/…, s3://…, wasbs://…,
    file:/… or a path), or `run_id` with an optional `artifact_path`. `dst_path` is created if
    missing; by default a new temporary directory is used.

    Raises:
        InvalidArgument: both or neither sources given, or a malformed URI or path.
        NotFound: nothing at that location.
    """
    _check_one_source(artifact_uri, run_id, artifact_path)
    tracking = tracking_uri or get_tracking_uri()
    dst = download_destination(dst_path)
    if run_id is not None:
        return Client(tracking).download_artifacts(run_id, artifact_path or "", dst)
    assert artifact_uri is not None
    runs = _parse_runs_uri(artifact_uri)
    if runs is not None:
        return Client(tracking).download_artifacts(runs[0], runs[1], dst)
    source = _registry_source(artifact_uri, tracking)
    if source != artifact_uri:  # a model version: its whole directory
        return download_artifacts(source, dst_path=dst, tracking_uri=tracking)
    parent, name = _split_uri(artifact_uri)
    return repository_for(parent, tracking_uri=tracking).download(name, dst)


def list_artifacts(
    artifact_uri: str | None = None,
    *,
    run_id: str | None = None,
    artifact_path: str | None = None,
    tracking_uri: str | None = None,
) -> list[FileInfo]:
    """List one level of artifacts: of a run (paths relative to its root) or below a URI.

    Raises:
        InvalidArgument: both or neither sources given, or a malformed URI or path.
    """
    _check_one_source(artifact_uri, run_id, artifact_path)
    tracking = tracking_uri or get_tracking_uri()
    if run_id is not None:
        return Client(tracking).list_artifacts(run_id, artifact_path)
    assert artifact_uri is not None
    runs = _parse_runs_uri(artifact_uri)
    if runs is not None:
        return Client(tracking).list_artifacts(runs[0], runs[1] or None)
    source = _registry_source(artifact_uri, tracking)
    if source != artifact_uri:
        return list_artifacts(source, tracking_uri=tracking)
    return repository_for(artifact_uri, tracking_uri=tracking).list("")


def load_text(artifact_uri: str) -> str:
    """The content of a text artifact (UTF-8)."""
    with tempfile.TemporaryDirectory(prefix="modelyard-") as tmp:
        local = download_artifacts(artifact_uri, dst_path=tmp)
        return Path(local).read_text(encoding="utf-8")


def load_dict(artifact_uri: str) -> dict[str, Any]:
    """A dictionary artifact: YAML for .yml/.yaml files, else JSON.

    Raises:
        InvalidArgument: the content does not parse as a dictionary.
    """
    text = load_text(artifact_uri)
    try:
        if artifact_uri.lower().rstrip("/").endswith(YAML_SUFFIXES):
            value = yaml.safe_load(text)
        else:
            value = json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise InvalidArgument(
            f"the artifact {artifact_uri!r} does not hold a dictionary: {exc}", uri=artifact_uri
        ) from exc
    if not isinstance(value, dict):
        raise InvalidArgument(
            f"the artifact {artifact_uri!r} holds a {type(value).__name__}, not a dictionary",
            uri=artifact_uri,
        )
    return value


def download_destination(dst_path: str | os.PathLike[str] | None) -> str:
    """dst_path made absolute and created, or a new temporary directory."""
    if dst_path is None:
        return tempfile.mkdtemp(prefix="modelyard-artifacts-")
    path = Path(dst_path).absolute()
    path.mkdir(parents=True, exist_ok=True)
    return str(path)
