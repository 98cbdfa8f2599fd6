"""The wheel carries every package: each folder with an __init__.py is listed in pyproject."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _declared() -> tuple[set[str], dict[str, str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return set(config["packages"]), dict(config["package-dir"])


def test_every_package_directory_is_listed() -> None:
    """A package folder missing from the explicit list would silently drop out of the wheel."""
    packages, package_dir = _declared()
    roots = {"modelyard": "modelyard", **package_dir}
    found = set()
    for name, folder in roots.items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            found.add(".".join([name, *rel.parts]) if rel.parts else name)
    assert found == packages


def test_top_level_folders_install_inside_modelyard() -> None:
    """registry/, artifacts/ and client/ never install as top-level modules."""
    _, package_dir = _declared()
    assert package_dir == {
        "modelyard.registry": "registry",
        "modelyard.artifacts": "artifacts",
        "modelyard.client": "client",
    }
