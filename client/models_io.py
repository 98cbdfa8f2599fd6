"""The flow every flavor shares: save a model directory, log it to a run, resolve and download it.

Saving writes `MLmodel` (run id, artifact path, creation time, model uuid, modelyard version,
signature — inferred from the input example when not given —, the input example) and
`requirements.txt` with the flavor's libraries pinned. Logging saves to a temporary directory
and uploads it to `runs:/<run_id>/<path>` of the active run (started if there is none), records
the run tag `mlflow.log-model.history` and registers the model when asked.

Loading resolves `runs:/`, every `models:/` form (through the registry), store URIs and local
paths; a `models:/` download is verified file by file against the manifest the server recorded
at registration (`ModelIntegrityError` names the first file that differs).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from modelyard.config import client_config
from modelyard.errors import (
    InvalidArgument,
    ModelIntegrityError,
    ModelVersionNotFound,
    PermissionDenied,
)
from modelyard.models.input_example import save_input_example
from modelyard.models.mlmodel import REQUIREMENTS_FILE_NAME, Model, ModelInfo
from modelyard.models.signature import ModelSignature, infer_signature
from modelyard.models.uris import is_models_uri, is_runs_uri, parse_models_uri

__all__ = [
    "LOG_MODEL_HISTORY_TAG",
    "allow_pickle_enabled",
    "download_model",
    "finish_save",
    "log_model",
    "model_path_argument",
    "prepare_model_dir",
    "resolve_models_uri",
    "verify_model_files",
]

LOG_MODEL_HISTORY_TAG = "mlflow.log-model.history"
ALLOW_PICKLE_ENV = "MODELYARD_ALLOW_PICKLE"
_MAX_TAG_VALUE = 8000
_HASH_CHUNK = 1024 * 1024
CODE_DIR = "code"


def allow_pickle_enabled(allow_pickle: bool) -> bool:
    """True when loading code-running formats was allowed by argument or MODELYARD_ALLOW_PICKLE."""
    return bool(allow_pickle) or client_config().allow_pickle


def refuse_pickle(what: str, model_dir: str | os.PathLike[str]) -> PermissionDenied:
    """The error for a pickle-style model loaded without opting in."""
    return PermissionDenied(
        f"the model at {os.fspath(model_dir)!r} is stored as {what}: loading it runs code from "
        "the model's files, so it is refused unless you opt in with allow_pickle=True or "
        f"{ALLOW_PICKLE_ENV}=true (only for models you trust)",
        path=os.fspath(model_dir),
        format=what,
    )


# -- saving -------------------------------------------------------------------------------------


def prepare_model_dir(path: str | os.PathLike[str]) -> Path:
    """Create the directory a model is saved to; it must not exist or be empty.

    Raises:
        InvalidArgument: the path exists and is a file or a non-empty directory.
    """
    target = Path(path)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidArgument(
            f"Path {os.fspath(path)!r} already exists and is not empty", path=os.fspath(path)
        )
    target.mkdir(parents=True, exist_ok=True)
    return target


def _pinned(dist: str) -> str | None:
    try:
        return f"{dist}=={importlib.metadata.version(dist)}"
    except importlib.metadata.PackageNotFoundError:
        return None


def _requirements(libraries: Iterable[str], pip_requirements: Any) -> list[str]:
    if pip_requirements is None:
        lines = [_pinned("modelyard") or "modelyard"]
        lines.extend(p for p in (_pinned(lib) for lib in libraries) if p)
        return lines
    if isinstance(pip_requirements, str | os.PathLike):
        text = Path(pip_requirements).read_text(encoding="utf-8")
        return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if not isinstance(pip_requirements, Sequence) or not all(
        isinstance(r, str) for r in pip_requirements
    ):
        raise InvalidArgument(
            "pip_requirements is a list of requirement strings or a requirements file path",
            pip_requirements=repr(pip_requirements),
        )
    return list(pip_requirements)


def finish_save(
    path: Path,
    model: Model,
    *,
    signature: ModelSignature | None,
    input_example: Any,
    predict: Callable[[Any], Any] | None,
    libraries: Iterable[str],
    pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
) -> Model:
    """Write the input example, signature, requirements and MLmodel of a saved model."""
    if signature is not None and not isinstance(signature, ModelSignature):
        raise InvalidArgument(
            f"signature must be a ModelSignature, got {type(signature).__name__}",
            signature=repr(signature),
        )
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidArgument("metadata must be a dict", metadata=repr(metadata))
    if input_example is not None:
        model.saved_input_example_info = save_input_example(path, input_example)
        if signature is None:
            output = None
            if predict is not None:
                try:
                    output = predict(input_example)
                except Exception as exc:  # the example is only a hint: warn, keep going
                    import warnings

                    warnings.warn(
                        f"could not predict on the input example to infer the output schema: {exc}",
                        UserWarning,
                        stacklevel=3,
                    )
            signature = infer_signature(input_example, output)
    model.signature = signature
    model.metadata = metadata
    lines = _requirements(libraries, pip_requirements)
    (path / REQUIREMENTS_FILE_NAME).write_text("\n".join(lines) + "\n", encoding="utf-8")
    model.requirements_file = REQUIREMENTS_FILE_NAME
    model.save(path)
    return model


def copy_code_paths(path: Path, code_paths: Iterable[str] | None) -> str | None:
    """Copy each of code_paths into <path>/code; the directory for the MLmodel, or None."""
    if not code_paths:
        return None
    (path / CODE_DIR).mkdir()
    for code in code_paths:
        copy_into(Path(code), path / CODE_DIR / Path(code).name)
    return CODE_DIR


def python_version() -> str:
    """The running Python's version (recorded in flavor configurations)."""
    return ".".join(str(p) for p in sys.version_info[:3])


