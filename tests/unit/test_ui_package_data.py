"""Every UI asset is shipped: each file under modelyard/ui/static matches a package-data glob."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_static_file_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["modelyard.ui"]
    package = ROOT / "modelyard" / "ui"
    files = [
        p.relative_to(package).as_posix() for p in (package / "static").rglob("*") if p.is_file()
    ]
    assert files, "no static files found"
    missing = [
        f for f in files if not any(fnmatch(f, g) and f.count("/") == g.count("/") for g in globs)
    ]
    assert not missing, f"add package-data globs in pyproject.toml for {missing}"
