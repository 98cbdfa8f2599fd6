"""The python_function flavor: custom `PythonModel`s and the generic `load_model` -> `predict`.

A `PythonModel` instance is stored with cloudpickle (pickle when cloudpickle is missing).
Unpickling runs code, so `load_model` refuses such a model unless the caller opts in
(`allow_pickle=True` or MODELYARD_ALLOW_PICKLE=true). "Models from code" (a Python file that
calls `modelyard.models.set_model(...)`) also run code when loaded and need the same opt-in.
The python_function configuration of other flavors names a loader module; only modelyard's own
flavor modules are accepted (an allow-list), the module named by the MLmodel is never imported.
"""

from __future__ import annotations

import inspect
import os
import pickle
import runpy
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelyard.client import models_io
from modelyard.errors import InvalidArgument
from modelyard.models.enforcement import enforce_params, enforce_schema
from modelyard.models.mlmodel import Model, ModelInfo
from modelyard.models.signature import ModelSignature

__all__ = [
    "FLAVOR_NAME",
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "load_model",
    "log_model",
    "save_model",
]

FLAVOR_NAME = "python_function"
LOADER_MODULE = "modelyard.pyfunc"
PYTHON_MODEL_FILE = "python_model.pkl"
ARTIFACTS_DIR = "artifacts"


class PythonModel:
    """Base class of custom models: override `predict`, optionally `load_context`."""

    def load_context(self, context: PythonModelContext) -> None:
        """Load what predict needs from context.artifacts (called once, at load time)."""

    def predict(self, context: PythonModelContext, model_input: Any, params: Any = None) -> Any:
        """Return predictions for model_input."""
        raise NotImplementedError("a PythonModel must implement predict")


@dataclass(slots=True)
class PythonModelContext:
    """What a PythonModel gets at load time: local paths of its artifacts, its config."""

    artifacts: dict[str, str] = field(default_factory=dict)
    model_config: dict[str, Any] = field(default_factory=dict)


class _PythonModelImpl:
    """Adapts a PythonModel (or a models-from-code object) to predict(data, params)."""

    def __init__(self, python_model: Any, context: PythonModelContext) -> None:
        self.python_model = python_model
        self.context = context
        predict = python_model.predict
        try:
            parameters = inspect.signature(predict).parameters
        except (TypeError, ValueError):
            parameters = {}  # type: ignore[assignment]
        self._takes_context = isinstance(python_model, PythonModel) or "context" in parameters
        self._takes_params = "params" in parameters or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
        )

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        kwargs = {"params": params} if self._takes_params else {}
        if self._takes_context:
            return self.python_model.predict(self.context, data, **kwargs)
        return self.python_model.predict(data, **kwargs)


class PyFuncModel:
    """A loaded model with `predict(data, params=None)` that enforces the stored signature."""

    def __init__(self, model_meta: Model, impl: Any, *, raw_model: Any = None) -> None:
        self._meta = model_meta
        self._impl = impl
        self._raw = raw_model

    @property
    def metadata(self) -> Model:
        """The model's MLmodel descriptor."""
        return self._meta

    @property
    def loader_module(self) -> str | None:
        """The python_function loader module named by the MLmodel."""
        return self._meta.flavors.get(FLAVOR_NAME, {}).get("loader_module")

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        """Check data and params against the signature, then predict.

        Raises:
            InvalidArgument: the input or params do not fit the signature (named).
        """
        schema = self._meta.get_input_schema()
        if schema is not None:
            data = enforce_schema(data, schema)
        checked = enforce_params(params, self._meta.get_params_schema())
        return self._impl.predict(data, checked)

    def unwrap_python_model(self) -> Any:
        """The PythonModel instance behind this model.

        Raises:
            InvalidArgument: the model is not a PythonModel (for example an sklearn model).
        """
        if isinstance(self._impl, _PythonModelImpl):
            return self._impl.python_model
        raise InvalidArgument(
            "unwrap_python_model works for models saved from a PythonModel; this one is "
            f"loaded by {self.loader_module!r}: use get_raw_model()",
            loader_module=self.loader_module,
        )

    def get_raw_model(self) -> Any:
        """The underlying framework object (the estimator, the PythonModel)."""
        if isinstance(self._impl, _PythonModelImpl):
            return self._impl.python_model
        return self._raw

    def __repr__(self) -> str:
        return f"PyFuncModel(loader_module={self.loader_module!r}, run_id={self._meta.run_id!r})"


# -- save / log ---------------------------------------------------------------------------------


def _serializer() -> tuple[Any, str]:
    try:
        import cloudpickle

        return cloudpickle, "cloudpickle"
    except ImportError:  # pragma: no cover - cloudpickle is installed with the dev extras
        return pickle, "pickle"


