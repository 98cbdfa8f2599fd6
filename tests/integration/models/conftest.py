"""Fixtures for model tests: a clean embedded SQLite store (or a live server) in a tmp dir."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import modelyard as mlflow
from modelyard.client import Client, fluent
from modelyard.client import client as client_module


@dataclass
class ModelSetup:
    """A tracking URI and a Client on it; destination is the server's folder (None embedded)."""

    tracking_uri: str
    client: Client
    destination: Path | None
    root: Path

    def physical(self, artifact_uri: str) -> Path:
        """The local folder behind an artifact URI of this setup."""
        if artifact_uri.startswith("file://"):
            return Path(artifact_uri.removeprefix("file://"))
        assert self.destination is not None, artifact_uri
        assert artifact_uri.startswith("modelyard-artifacts:/"), artifact_uri
        return self.destination / artifact_uri.removeprefix("modelyard-artifacts:/")


def _setup(
    mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, live_server: Any
) -> Iterator[ModelSetup]:
    for name in list(os.environ):
        if name.startswith("MODELYARD_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(fluent, "_active_experiment", None)
    backend = f"sqlite:///{tmp_path / 'modelyard.db'}"
    destination = None
    if mode == "embedded":
        uri = backend
    else:
        destination = tmp_path / "destination"
        uri = live_server(backend, artifacts_destination=str(destination))
    mlflow.set_tracking_uri(uri)
    client = Client(uri)
    try:
        yield ModelSetup(uri, client, destination, tmp_path)
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.set_tracking_uri(None)
        for key in [k for k in client_module._backends if str(tmp_path) in k]:
            client_module._backends.pop(key).store.close()


@pytest.fixture
def embedded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, live_server: Any
) -> Iterator[ModelSetup]:
    """The embedded store (SQLite + ./mlartifacts) in a fresh tmp dir."""
    yield from _setup("embedded", tmp_path, monkeypatch, live_server)


@pytest.fixture(params=["embedded", "proxied"])
def setup(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    live_server: Any,
) -> Iterator[ModelSetup]:
    """Embedded, or a live server on SQLite proxying artifacts to a local folder."""
    yield from _setup(request.param, tmp_path, monkeypatch, live_server)
