"""scikit-learn autologging (`modelyard.sklearn.autolog`).

`fit` (and `fit_transform`/`fit_predict` where a class defines them itself) of every sklearn
estimator, of Pipeline and of the hyper-parameter searches is patched on the class. The
outermost fit of a model (not of a preprocessing step fitted alone, as in MLflow) logs, to
the active run (unless `exclusive`) or to a run it starts and ends: the estimator's params,
training metrics fitting its task, the training score and the fitted model with a
signature. A search also logs its top candidates as nested child runs.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from modelyard.client import fluent
from modelyard.client.autolog import AUTOLOGGED_TAG, patch, register_integration, safe, unpatch
from modelyard.client.client import Client, now_ms
from modelyard.client.context import PARENT_RUN_ID
from modelyard.entities import Metric, Param, RunStatus, RunTag
from modelyard.validation import MAX_KEY_LENGTH, MAX_PARAM_VALUE_LENGTH, MAX_TAG_VALUE_LENGTH

__all__ = ["FLAVOR", "autolog"]

FLAVOR = "sklearn"
#: Lists the params (by logged key) whose names or values were cut to the server's limits.
TRUNCATED_TAG = "modelyard.autolog.truncated_params"
_TRAINING_METHODS = ("fit", "fit_transform", "fit_predict")
_EXAMPLE_ROWS = 5


class _Config:
    """The settings autolog was last turned on with."""

    log_models = True
    log_input_examples = False
    log_model_signatures = True
    exclusive = False
    silent = False
    max_tuning_runs: int | None = 5
    extra_tags: dict[str, str] = {}  # replaced whole by autolog(), never mutated
    registered_model_name: str | None = None
    serialization_format: str = "skops"
    pos_label: Any = None


_config = _Config()


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    max_tuning_runs: int | None = 5,
    log_post_training_metrics: bool = True,
    serialization_format: str = "skops",
    registered_model_name: str | None = None,
    pos_label: Any = None,
    extra_tags: Mapping[str, Any] | None = None,
) -> None:
    """Turn scikit-learn autologging on, or off with disable=True (restoring the originals).

    MLflow's signature, so ported calls work. `extra_tags` go on every run autolog starts;
    `registered_model_name` registers each logged model as a new version of that model;
    `serialization_format` is the flavor's (skops by default, "pickle"/"cloudpickle" on
    request); `pos_label` makes the precision, recall and F1 of a binary classifier those of
    that class. `log_datasets`, `log_post_training_metrics` and
    `disable_for_unsupported_versions` are accepted for compatibility and change nothing.
    """
    del log_datasets, log_post_training_metrics, disable_for_unsupported_versions
    unpatch(FLAVOR)
    if disable:
        return
    if max_tuning_runs is not None and max_tuning_runs < 0:
        raise ValueError(f"max_tuning_runs must be None or >= 0, got {max_tuning_runs}")
    from modelyard.client.flavors.sklearn import SERIALIZATION_FORMATS

    if serialization_format not in SERIALIZATION_FORMATS:
        raise ValueError(
            f"serialization_format must be one of {', '.join(SERIALIZATION_FORMATS)}, "
            f"got {serialization_format!r}"
        )
    _config.extra_tags = {str(k): str(v) for k, v in (extra_tags or {}).items()}
    _config.registered_model_name = registered_model_name
    _config.serialization_format = serialization_format
    _config.pos_label = pos_label
    _config.log_models = log_models
    _config.log_input_examples = log_input_examples
    _config.log_model_signatures = log_model_signatures
    _config.exclusive = exclusive
    _config.silent = silent
    _config.max_tuning_runs = max_tuning_runs
    for cls in _classes():
        for name in _TRAINING_METHODS:
            owner = _defining_class(cls, name)
            if owner is not None:
                patch(FLAVOR, owner, name, _handle)


def _defining_class(cls: type, name: str) -> type | None:
    """The sklearn class in cls's MRO whose own __dict__ holds `name` (e.g. BaseSearchCV.fit)."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass if klass.__module__.startswith("sklearn.") else None
    return None