def _save_artifacts(path: Path, artifacts: Mapping[str, Any] | None) -> dict[str, Any]:
    """Copy (or download) each artifact into <path>/artifacts/; return the flavor config part."""
    if not artifacts:
        return {}
    if not isinstance(artifacts, Mapping):
        raise InvalidArgument("artifacts must be a dict name -> path or URI", artifacts=artifacts)
    from modelyard.artifacts.paths import clean_path

    out: dict[str, Any] = {}
    root = path / ARTIFACTS_DIR
    root.mkdir()
    for name, uri in artifacts.items():
        if not isinstance(name, str) or "/" in name:
            raise InvalidArgument(f"artifact name {name!r} must be a plain name", name=name)
        clean_path(name)
        uri_text = os.fspath(uri)
        local = models_io._local_path(uri_text)
        target = root / name
        if local is not None:
            if not local.exists():
                raise InvalidArgument(
                    f"artifact {name!r}: no file or directory at {uri_text!r}",
                    name=name,
                    uri=uri_text,
                )
            target.mkdir()
            models_io.copy_into(local, target / local.name)
            rel = f"{ARTIFACTS_DIR}/{name}/{local.name}"
        else:
            from modelyard.client.artifact_api import download_artifacts

            target.mkdir()
            got = Path(download_artifacts(artifact_uri=uri_text, dst_path=target))
            rel = got.relative_to(path).as_posix()
        out[name] = {"path": rel, "uri": uri_text}
    return out


def save_model(
    path: str | os.PathLike[str],
    python_model: Any = None,
    artifacts: Mapping[str, Any] | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    code_paths: list[str] | None = None,
    model_config: dict[str, Any] | None = None,
    mlflow_model: Model | None = None,
) -> Model:
    """Save a PythonModel (or a models-from-code file path) to a local directory.

    Raises:
        InvalidArgument: no python_model, an existing non-empty path, bad artifacts.
    """
    if python_model is None:
        raise InvalidArgument("save_model needs python_model (a PythonModel or a .py file)")
    from_code = isinstance(python_model, str | os.PathLike)
    if from_code:
        code_file = Path(python_model)
        if code_file.suffix != ".py" or not code_file.is_file():
            raise InvalidArgument(
                f"python_model {os.fspath(python_model)!r} is not an existing .py file",
                python_model=os.fspath(python_model),
            )
    elif not callable(getattr(python_model, "predict", None)):
        raise InvalidArgument(
            f"python_model must be a PythonModel or a .py file, got {type(python_model).__name__}",
            type=type(python_model).__name__,
        )
    if model_config is not None and not isinstance(model_config, dict):
        raise InvalidArgument("model_config must be a dict", model_config=repr(model_config))
    target = models_io.prepare_model_dir(path)
    model = mlflow_model or Model()
    conf: dict[str, Any] = {
        "loader_module": LOADER_MODULE,
        "python_version": models_io.python_version(),
        "env": {"virtualenv": None, "requirements": "requirements.txt"},
    }
    libraries: list[str] = []
    if from_code:
        code_target = target / Path(python_model).name
        models_io.copy_into(Path(python_model), code_target)
        conf["model_code_path"] = code_target.name
    else:
        serializer, name = _serializer()
        with (target / PYTHON_MODEL_FILE).open("wb") as fh:
            serializer.dump(python_model, fh)
        conf["python_model"] = PYTHON_MODEL_FILE
        conf["serialization_format"] = name
        if name == "cloudpickle":
            libraries.append(name)
    code_dir = models_io.copy_code_paths(target, code_paths)
    if code_dir:
        conf["code"] = code_dir
    saved_artifacts = _save_artifacts(target, artifacts)
    if saved_artifacts:
        conf["artifacts"] = saved_artifacts
    if model_config:
        conf["model_config"] = model_config
    model.add_flavor(FLAVOR_NAME, **conf)

    predict: Callable[[Any], Any] | None = None
    if not from_code and input_example is not None:
        context = PythonModelContext(
            artifacts={k: str(target / v["path"]) for k, v in saved_artifacts.items()},
            model_config=dict(model_config or {}),
        )

        def predict(example: Any) -> Any:
            if hasattr(python_model, "load_context"):
                python_model.load_context(context)
            return _PythonModelImpl(python_model, context).predict(example, None)

    libraries.extend(["numpy", "pandas"])
    return models_io.finish_save(
        target,
        model,
        signature=signature,
        input_example=input_example,
        predict=predict,
        libraries=libraries,
        pip_requirements=pip_requirements,
        metadata=metadata,
    )


