"""The `MLmodel` descriptor (YAML) of a model directory, and `ModelInfo` returned by log_model."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from modelyard.errors import InvalidArgument
from modelyard.models.schema import ParamSchema, Schema
from modelyard.models.signature import ModelSignature

__all__ = ["MLMODEL_FILE_NAME", "Model", "ModelInfo"]

MLMODEL_FILE_NAME = "MLmodel"
REQUIREMENTS_FILE_NAME = "requirements.txt"


def safe_yaml_load(text: str) -> Any:
    """Parse YAML with the safe loader only (libyaml's C loader when PyYAML has it).

    The safe loaders build plain data (no Python objects), so a model file cannot run code.
    """
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)


def _modelyard_version() -> str:
    from modelyard._version import __version__

    return __version__


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


class Model:
    """A model directory's descriptor: flavors, signature, input example, run and version info."""

    def __init__(
        self,
        artifact_path: str | None = None,
        run_id: str | None = None,
        utc_time_created: str | None = None,
        flavors: dict[str, dict[str, Any]] | None = None,
        signature: ModelSignature | None = None,
        saved_input_example_info: dict[str, Any] | None = None,
        model_uuid: str | None = None,
        modelyard_version: str | None = None,
        metadata: dict[str, Any] | None = None,
        requirements_file: str | None = REQUIREMENTS_FILE_NAME,
        **extra: Any,
    ) -> None:
        self.artifact_path = artifact_path
        self.run_id = run_id
        self.utc_time_created = utc_time_created or _now()
        self.flavors: dict[str, dict[str, Any]] = dict(flavors or {})
        self.signature = signature
        self.saved_input_example_info = saved_input_example_info
        self.model_uuid = model_uuid or uuid.uuid4().hex
        self.modelyard_version = modelyard_version or _modelyard_version()
        self.metadata = metadata
        self.requirements_file = requirements_file
        self.extra = extra
        """Keys this version does not know (kept when the file is written back)."""

    # -- accessors -----------------------------------------------------------------------------

    def add_flavor(self, name: str, **params: Any) -> Model:
        """Add (or replace) a flavor's configuration; return self."""
        if not isinstance(name, str) or not name:
            raise InvalidArgument(f"a flavor needs a name, got {name!r}", flavor=name)
        self.flavors[name] = params
        return self

    def get_input_schema(self) -> Schema | None:
        """The signature's input schema, or None."""
        return self.signature.inputs if self.signature is not None else None

    def get_output_schema(self) -> Schema | None:
        """The signature's output schema, or None."""
        return self.signature.outputs if self.signature is not None else None

    def get_params_schema(self) -> ParamSchema | None:
        """The signature's params schema, or None."""
        return self.signature.params if self.signature is not None else None

    def load_input_example(self, path: str | os.PathLike[str]) -> Any:
        """The saved input example of the model stored at directory `path`, or None."""
        from modelyard.models.input_example import load_input_example

        if self.saved_input_example_info is None:
            return None
        return load_input_example(path, self.saved_input_example_info)

    @property
    def mlflow_version(self) -> str:
        """MLflow's name for the version that wrote the file."""
        return self.modelyard_version

    # -- (de)serialization ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The YAML document as a dict (run_id and artifact_path omitted when None)."""
        out: dict[str, Any] = {}
        if self.artifact_path is not None:
            out["artifact_path"] = self.artifact_path
        out["flavors"] = self.flavors
        out["model_uuid"] = self.model_uuid
        out["modelyard_version"] = self.modelyard_version
        if self.run_id is not None:
            out["run_id"] = self.run_id
        if self.saved_input_example_info is not None:
            out["saved_input_example_info"] = self.saved_input_example_info
        if self.signature is not None:
            out["signature"] = self.signature.to_dict()
        if self.metadata is not None:
            out["metadata"] = self.metadata
        if self.requirements_file is not None:
            out["requirements_file"] = self.requirements_file
        out["utc_time_created"] = self.utc_time_created
        out.update(self.extra)
        return out

    def to_yaml(self) -> str:
        """The YAML text."""
        return yaml.safe_dump(self.to_dict(), default_flow_style=False, sort_keys=False)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write `<path>/MLmodel` (or the file `path` when it names one); return the file."""
        target = Path(path)
        if target.is_dir():
            target = target / MLMODEL_FILE_NAME
        target.write_text(self.to_yaml(), encoding="utf-8")
        return target

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "MLmodel") -> Model:
        """Build a Model from the YAML document; InvalidArgument naming `source` if malformed."""
        if not isinstance(data, dict):
            raise InvalidArgument(
                f"{source} is not a model descriptor: it holds a {type(data).__name__}, "
                "not a mapping",
                file=source,
            )
        if "flavors" not in data:
            raise InvalidArgument(f"{source} names no flavors (no 'flavors' key)", file=source)
        flavors = data["flavors"]
        if not isinstance(flavors, dict) or not all(
            isinstance(k, str) and isinstance(v, dict) for k, v in flavors.items()
        ):
            raise InvalidArgument(
                f"{source}: 'flavors' must map flavor names to mappings, got {flavors!r}",
                file=source,
            )
        fields = dict(data)
        fields.pop("flavors")
        signature = fields.pop("signature", None)
        try:
            sig = ModelSignature.from_dict(signature) if signature else None
        except InvalidArgument as exc:
            raise InvalidArgument(
                f"{source}: malformed signature: {exc.message}", file=source
            ) from exc
        example = fields.pop("saved_input_example_info", None)
        if example is not None and not isinstance(example, dict):
            raise InvalidArgument(
                f"{source}: saved_input_example_info must be a mapping, got {example!r}",
                file=source,
            )
        version = fields.pop("modelyard_version", None) or fields.pop("mlflow_version", None)
        known = {
            "artifact_path",
            "run_id",
            "utc_time_created",
            "model_uuid",
            "metadata",
            "requirements_file",
        }
        kwargs = {k: fields.pop(k) for k in list(fields) if k in known}
        for key in ("artifact_path", "run_id", "model_uuid", "utc_time_created"):
            if kwargs.get(key) is not None and not isinstance(kwargs[key], str):
                kwargs[key] = str(kwargs[key])
        if kwargs.get("metadata") is not None and not isinstance(kwargs["metadata"], dict):
            raise InvalidArgument(f"{source}: metadata must be a mapping", file=source)
        model = cls(
            flavors=flavors,
            signature=sig,
            saved_input_example_info=example,
            modelyard_version=str(version) if version is not None else None,
            **kwargs,
        )
        model.extra = fields
        if "requirements_file" not in kwargs:
            model.requirements_file = None
        return model

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "MLmodel") -> Model:
        """Parse YAML text (safe loader only)."""
        try:
            data = safe_yaml_load(text)
        except yaml.YAMLError as exc:
            raise InvalidArgument(
                f"{source} is not valid YAML: {exc}".replace("\n", " "), file=source
            ) from exc
        return cls.from_dict(data, source=source)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read a model directory's MLmodel (or the MLmodel file itself).

        Raises:
            InvalidArgument: no MLmodel there, malformed YAML, not a mapping, no flavors.
        """
        target = Path(path)
        if target.is_dir():
            target = target / MLMODEL_FILE_NAME
        if not target.is_file():
            raise InvalidArgument(
                f"no {MLMODEL_FILE_NAME} file at {os.fspath(target)!r}: not a model directory",
                file=os.fspath(target),
            )
        try:
            text = target.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidArgument(
                f"{os.fspath(target)} is not UTF-8 text: {exc}", file=os.fspath(target)
            ) from exc
        return cls.from_yaml(text, source=os.fspath(target))

    def __repr__(self) -> str:
        return f"Model(flavors={sorted(self.flavors)}, run_id={self.run_id!r})"


@dataclass(slots=True, kw_only=True)
class ModelInfo:
    """What log_model returns: where the model went and what it is."""

    artifact_path: str
    flavors: dict[str, dict[str, Any]]
    model_uri: str
    model_uuid: str
    run_id: str | None
    saved_input_example_info: dict[str, Any] | None
    signature: ModelSignature | None
    utc_time_created: str
    modelyard_version: str
    metadata: dict[str, Any] | None = None
    registered_model_version: int | None = None
    name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def mlflow_version(self) -> str:
        """MLflow's name for the version that wrote the model."""
        return self.modelyard_version

    @property
    def signature_dict(self) -> dict[str, str | None] | None:
        """The signature in MLflow's JSON-text form."""
        return self.signature.to_dict() if self.signature is not None else None

    @classmethod
    def from_model(
        cls, model: Model, model_uri: str, registered_model_version: int | None = None
    ) -> ModelInfo:
        """Build from a Model descriptor."""
        return cls(
            artifact_path=model.artifact_path or "",
            flavors=model.flavors,
            model_uri=model_uri,
            model_uuid=model.model_uuid,
            run_id=model.run_id,
            saved_input_example_info=model.saved_input_example_info,
            signature=model.signature,
            utc_time_created=model.utc_time_created,
            modelyard_version=model.modelyard_version,
            metadata=model.metadata,
            registered_model_version=registered_model_version,
            name=model.artifact_path,
        )
