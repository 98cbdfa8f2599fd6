"""The sklearn flavor: save, log and load scikit-learn estimators, with skops by default.

skops loads only types it trusts, so loading cannot run arbitrary code. The types a load
trusts are skops' own defaults, scikit-learn's own state types (SKLEARN_STATE_TYPES: the
fitted trees, neighbour indexes, distance metrics and optimiser states that tree ensembles,
k-NN and MLP models hold, which skops does not list), plus the ones the *loader* names: the
`skops_trusted_types` argument and MODELYARD_SKOPS_TRUSTED_TYPES (comma-separated). The
model's own files (its MLmodel included) never add trusted types. "pickle" and "cloudpickle"
are used only when asked for explicitly, and loading them needs `allow_pickle=True` or
MODELYARD_ALLOW_PICKLE=true.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from modelyard.client import models_io
from modelyard.config import client_config
from modelyard.errors import InvalidArgument, PermissionDenied
from modelyard.models.mlmodel import Model, ModelInfo
from modelyard.models.signature import ModelSignature

__all__ = [
    "FLAVOR_NAME",
    "SERIALIZATION_FORMATS",
    "SKLEARN_STATE_TYPES",
    "load_model",
    "log_model",
    "save_model",
]

FLAVOR_NAME = "sklearn"
SERIALIZATION_FORMAT_SKOPS = "skops"
SERIALIZATION_FORMAT_PICKLE = "pickle"
SERIALIZATION_FORMAT_CLOUDPICKLE = "cloudpickle"
SERIALIZATION_FORMATS = (
    SERIALIZATION_FORMAT_SKOPS,
    SERIALIZATION_FORMAT_PICKLE,
    SERIALIZATION_FORMAT_CLOUDPICKLE,
)
TRUSTED_TYPES_ENV = "MODELYARD_SKOPS_TRUSTED_TYPES"
#: The estimator methods the python_function flavor may call.
PREDICT_FNS = (
    "predict",
    "predict_proba",
    "predict_log_proba",
    "predict_joint_log_proba",
    "decision_function",
    "score_samples",
    "transform",
)
_FILE_NAMES = {
    SERIALIZATION_FORMAT_SKOPS: "model.skops",
    SERIALIZATION_FORMAT_PICKLE: "model.pkl",
    SERIALIZATION_FORMAT_CLOUDPICKLE: "model.pkl",
}


def _check_format(serialization_format: object) -> str:
    if serialization_format not in SERIALIZATION_FORMATS:
        raise InvalidArgument(
            f"unknown serialization_format {serialization_format!r}: expected one of "
            f"{', '.join(SERIALIZATION_FORMATS)}",
            serialization_format=serialization_format,
        )
    assert isinstance(serialization_format, str)
    return serialization_format


def _check_trusted(value: object, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InvalidArgument(
            f"{what} must be a list of fully qualified type names, got {value!r}",
            value=repr(value),
        )
    out = []
    for item in value:
        if isinstance(item, type):
            item = f"{item.__module__}.{item.__qualname__}"
        if not isinstance(item, str) or not item:
            raise InvalidArgument(f"{what}: {item!r} is not a type name", value=repr(item))
        out.append(item)
    return out


def save_model(
    sk_model: Any,
    path: str | os.PathLike[str],
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    skops_trusted_types: list[str] | None = None,
    pyfunc_predict_fn: str = "predict",
    code_paths: list[str] | None = None,
    mlflow_model: Model | None = None,
) -> Model:
    """Save an estimator to a local directory (skops unless another format is asked for).

    `skops_trusted_types` is recorded for information (and checked against the saved file);
    a loader never trusts it from the file.

    Raises:
        InvalidArgument: unknown format or predict fn, an existing non-empty path.
    """
    fmt = _check_format(serialization_format)
    trusted = _check_trusted(skops_trusted_types, "skops_trusted_types")
    if pyfunc_predict_fn not in PREDICT_FNS:
        raise InvalidArgument(
            f"pyfunc_predict_fn {pyfunc_predict_fn!r} is not one of {', '.join(PREDICT_FNS)}",
            pyfunc_predict_fn=pyfunc_predict_fn,
        )
    import sklearn

    target = models_io.prepare_model_dir(path)
    model = mlflow_model or Model()
    file_name = _FILE_NAMES[fmt]
    libraries = ["scikit-learn", "numpy", "pandas"]
    if fmt == SERIALIZATION_FORMAT_SKOPS:
        import skops.io as sio

        sio.dump(sk_model, target / file_name)
        libraries.append("skops")
    elif fmt == SERIALIZATION_FORMAT_PICKLE:
        with (target / file_name).open("wb") as fh:
            pickle.dump(sk_model, fh, protocol=pickle.DEFAULT_PROTOCOL)
    else:
        import cloudpickle

        with (target / file_name).open("wb") as fh:
            cloudpickle.dump(sk_model, fh)
        libraries.append("cloudpickle")
    code_dir = models_io.copy_code_paths(target, code_paths)
    predict = getattr(sk_model, pyfunc_predict_fn, None)
    if callable(predict):
        model.add_flavor(
            "python_function",
            loader_module="modelyard.sklearn",
            model_path=file_name,
            predict_fn=pyfunc_predict_fn,
            python_version=models_io.python_version(),
            env={"virtualenv": None, "requirements": "requirements.txt"},
            **({"code": code_dir} if code_dir else {}),
        )
    model.add_flavor(
        FLAVOR_NAME,
        pickled_model=file_name,
        sklearn_version=sklearn.__version__,
        serialization_format=fmt,
        code=code_dir,
        skops_trusted_types=trusted or None,
    )
    return models_io.finish_save(
        target,
        model,
        signature=signature,
        input_example=input_example,
        predict=predict if callable(predict) else None,
        libraries=libraries,
        pip_requirements=pip_requirements,
        metadata=metadata,
    )


def log_model(
    sk_model: Any,
    artifact_path: str | None = None,
    *,
    name: str | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    registered_model_name: str | None = None,
    await_registration_for: int = 300,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    skops_trusted_types: list[str] | None = None,
    pyfunc_predict_fn: str = "predict",
    code_paths: list[str] | None = None,
) -> ModelInfo:
    """Log an estimator to the active run as runs:/<run_id>/<name>; register it if asked."""
    _check_format(serialization_format)
    return models_io.log_model(
        lambda obj, local, *, mlflow_model, **kw: save_model(
            obj, local, mlflow_model=mlflow_model, **kw
        ),
        sk_model,
        artifact_path,
        name=name,
        registered_model_name=registered_model_name,
        await_registration_for=await_registration_for,
        serialization_format=serialization_format,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        metadata=metadata,
        skops_trusted_types=skops_trusted_types,
        pyfunc_predict_fn=pyfunc_predict_fn,
        code_paths=code_paths,
    )


# -- load ---------------------------------------------------------------------------------------


#: scikit-learn classes that hold a fitted estimator's state and that skops 0.x does not trust
#: by default, so a RandomForest or a KNeighborsClassifier would need an opt-in to load. Each
#: is scikit-learn's own class rebuilt from arrays and numbers (skops restores its state; it
#: cannot name other code), so trusting them opens nothing that trusting the estimator does
#: not. Exact names only; a type outside this list still needs the loader's opt-in.
SKLEARN_STATE_TYPES = frozenset(
    {
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    }
    | {
        f"sklearn.metrics._dist_metrics.{name}Distance{bits}"
        for bits in (32, 64)
        for name in (
            "Euclidean",
            "SEuclidean",
            "Manhattan",
            "Chebyshev",
            "Minkowski",
            "Mahalanobis",
            "Hamming",
            "Canberra",
            "BrayCurtis",
            "Jaccard",
            "Matching",
            "Dice",
            "Kulsinski",
            "RogersTanimoto",
            "RussellRao",
            "SokalMichener",
            "SokalSneath",
            "Haversine",
        )
    }
)


def configured_trusted_types(skops_trusted_types: object = None) -> list[str]:
    """The types a load trusts beyond skops' defaults: the argument plus the environment."""
    trusted = _check_trusted(skops_trusted_types, "skops_trusted_types")
    trusted.extend(client_config().skops_trusted_types)
    return trusted


