"""Regenerate the Python code for the wire API into modelyard/v1/ (the one codegen script).

Usage: python proto/generate.py [--check] [--allow-breaking]

It also records the contract's shape in proto/modelyard/v1/contract.lock.json, and refuses to
regenerate when the protos changed in a way that breaks clients of modelyard.v1 (a field
renumbered, retyped or removed without `reserved`, a method removed...; see proto/compat.py):
such a change belongs in a new package, modelyard.v2. --allow-breaking overrides that, for a
change made before any release.

With --check, generate into a temporary folder and exit 1 if the committed code or the lock
differs from what the protos give.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import sys
import tempfile
from importlib import resources
from pathlib import Path

from google.protobuf import descriptor_pb2
from grpc_tools import protoc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compat import breaking_changes, shape  # proto/ is a folder of scripts, not a package

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
PACKAGE = Path("modelyard") / "v1"
LOCK = ROOT / "proto" / "modelyard" / "v1" / "contract.lock.json"
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
        f"--descriptor_set_out={out_root / 'descriptors.pb'}",
        *[str(p.relative_to(PROTO_ROOT)) for p in protos],
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    (out_root / PACKAGE / "__init__.py").write_text(HEADER)
    return sorted((out_root / PACKAGE).iterdir())


def contract(out_root: Path) -> dict[str, object]:
    """The shape of the protos just generated into out_root (its descriptors.pb, then removed)."""
    descriptors = out_root / "descriptors.pb"
    files = descriptor_pb2.FileDescriptorSet.FromString(descriptors.read_bytes())
    descriptors.unlink()
    return shape(files)


def lock_text(contract_shape: dict[str, object]) -> str:
    """The lock file's text: sorted keys, one message, enum or service per line."""
    lines = ["{"]
    kinds = sorted(contract_shape)
    for i, kind in enumerate(kinds):
        entries = contract_shape[kind]
        assert isinstance(entries, dict)
        lines.append(f" {json.dumps(kind)}: {{")
        names = sorted(entries)
        for j, name in enumerate(names):
            comma = "," if j < len(names) - 1 else ""
            body = json.dumps(entries[name], sort_keys=True, separators=(",", ":"))
            lines.append(f"  {json.dumps(name)}: {body}{comma}")
        lines.append(" }" + ("," if i < len(kinds) - 1 else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> int:
    """Generate in place, or compare with --check."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if modelyard/v1 is stale")
    parser.add_argument(
        "--allow-breaking", action="store_true", help="regenerate despite a breaking change"
    )
    args = parser.parse_args()
    if not args.check:
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp))
            new = contract(Path(tmp))
        if LOCK.exists():
            breaks = breaking_changes(json.loads(LOCK.read_text()), new)
            if breaks and not args.allow_breaking:
                print("refused: these changes break clients of modelyard.v1:", file=sys.stderr)
                print("\n".join(f"  - {b}" for b in breaks), file=sys.stderr)
                return 1
        target = ROOT / PACKAGE
        for old in target.glob("*_pb2*.py*"):
            old.unlink()
        generate(ROOT)
        contract(ROOT)  # removes the descriptor set written beside the code
        LOCK.write_text(lock_text(new))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = {p.name: p for p in generate(Path(tmp)) if p.is_file()}
        if not LOCK.exists() or LOCK.read_text() != lock_text(contract(Path(tmp))):
            print("the contract lock is stale; run `python proto/generate.py`")
            return 1
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
