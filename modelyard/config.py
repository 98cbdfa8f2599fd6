"""The only reader of MODELYARD_* environment variables: typed client settings.

| variable                      | meaning                                                        |
|-------------------------------|----------------------------------------------------------------|
| MODELYARD_TRACKING_URI        | tracking URI when `set_tracking_uri` was not called            |
| MODELYARD_REGISTRY_URI        | model registry URI when `set_registry_uri` was not called      |
|                               | (default: the tracking URI)                                    |
| MODELYARD_EXPERIMENT_NAME     | experiment used when none is set (created if missing)          |
| MODELYARD_EXPERIMENT_ID       | experiment used when none is set (must exist)                  |
| MODELYARD_RUN_ID              | run that `start_run()` resumes (consumed once)                 |
| MODELYARD_ASYNC_LOGGING       | "true" makes logging calls asynchronous by default             |
| MODELYARD_TLS_CA_FILE         | PEM file of the CA that signs the server's cert (grpcs://)     |
| MODELYARD_TRACKING_USERNAME   | user reported in the mlflow.user tag (default: the OS user)    |
| MODELYARD_GRPC_TIMEOUT        | per-call deadline in seconds (default 60)                      |
| MODELYARD_GRPC_MAX_RETRIES    | retries of UNAVAILABLE calls (default 5)                       |
| MODELYARD_PROGRESS            | transfer progress bars: true = always, false = never, unset =  |
|                               | on a terminal, outside tests                                   |
| MODELYARD_S3_ENDPOINT_URL     | S3-compatible endpoint (MinIO, moto) for s3:// artifacts       |
| MODELYARD_ALLOW_PICKLE        | "true" lets load_model run pickled or code-based models        |
| MODELYARD_SKOPS_TRUSTED_TYPES | comma-separated types skops may load beyond its defaults       |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_TRACKING_URI = "sqlite:///modelyard.db"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false, got {raw!r}")


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientConfig:
    """Client settings read from the environment."""

    tracking_uri: str | None
    """MODELYARD_TRACKING_URI, or None when unset (the embedded default applies)."""
    registry_uri: str | None = None
    """MODELYARD_REGISTRY_URI, or None when unset (the tracking URI is the registry's)."""
    experiment_name: str | None
    experiment_id: str | None
    run_id: str | None
    async_logging: bool
    tls_ca_file: str | None
    username: str | None
    grpc_timeout: float
    grpc_max_retries: int
    progress: bool | None
    """MODELYARD_PROGRESS: force transfer progress bars on or off; None = automatic."""
    s3_endpoint_url: str | None
    """MODELYARD_S3_ENDPOINT_URL, for s3:// artifact locations (a flag may override it)."""
    allow_pickle: bool = False
    """MODELYARD_ALLOW_PICKLE: load models whose format runs code (pickle, models from code)."""
    skops_trusted_types: tuple[str, ...] = ()
    """MODELYARD_SKOPS_TRUSTED_TYPES: types a skops load trusts beyond skops' defaults."""


def client_config(environ: Mapping[str, str] | None = None) -> ClientConfig:
    """Read the client settings from `environ` (default: os.environ)."""
    env = os.environ if environ is None else environ
    return ClientConfig(
        tracking_uri=env.get("MODELYARD_TRACKING_URI") or None,
        registry_uri=env.get("MODELYARD_REGISTRY_URI") or None,
        experiment_name=env.get("MODELYARD_EXPERIMENT_NAME") or None,
        experiment_id=env.get("MODELYARD_EXPERIMENT_ID") or None,
        run_id=env.get("MODELYARD_RUN_ID") or None,
        async_logging=_flag(env, "MODELYARD_ASYNC_LOGGING", False),
        tls_ca_file=env.get("MODELYARD_TLS_CA_FILE") or None,
        username=env.get("MODELYARD_TRACKING_USERNAME") or None,
        grpc_timeout=_number(env, "MODELYARD_GRPC_TIMEOUT", 60.0),
        grpc_max_retries=int(_number(env, "MODELYARD_GRPC_MAX_RETRIES", 5)),
        progress=(
            _flag(env, "MODELYARD_PROGRESS", False)
            if env.get("MODELYARD_PROGRESS", "").strip()
            else None
        ),
        s3_endpoint_url=env.get("MODELYARD_S3_ENDPOINT_URL") or None,
        allow_pickle=_flag(env, "MODELYARD_ALLOW_PICKLE", False),
        skops_trusted_types=tuple(
            t.strip() for t in env.get("MODELYARD_SKOPS_TRUSTED_TYPES", "").split(",") if t.strip()
        ),
    )


def consume_run_id(environ: dict[str, str] | None = None) -> str | None:
    """Pop MODELYARD_RUN_ID so that only the first start_run() resumes it."""
    env = os.environ if environ is None else environ
    return env.pop("MODELYARD_RUN_ID", None) or None
