"""Regenerate the Python code for the wire API into modelyard/v1/ (the one codegen script).

Usage: python proto/generate.py [--check]

With --check, generate into a temporary folder and exit 1 if the committed code differs.
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
PACKAGE = Path("modelyard") / "v1"
HEADER = '"""Generated wire API of modelyard, version 1. Do not edit: run proto/generate.py."""\n'


def generate(out_root: Path) -> list[Path]:
    """Run protoc over every .proto under proto/modelyard/v1 into out_root; return the files."""
    protos = sorted((PROTO_ROOT / PACKAGE).glob("*.proto"))
    include = str(resources.files("grpc_tools") / "_proto")
    (out_root / PACKAGE).mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        f"--grpc_python_out={out_root}",
        *[str(p.relative_to(PROTO_ROOT)) for p in protos],
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    (out_root / PACKAGE / "__init__.py").write_text(HEADER)
    return sorted((out_root / PACKAGE).iterdir())


def main() -> int:
    """Generate in place, or compare with --check."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if modelyard/v1 is stale")
    args = parser.parse_args()
    if not args.check:
        target = ROOT / PACKAGE
        for old in target.glob("*_pb2*.py*"):
            old.unlink()
        generate(ROOT)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = {p.name: p for p in generate(Path(tmp)) if p.is_file()}
        committed = {p.name: p for p in (ROOT / PACKAGE).iterdir() if p.is_file()}
        stale = sorted(
            name
            for name in fresh.keys() | committed.keys()
            if name not in fresh
            or name not in committed
            or not filecmp.cmp(fresh[name], committed[name], shallow=False)
        )
    if stale:
        print("modelyard/v1 is stale; run `python proto/generate.py`:", ", ".join(stale))
        return 1
    print("modelyard/v1 is fresh")
    return 0


if __name__ == "__main__":
    sys.exit(main())