def _classes() -> list[type]:
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.utils import all_estimators

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = [cls for _, cls in all_estimators()]
    out: list[type] = []
    for cls in [*found, Pipeline, GridSearchCV, RandomizedSearchCV]:
        if cls not in out:
            out.append(cls)
    return out


# -- the patched call -----------------------------------------------------------------------


def _warn(what: str, exc: BaseException) -> None:
    if not _config.silent:
        warnings.warn(
            f"modelyard autolog ({FLAVOR}): {what} failed, training goes on: "
            f"{type(exc).__name__}: {exc}",
            UserWarning,
            stacklevel=4,
        )


#: Data-preparation estimators that get no run of their own when fitted alone (as in MLflow):
#: they are routines rather than models, and scikit-learn fits some internally (a metric such
#: as precision_score fits a LabelEncoder). Inside a Pipeline they are logged with it.
_NOT_LOGGED_ALONE_MODULES = (
    "sklearn.preprocessing",
    "sklearn.impute",
    "sklearn.feature_extraction",
    "sklearn.feature_selection",
)
_NOT_LOGGED_ALONE_CLASSES = frozenset({"sklearn.compose._column_transformer.ColumnTransformer"})


def _logged_alone(cls: type) -> bool:
    """Whether fitting an instance of cls on its own starts a logged fit."""
    module = cls.__module__
    if f"{module}.{cls.__qualname__}" in _NOT_LOGGED_ALONE_CLASSES:
        return False
    return not any(module == m or module.startswith(m + ".") for m in _NOT_LOGGED_ALONE_MODULES)


def _handle(estimator: Any, call: Callable[[], Any], args: tuple[Any, ...], kwargs: dict) -> Any:
    """Train via call(); log around it into the active run or one started here."""
    config = _config
    if not _logged_alone(type(estimator)):
        return call()
    active = fluent.active_run()
    if active is not None and config.exclusive:
        return call()
    started = None
    if active is None:
        started = safe(
            FLAVOR,
            config.silent,
            "starting a run",
            lambda: fluent.start_run(tags={**config.extra_tags, AUTOLOGGED_TAG: FLAVOR}),
        )
        if started is None:
            return call()
    run = active or started
    try:
        result = call()
    except BaseException:
        if started is not None:
            safe(FLAVOR, config.silent, "ending the run", fluent.end_run, RunStatus.FAILED.value)
        raise
    try:
        _log_fit(run, estimator, args, kwargs)
    except Exception as exc:
        _warn("logging", exc)
    if started is not None:
        safe(FLAVOR, config.silent, "ending the run", fluent.end_run)
    return result


def _training_data(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any, Any]:
    x = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y", kwargs.get("Y"))
    return x, y, kwargs.get("sample_weight")