# -- logging ------------------------------------------------------------------------------------


def model_path_argument(artifact_path: str | None, name: str | None) -> str:
    """The run-relative path a model is logged to, from artifact_path= and/or name=.

    Raises:
        InvalidArgument: both given and different, or not a clean relative path.
    """
    from modelyard.client.artifact_repos import directory_argument

    if artifact_path is not None and name is not None and artifact_path != name:
        raise InvalidArgument(
            f"give artifact_path or name, not both with different values "
            f"({artifact_path!r} != {name!r})",
            artifact_path=artifact_path,
            name=name,
        )
    path = artifact_path if artifact_path is not None else name
    if path is None:
        path = "model"
    clean = directory_argument(path)
    if not clean:
        raise InvalidArgument(f"a model needs a non-empty artifact path, got {path!r}", path=path)
    return clean


def _record_history(client: Any, run_id: str, model: Model) -> None:
    run = client.get_run(run_id)
    raw = run.data.tags.get(LOG_MODEL_HISTORY_TAG)
    try:
        history = json.loads(raw) if raw else []
        if not isinstance(history, list):
            history = []
    except ValueError:
        history = []
    entry = model.to_dict()
    entry.pop("signature", None)
    entry.pop("metadata", None)
    history.append(entry)
    text = json.dumps(history)
    while len(text) > _MAX_TAG_VALUE and len(history) > 1:
        history.pop(0)  # keep the newest entries within the tag limit
        text = json.dumps(history)
    client.set_tag(run_id, LOG_MODEL_HISTORY_TAG, text, synchronous=True)


def log_model(
    save: Callable[..., Model],
    model_object: Any,
    artifact_path: str | None = None,
    *,
    name: str | None = None,
    registered_model_name: str | None = None,
    await_registration_for: int = 300,
    **save_kwargs: Any,
) -> ModelInfo:
    """Save with `save(model_object, local_dir, mlflow_model=Model(...), **save_kwargs)`, log it.

    Raises:
        InvalidArgument: a bad path or save argument (nothing is uploaded then).
    """
    from modelyard.client import fluent

    path = model_path_argument(artifact_path, name)
    if registered_model_name is not None and (
        not isinstance(registered_model_name, str) or not registered_model_name
    ):
        raise InvalidArgument(
            f"registered_model_name must be a non-empty string, got {registered_model_name!r}",
            registered_model_name=repr(registered_model_name),
        )
    run = fluent._get_or_start_run()
    client = run._client  # type: ignore[attr-defined]
    run_id = run.info.run_id
    with tempfile.TemporaryDirectory(prefix="modelyard-model-") as tmp:
        local = Path(tmp) / "model"
        descriptor = Model(artifact_path=path, run_id=run_id)
        saved = save(model_object, local, mlflow_model=descriptor, **save_kwargs)
        client.log_artifacts(run_id, local, path)
    _record_history(client, run_id, saved)
    model_uri = f"runs:/{run_id}/{path}"
    version: int | None = None
    if registered_model_name is not None:
        from modelyard.client.registration import register_model

        mv = register_model(
            model_uri, registered_model_name, await_registration_for=await_registration_for
        )
        version = int(mv.version)
    return ModelInfo.from_model(saved, model_uri, version)


