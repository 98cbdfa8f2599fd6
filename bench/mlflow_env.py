"""Create the separate virtual environment that runs MLflow for the bench (bench/.venv-mlflow)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
VENV_DIR = BENCH_DIR / ".venv-mlflow"
MLFLOW_VERSION = "3.17.2"


def venv_python(venv: Path = VENV_DIR) -> Path:
    """Return the python executable of the MLflow venv."""
    return venv / "bin" / "python"


def is_ready(venv: Path = VENV_DIR) -> bool:
    """Return True when the venv exists and imports the pinned MLflow version."""
    py = venv_python(venv)
    if not py.exists():
        return False
    proc = subprocess.run(
        [str(py), "-c", "import mlflow, sys; sys.stdout.write(mlflow.__version__)"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return proc.returncode == 0 and proc.stdout.strip() == MLFLOW_VERSION


def ensure(venv: Path = VENV_DIR, version: str = MLFLOW_VERSION) -> Path:
    """Create the venv and install mlflow==version into it if missing; return its python."""
    if is_ready(venv):
        return venv_python(venv)
    if not venv_python(venv).exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=600)
    py = str(venv_python(venv))
    subprocess.run([py, "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True, timeout=900)
    subprocess.run(
        [py, "-m", "pip", "install", "-q", f"mlflow=={version}"], check=True, timeout=3600
    )
    return venv_python(venv)


def main() -> None:
    """Command-line entry point: create the MLflow venv."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--version", default=MLFLOW_VERSION)
    args = parser.parse_args()
    py = ensure(version=args.version)
    print(f"MLflow venv ready: {py}")


if __name__ == "__main__":
    main()