def _log_fit(run: Any, estimator: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    client: Client = run._client
    run_id = run.info.run_id
    x, y, weight = _training_data(args, kwargs)
    search = _is_search(estimator)
    raw = dict(estimator.get_params(deep=True))
    if search:
        raw.update({f"best_{k}": v for k, v in estimator.best_params_.items()})
    params = _params(raw)
    tags = {
        "estimator_name": type(estimator).__name__,
        "estimator_class": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
    }
    cut = params.tag_value()
    if cut:
        tags[TRUNCATED_TAG] = cut
    params.warn()
    metrics = _training_metrics(estimator, x, y, weight) if x is not None else {}
    if search:
        best_score = getattr(estimator, "best_score_", None)
        if _finite(best_score):
            metrics["best_cv_score"] = float(best_score)
    ts = now_ms()
    client.log_batch(
        run_id,
        metrics=[Metric(key=k, value=v, timestamp=ts, step=0) for k, v in metrics.items()],
        params=[Param(key=k, value=v) for k, v in params.values.items()],
        tags=[RunTag(key=k, value=v) for k, v in tags.items()],
    )
    if search:
        _log_search_children(client, run, estimator)
    if _config.log_models:
        model = estimator.best_estimator_ if search else estimator
        if model is not None and x is not None:
            _log_model(model, x)


class _Params:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.truncated: list[str] = []  # logged keys whose values were cut
        self.renamed: list[str] = []  # logged keys standing for names over the key limit

    def tag_value(self) -> str:
        """The TRUNCATED_TAG value: every logged key whose name or value was cut ("" if none)."""
        cut = dict.fromkeys([*self.renamed, *self.truncated])
        return ",".join(cut)[:MAX_TAG_VALUE_LENGTH]

    def warn(self) -> None:
        """Say which params were renamed or cut (unless autolog is silent)."""
        if _config.silent:
            return
        if self.renamed:
            warnings.warn(
                f"modelyard autolog ({FLAVOR}): param names over {MAX_KEY_LENGTH} characters "
                f"logged as their start and a hash: {', '.join(self.renamed)}",
                UserWarning,
                stacklevel=6,
            )
        if self.truncated:
            warnings.warn(
                f"modelyard autolog ({FLAVOR}): params cut to {MAX_PARAM_VALUE_LENGTH} "
                f"characters: {', '.join(self.truncated)}",
                UserWarning,
                stacklevel=6,
            )


def _params(raw: dict[str, Any]) -> _Params:
    out = _Params()
    for key, value in raw.items():
        key = str(key)
        if len(key) > MAX_KEY_LENGTH:
            digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]
            key = f"{key[: MAX_KEY_LENGTH - 9]}-{digest}"
            out.renamed.append(key)
        text = str(value)
        if len(text) > MAX_PARAM_VALUE_LENGTH:
            text = text[:MAX_PARAM_VALUE_LENGTH]
            out.truncated.append(key)
        out.values[key] = text
    return out