def _load_file(
    file: Path,
    fmt: str,
    local: Path,
    *,
    allow_pickle: bool,
    skops_trusted_types: object,
) -> Any:
    if fmt == SERIALIZATION_FORMAT_SKOPS:
        import skops.io as sio

        trusted = configured_trusted_types(skops_trusted_types)
        try:
            untrusted = sio.get_untrusted_types(file=file)
        except Exception as exc:
            raise InvalidArgument(
                f"{os.fspath(file)!r} is not a readable skops file: {exc}", path=os.fspath(file)
            ) from exc
        trusted.extend(SKLEARN_STATE_TYPES)
        refused = [t for t in untrusted if t not in trusted]
        if refused:
            raise PermissionDenied(
                f"the model at {os.fspath(local)!r} contains types that are not trusted: "
                f"{refused}. Loading runs their code; if you trust them, pass "
                f"skops_trusted_types={refused!r} to load_model or list them in "
                f"{TRUSTED_TYPES_ENV} (comma-separated)",
                path=os.fspath(local),
                types=",".join(refused),
            )
        return sio.load(file, trusted=[t for t in untrusted if t in trusted] or None)
    if not models_io.allow_pickle_enabled(allow_pickle):
        raise models_io.refuse_pickle(f"{fmt} ({file.name})", local)
    with file.open("rb") as fh:
        if fmt == SERIALIZATION_FORMAT_CLOUDPICKLE:
            import cloudpickle

            return cloudpickle.load(fh)
        return pickle.load(fh)