def log_model(
    artifact_path: str | None = None,
    python_model: Any = None,
    artifacts: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    registered_model_name: str | None = None,
    await_registration_for: int = 300,
    pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    code_paths: list[str] | None = None,
    model_config: dict[str, Any] | None = None,
) -> ModelInfo:
    """Log a PythonModel to the active run as runs:/<run_id>/<name>; register it if asked."""

    def save(obj: Any, local: Path, *, mlflow_model: Model, **kwargs: Any) -> Model:
        return save_model(local, python_model=obj, mlflow_model=mlflow_model, **kwargs)

    return models_io.log_model(
        save,
        python_model,
        artifact_path,
        name=name,
        registered_model_name=registered_model_name,
        await_registration_for=await_registration_for,
        artifacts=artifacts,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        metadata=metadata,
        code_paths=code_paths,
        model_config=model_config,
    )


# -- load ---------------------------------------------------------------------------------------


def _load_python_model(
    local: Path, uri: str, conf: dict[str, Any], allow_pickle: bool, model_config: Any
) -> _PythonModelImpl:
    """The PythonModel (or models-from-code object) of a pyfunc model directory."""
    if not models_io.allow_pickle_enabled(allow_pickle):
        what = "Python code (models from code)" if "model_code_path" in conf else "a pickle"
        raise models_io.refuse_pickle(what, local)
    if "model_code_path" in conf:
        from modelyard import models as models_pkg

        code = models_io.model_file(local, conf["model_code_path"], uri, "model_code_path")
        models_pkg._take_code_model()
        runpy.run_path(str(code), run_name="__modelyard_model__")
        python_model = models_pkg._take_code_model()
        if python_model is None:
            raise InvalidArgument(
                f"the model code {code.name!r} of {uri!r} did not call "
                "modelyard.models.set_model(...)",
                uri=uri,
            )
    else:
        file = models_io.model_file(local, conf.get("python_model"), uri, "python_model")
        serializer, _ = _serializer()
        with file.open("rb") as fh:
            python_model = serializer.load(fh)
    artifacts: dict[str, str] = {}
    for name, spec in (conf.get("artifacts") or {}).items():
        rel = spec.get("path") if isinstance(spec, dict) else None
        artifacts[name] = str(models_io.model_file(local, rel, uri, f"artifact {name!r}"))
    config = dict(conf.get("model_config") or {})
    if model_config:
        config.update(model_config)
    context = PythonModelContext(artifacts=artifacts, model_config=config)
    if hasattr(python_model, "load_context"):
        python_model.load_context(context)
    return _PythonModelImpl(python_model, context)


def _sklearn_loader(local: Path, uri: str, conf: dict[str, Any], **kwargs: Any) -> Any:
    from modelyard.client.flavors import sklearn

    return sklearn._load_pyfunc(local, uri, conf, **kwargs)


#: The only loader modules a python_function configuration may name (MLflow's names map to
#: modelyard's implementations of the same formats).
_LOADERS: dict[str, str] = {
    "modelyard.pyfunc": "python",
    "modelyard.pyfunc.model": "python",
    "mlflow.pyfunc.model": "python",
    "modelyard.sklearn": "sklearn",
    "mlflow.sklearn": "sklearn",
}


def load_model(
    model_uri: str | os.PathLike[str],
    dst_path: str | os.PathLike[str] | None = None,
    *,
    model_config: dict[str, Any] | None = None,
    allow_pickle: bool = False,
    skops_trusted_types: list[str] | None = None,
    suppress_warnings: bool = False,
) -> PyFuncModel:
    """Load any model with a python_function flavor; its predict enforces the signature.

    Raises:
        InvalidArgument: malformed MLmodel, no python_function flavor, a loader module that is
            not one of modelyard's flavors.
        PermissionDenied: a pickle / code model without opt-in, or untrusted skops types.
        ModelIntegrityError: a models:/ download whose files changed since registration.
    """
    uri = os.fspath(model_uri)
    local = models_io.download_model(uri, dst_path)
    meta, conf = models_io.load_descriptor(local, uri, FLAVOR_NAME)
    loader = conf.get("loader_module")
    kind = _LOADERS.get(loader) if isinstance(loader, str) else None
    if kind is None and loader is None and ("python_model" in conf or "model_code_path" in conf):
        kind = "python"
    if kind is None:
        raise InvalidArgument(
            f"the model at {uri!r} names the loader module {loader!r}, which is not one of "
            f"modelyard's flavors ({sorted(set(_LOADERS))}); modelyard does not import modules "
            "named by a model's files",
            uri=uri,
            loader_module=loader,
        )
    with warnings.catch_warnings():
        if suppress_warnings:
            warnings.simplefilter("ignore")
        if kind == "python":
            impl = _load_python_model(local, uri, conf, allow_pickle, model_config)
            return PyFuncModel(meta, impl, raw_model=impl.python_model)
        raw = _sklearn_loader(
            local,
            uri,
            conf,
            allow_pickle=allow_pickle,
            skops_trusted_types=skops_trusted_types,
            meta=meta,
        )
        return PyFuncModel(meta, raw, raw_model=raw.model)