def _finite(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _is_search(estimator: Any) -> bool:
    from sklearn.model_selection._search import BaseSearchCV

    return isinstance(estimator, BaseSearchCV) and hasattr(estimator, "cv_results_")


# -- metrics --------------------------------------------------------------------------------


def _training_metrics(estimator: Any, x: Any, y: Any, weight: Any) -> dict[str, float]:
    from sklearn import metrics as skm
    from sklearn.base import is_classifier, is_regressor

    out: dict[str, float] = {}

    def add(name: str, fn: Callable[[], Any]) -> None:
        try:  # a metric that is not defined for this data is left out
            value = fn()
        except Exception:
            return
        if _finite(value):
            out[name] = float(value)

    if y is not None and (is_classifier(estimator) or is_regressor(estimator)):
        try:
            y_pred = estimator.predict(x)
        except Exception:
            y_pred = None
        if y_pred is not None and is_classifier(estimator):
            kw = {"sample_weight": weight}
            avg: dict[str, Any] = {"average": "weighted", "zero_division": 0}
            if _config.pos_label is not None:  # the binary metrics of that class
                avg = {"average": "binary", "pos_label": _config.pos_label, "zero_division": 0}
            add("training_accuracy_score", lambda: skm.accuracy_score(y, y_pred, **kw))
            add("training_precision_score", lambda: skm.precision_score(y, y_pred, **avg, **kw))
            add("training_recall_score", lambda: skm.recall_score(y, y_pred, **avg, **kw))
            add("training_f1_score", lambda: skm.f1_score(y, y_pred, **avg, **kw))
            if hasattr(estimator, "predict_proba"):
                try:
                    proba = estimator.predict_proba(x)
                except Exception:
                    proba = None
                if proba is not None:
                    labels = getattr(estimator, "classes_", None)
                    add(
                        "training_log_loss",
                        lambda: skm.log_loss(y, proba, labels=labels, **kw),
                    )
                    add("training_roc_auc", lambda: _roc_auc(skm, y, proba, labels, weight))
        elif y_pred is not None:
            kw = {"sample_weight": weight}
            add("training_mean_squared_error", lambda: skm.mean_squared_error(y, y_pred, **kw))
            add(
                "training_root_mean_squared_error",
                lambda: math.sqrt(skm.mean_squared_error(y, y_pred, **kw)),
            )
            add("training_mean_absolute_error", lambda: skm.mean_absolute_error(y, y_pred, **kw))
            add("training_r2_score", lambda: skm.r2_score(y, y_pred, **kw))
    if hasattr(estimator, "score"):
        if y is not None:
            add("training_score", lambda: estimator.score(x, y))
        else:
            add("training_score", lambda: estimator.score(x))
    return out


def _roc_auc(skm: Any, y: Any, proba: Any, labels: Any, weight: Any) -> float:
    if proba.ndim == 2 and proba.shape[1] == 2:
        return skm.roc_auc_score(y, proba[:, 1], sample_weight=weight)
    return skm.roc_auc_score(
        y, proba, multi_class="ovr", average="weighted", labels=labels, sample_weight=weight
    )


# -- model ----------------------------------------------------------------------------------


def _head(x: Any) -> Any:
    if hasattr(x, "iloc"):
        return x.iloc[:_EXAMPLE_ROWS]
    try:
        return x[:_EXAMPLE_ROWS]
    except Exception:
        return None


def _log_model(model: Any, x: Any) -> None:
    from modelyard.client.flavors import sklearn as flavor
    from modelyard.models.signature import infer_signature

    example = _head(x)
    signature = None
    if _config.log_model_signatures and example is not None:
        try:
            output = model.predict(example) if hasattr(model, "predict") else None
            signature = infer_signature(example, output)
        except Exception as exc:
            _warn("inferring the model signature", exc)
    flavor.log_model(
        model,
        "model",
        signature=signature,
        input_example=example if _config.log_input_examples else None,
        serialization_format=_config.serialization_format,
        registered_model_name=_config.registered_model_name,
    )


# -- searches -------------------------------------------------------------------------------


def _log_search_children(client: Client, parent: Any, search: Any) -> None:
    limit = _config.max_tuning_runs
    if limit == 0:
        return
    results = search.cv_results_
    rank_key = "rank_test_score"
    if rank_key not in results and isinstance(search.refit, str):
        rank_key = f"rank_test_{search.refit}"
    count = len(results["params"])
    if rank_key in results:
        order = sorted(range(count), key=lambda i: (int(results[rank_key][i]), i))
    else:
        order = list(range(count))
    if limit is not None:
        order = order[:limit]
    metric_keys = [
        k
        for k in results
        if k.startswith(("mean_", "std_", "rank_")) and not k.startswith("param_")
    ]
    parent_id = parent.info.run_id
    experiment_id = parent.info.experiment_id
    parent_name = parent.info.run_name or parent_id
    for position, index in enumerate(order):
        child = client.create_run(
            experiment_id,
            tags={**_config.extra_tags, PARENT_RUN_ID: parent_id, AUTOLOGGED_TAG: FLAVOR},
            run_name=f"{parent_name}-candidate-{position}",
        )
        ts = now_ms()
        metrics = [
            Metric(key=k, value=float(results[k][index]), timestamp=ts, step=0)
            for k in metric_keys
            if _finite(results[k][index])
        ]
        params = _params(dict(results["params"][index]))
        cut = params.tag_value()
        try:
            client.log_batch(
                child.info.run_id,
                metrics=metrics,
                params=[Param(key=k, value=v) for k, v in params.values.items()],
                tags=[RunTag(key=TRUNCATED_TAG, value=cut)] if cut else [],
            )
        finally:
            client.set_terminated(child.info.run_id, RunStatus.FINISHED)


register_integration(FLAVOR, "sklearn", autolog)