def _sklearn_conf(local: Path, uri: str, conf: dict[str, Any]) -> tuple[Path, str]:
    file = models_io.model_file(local, conf.get("pickled_model"), uri, "pickled_model")
    fmt = conf.get("serialization_format", SERIALIZATION_FORMAT_CLOUDPICKLE)
    if fmt not in SERIALIZATION_FORMATS:
        raise InvalidArgument(
            f"MLmodel of {uri!r}: unknown sklearn serialization_format {fmt!r}",
            uri=uri,
            serialization_format=fmt,
        )
    return file, fmt


def load_model(
    model_uri: str | os.PathLike[str],
    dst_path: str | os.PathLike[str] | None = None,
    *,
    skops_trusted_types: list[str] | None = None,
    allow_pickle: bool = False,
) -> Any:
    """Load the estimator of a model with an sklearn flavor.

    Raises:
        InvalidArgument: malformed MLmodel, no sklearn flavor, a file name leaving the model.
        PermissionDenied: untrusted skops types, or a pickle model without opt-in.
        ModelIntegrityError: a models:/ download whose files changed since registration.
    """
    uri = os.fspath(model_uri)
    trusted = _check_trusted(skops_trusted_types, "skops_trusted_types")
    local = models_io.download_model(uri, dst_path)
    _, conf = models_io.load_descriptor(local, uri, FLAVOR_NAME)
    file, fmt = _sklearn_conf(local, uri, conf)
    return _load_file(file, fmt, local, allow_pickle=allow_pickle, skops_trusted_types=trusted)


class _SklearnPyfunc:
    """predict(data, params) over an estimator's chosen predict method."""

    def __init__(self, model: Any, predict_fn: str) -> None:
        self.model = model
        self._predict = getattr(model, predict_fn)

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        del params  # sklearn predict methods take no inference params
        return self._predict(data)


def _load_pyfunc(
    local: Path,
    uri: str,
    pyfunc_conf: dict[str, Any],
    *,
    allow_pickle: bool = False,
    skops_trusted_types: object = None,
    meta: Model | None = None,
) -> _SklearnPyfunc:
    """The python_function implementation of an sklearn model directory."""
    predict_fn = pyfunc_conf.get("predict_fn", "predict")
    if predict_fn not in PREDICT_FNS:
        raise InvalidArgument(
            f"MLmodel of {uri!r}: predict_fn {predict_fn!r} is not one of {PREDICT_FNS}",
            uri=uri,
            predict_fn=predict_fn,
        )
    sk_conf = (meta.flavors.get(FLAVOR_NAME) if meta is not None else None) or {}
    if sk_conf:
        file, fmt = _sklearn_conf(local, uri, sk_conf)
    else:
        file = models_io.model_file(local, pyfunc_conf.get("model_path"), uri, "model_path")
        fmt = SERIALIZATION_FORMAT_SKOPS if file.suffix == ".skops" else "pickle"
    model = _load_file(
        file, fmt, local, allow_pickle=allow_pickle, skops_trusted_types=skops_trusted_types
    )
    if not callable(getattr(model, predict_fn, None)):
        raise InvalidArgument(
            f"the model at {uri!r} has no method {predict_fn!r}", uri=uri, predict_fn=predict_fn
        )
    return _SklearnPyfunc(model, predict_fn)