# -- loading ------------------------------------------------------------------------------------


def resolve_models_uri(uri: str, client: Any) -> tuple[str, int]:
    """(name, version) a models:/ URI points at, through the registry.

    Raises:
        InvalidArgument: a malformed URI.
        RegisteredModelNotFound, ModelVersionNotFound, AliasNotFound: nothing there.
    """
    parsed = parse_models_uri(uri)
    if parsed.version is not None:
        mv = client.get_model_version(parsed.name, parsed.version)
    elif parsed.alias is not None:
        mv = client.get_model_version_by_alias(parsed.name, parsed.alias)
    elif parsed.stage is None:  # latest: the highest READY, non-deleted version
        quoted = parsed.name.replace("'", "''")
        ready = client.search_model_versions(
            f"name = '{quoted}' AND status = 'READY'", max_results=1, order_by=["version DESC"]
        )
        if not ready:
            client.get_registered_model(parsed.name)  # RegisteredModelNotFound names it
            raise ModelVersionNotFound(
                f"model {parsed.name!r} has no version that is ready (from {uri!r})",
                name=parsed.name,
                uri=uri,
            )
        mv = ready[0]
    else:
        candidates = client.get_latest_versions(parsed.name, stages=[parsed.stage])
        if not candidates:
            where = f"in stage {parsed.stage}" if parsed.stage else "that is ready"
            raise ModelVersionNotFound(
                f"model {parsed.name!r} has no version {where} (from {uri!r})",
                name=parsed.name,
                uri=uri,
            )
        mv = max(candidates, key=lambda v: int(v.version))
    return parsed.name, int(mv.version)


def _local_path(uri: str) -> Path | None:
    """The local path of a plain path or file: URI, else None."""
    parts = urlsplit(uri)
    if len(parts.scheme) <= 1:  # plain path (or a Windows drive letter)
        return Path(uri)
    if parts.scheme.lower() == "file" and parts.netloc in ("", "localhost"):
        return Path(unquote(parts.path))
    return None


def download_model(
    model_uri: str | os.PathLike[str], dst_path: str | os.PathLike[str] | None = None
) -> Path:
    """A local directory holding the model at model_uri (verified for models:/ URIs).

    Local paths are used in place; everything else is downloaded to dst_path (or a new
    temporary directory).

    Raises:
        InvalidArgument: a malformed URI.
        NotFound: nothing at that URI (or no such registered version).
        ModelIntegrityError: a models:/ download differs from the registered manifest.
    """
    from modelyard.client.artifact_api import download_artifacts
    from modelyard.client.client import Client
    from modelyard.client.tracking_uri import get_tracking_uri

    uri = os.fspath(model_uri)
    if not isinstance(uri, str) or not uri:
        raise InvalidArgument(f"a model URI must be a non-empty string, got {uri!r}", uri=uri)
    if is_models_uri(uri):
        client = Client(get_tracking_uri())
        name, version = resolve_models_uri(uri, client)
        source = client.get_model_version_download_uri(name, version)
        dst = _fresh_destination(dst_path)
        local = Path(download_artifacts(artifact_uri=source, dst_path=dst))
        files = client.list_model_version_files(name, version)
        verify_model_files(local, files, what=f"{uri} (model {name!r} version {version})")
        return local
    if is_runs_uri(uri):
        from modelyard.models.uris import parse_runs_uri

        parse_runs_uri(uri)
        return Path(download_artifacts(artifact_uri=uri, dst_path=_fresh_destination(dst_path)))
    local_path = _local_path(uri)
    if local_path is not None:
        if not local_path.exists():
            from modelyard.errors import NotFound

            raise NotFound(f"no model at {uri!r}: the path does not exist", uri=uri)
        return local_path
    return Path(download_artifacts(artifact_uri=uri, dst_path=_fresh_destination(dst_path)))


def _fresh_destination(dst_path: str | os.PathLike[str] | None) -> str:
    if dst_path is None:
        return tempfile.mkdtemp(prefix="modelyard-model-")
    path = Path(dst_path).absolute()
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_model_files(local: Path, files: Iterable[Any], *, what: str) -> None:
    """Check a downloaded model directory against its registered manifest (ModelFile list).

    Sizes and presence are checked first, then every file's SHA-256 (streamed).

    Raises:
        ModelIntegrityError: a file missing, extra, of another size or another hash (named).
    """
    expected = {f.path: f for f in files}
    if local.is_file():
        actual = {local.name: local}
    else:
        actual = {
            p.relative_to(local).as_posix(): p for p in sorted(local.rglob("*")) if p.is_file()
        }
    missing = sorted(set(expected) - set(actual))
    if missing:
        raise ModelIntegrityError(
            f"model {what}: the file {missing[0]!r} recorded at registration is missing",
            file=missing[0],
        )
    extra = sorted(set(actual) - set(expected))
    if extra:
        raise ModelIntegrityError(
            f"model {what}: the file {extra[0]!r} was not part of the registered version",
            file=extra[0],
        )
    for rel, spec in sorted(expected.items()):
        size = actual[rel].stat().st_size
        if size != spec.size:
            raise ModelIntegrityError(
                f"model {what}: the file {rel!r} changed since registration "
                f"(size {size}, registered {spec.size})",
                file=rel,
            )
    for rel, spec in sorted(expected.items()):
        digest = _sha256(actual[rel])
        if digest != spec.sha256:
            raise ModelIntegrityError(
                f"model {what}: the file {rel!r} changed since registration "
                f"(sha256 {digest}, registered {spec.sha256})",
                file=rel,
            )


def load_descriptor(local: Path, uri: str, flavor: str) -> tuple[Model, dict[str, Any]]:
    """The Model descriptor of a downloaded model and the configuration of `flavor`.

    Raises:
        InvalidArgument: malformed MLmodel, or the flavor is not there (naming the URI and
            the flavors the model has).
    """
    model = Model.load(local)
    conf = model.flavors.get(flavor)
    if conf is None:
        raise InvalidArgument(
            f"the model at {uri!r} has no {flavor!r} flavor (it has {sorted(model.flavors)}); "
            "load it with the module of one of those flavors",
            uri=uri,
            flavor=flavor,
        )
    return model, conf


def model_file(local: Path, rel: object, uri: str, key: str) -> Path:
    """A file named by the MLmodel, which must lie inside the model directory.

    Raises:
        InvalidArgument: the name is not a clean relative path, or the file is missing.
    """
    from modelyard.artifacts.paths import clean_path

    if not isinstance(rel, str):
        raise InvalidArgument(f"MLmodel of {uri!r}: {key} must be a file name", uri=uri)
    try:
        clean_path(rel)
    except InvalidArgument as exc:
        raise InvalidArgument(
            f"MLmodel of {uri!r}: {key} {rel!r} is not a path inside the model: {exc.message}",
            uri=uri,
        ) from exc
    target = local / rel
    if not target.resolve().is_relative_to(local.resolve()):
        raise InvalidArgument(f"MLmodel of {uri!r}: {key} {rel!r} leaves the model", uri=uri)
    if not target.exists():
        raise InvalidArgument(
            f"MLmodel of {uri!r}: {key} names {rel!r}, which the model does not contain",
            uri=uri,
        )
    return target


def copy_into(src: Path, dst: Path) -> None:
    """Copy a file or directory tree to dst."""
    if src.is_dir():
        shutil.copytree(src, dst)
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
