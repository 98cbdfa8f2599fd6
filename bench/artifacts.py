"""The artifact scenarios of the bench (issue 3), run inside bench/workload.py's subprocess.

Each function has the workload signature `(api, uri, params) -> result` and runs through the
system's own client: `log_artifact` / `log_artifacts` of the fluent module and
`Client.download_artifacts(run_id, path, dst_path)`. The runner (bench/run.py) passes:

- ``destination``: the server's artifacts destination (a local directory), used to check what
  arrived and to delete it between repetitions (so the disk holds one copy at a time);
- ``scratch``: a directory on local disk for the source and downloaded files;
- ``bare_uri`` (modelyard only): a bare gRPC stream server (bench/bare_stream.py) writing
  under the same destination; its repetitions alternate with the system's, in the same
  process, so both see the same machine. Two references run in the same rotation: the bare
  stream with an fsync before close (what an atomic store must add), and a local copy
  (`shutil.copyfile`, the page-cache ceiling; called cp below).

Sizes are in MiB; rates in MB/s (10^6 bytes per second). Every timed transfer starts with the
page cache clean of dirty data (os.sync() before, untimed) and the source file cached.
Only the standard library is imported at load time (this runs in either venv).
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

MIB = 1024 * 1024
BLOCK = 16 * MIB
MIN_FREE_5G_BYTES = 12 * 1024 * MIB


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def write_file(path: Path, size: int) -> None:
    """Write `size` incompressible bytes (a 16 MiB random block, repeated) to path."""
    block = os.urandom(min(BLOCK, max(size, 1)))
    left = size
    with open(path, "wb") as f:
        while left > 0:
            n = min(left, len(block))
            f.write(block[:n] if n < len(block) else block)
            left -= n


def _scratch(p: dict[str, Any]) -> Path:
    base = Path(p["scratch"]) if p.get("scratch") else Path(os.environ.get("TMPDIR", "/tmp"))
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="artifacts-", dir=base))


def _run_dir(dest: Path, run_id: str) -> Path:
    """The run's artifact directory in the destination: <dest>/<experiment>/<run>/artifacts."""
    found = sorted(dest.glob(f"*/{run_id}/artifacts"))
    if not found:
        found = sorted(p for p in dest.rglob(run_id) if p.is_dir())
        if not found:
            raise RuntimeError(f"no directory for run {run_id} under {dest}")
        return found[0] / "artifacts" if (found[0] / "artifacts").is_dir() else found[0]
    return found[0]


def _check_same_size(path: Path, size: int, what: str) -> None:
    got = path.stat().st_size if path.exists() else -1
    if got != size:
        raise RuntimeError(f"{what}: {path} has {got} bytes, expected {size}")


def _mbps(size: int, seconds: float) -> float:
    return size / seconds / 1e6


def _bare_client(p: dict[str, Any]) -> Any:
    if not p.get("bare_uri"):
        return None
    from bench.bare_stream import BareClient

    return BareClient(p["bare_uri"])


def _order(rep: int, who: list[str]) -> list[str]:
    """Rotate who goes first, so no participant always runs on a warmer machine."""
    k = rep % len(who)
    return who[k:] + who[:k]


def _summary(unit: str, rates: dict[str, list[float]], **extra: Any) -> dict[str, Any]:
    """The system's median as the value; each reference's median and repetitions beside it."""
    res: dict[str, Any] = {
        "value": statistics.median(rates["system"]),
        "unit": unit,
        "reps": rates["system"],
        **extra,
    }
    for who, vals in rates.items():
        if who != "system" and vals:
            res[f"{who}_value"] = statistics.median(vals)
            res[f"{who}_reps"] = vals
    if res.get("bare_value"):
        res["of_bare_pct"] = res["value"] / res["bare_value"] * 100.0
    return res


# -- 1 GiB upload ----------------------------------------------------------------------------


def artifact_upload(api: Any, uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """MB/s of log_artifact of one big file through the server to its local destination."""
    size, reps = int(p.get("size_mib", 1024)) * MIB, int(p.get("reps", 5))
    dest = Path(p["destination"])
    scratch = _scratch(p)
    try:
        src = scratch / "model.bin"
        write_file(src, size)
        warm = scratch / "warm.bin"
        write_file(warm, 4 * MIB)
        fl = api.mlflow
        fl.set_tracking_uri(uri)
        exp_id = api.Client(tracking_uri=uri).create_experiment(_unique("bench-upload"))
        bare = _bare_client(p)
        with fl.start_run(experiment_id=exp_id):
            fl.log_artifact(str(warm))
        if bare is not None:
            bare.upload(warm, "bare-warm/warm.bin")
        who_all = ["system"] + (["bare", "bare_fsync", "cp"] if bare is not None else [])
        rates: dict[str, list[float]] = {w: [] for w in who_all}
        for rep in range(reps):
            for who in _order(rep, who_all):
                if who == "system":
                    with fl.start_run(experiment_id=exp_id) as run:
                        os.sync()
                        t0 = time.perf_counter()
                        fl.log_artifact(str(src))
                        elapsed = time.perf_counter() - t0
                    stored = _run_dir(dest, run.info.run_id) / src.name
                else:
                    stored = dest / f"{who}-upload" / str(rep) / src.name
                    stored.parent.mkdir(parents=True, exist_ok=True)
                    remote = str(stored.relative_to(dest))
                    os.sync()
                    t0 = time.perf_counter()
                    if who == "cp":
                        shutil.copyfile(src, stored)
                    else:
                        bare.upload(src, remote, fsync=who == "bare_fsync")
                    elapsed = time.perf_counter() - t0
                rates[who].append(_mbps(size, elapsed))
                _check_same_size(stored, size, f"{who} upload")
                stored.unlink()
        if bare is not None:
            bare.close()
        return _summary("MB/s", rates, size_mib=size // MIB)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# -- 1 GiB download --------------------------------------------------------------------------


def artifact_download(api: Any, uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """MB/s of Client.download_artifacts of one big file through the server."""
    size, reps = int(p.get("size_mib", 1024)) * MIB, int(p.get("reps", 5))
    scratch = _scratch(p)
    try:
        src = scratch / "model.bin"
        write_file(src, size)
        warm = scratch / "warm.bin"
        write_file(warm, 4 * MIB)
        fl = api.mlflow
        fl.set_tracking_uri(uri)
        client = api.Client(tracking_uri=uri)
        exp_id = client.create_experiment(_unique("bench-download"))
        with fl.start_run(experiment_id=exp_id) as run:
            fl.log_artifact(str(src))
            fl.log_artifact(str(warm))
        run_id = run.info.run_id
        bare = _bare_client(p)
        if bare is not None:
            bare.upload(src, "bare-download/model.bin")
            bare.upload(warm, "bare-download/warm.bin")
        src.unlink()
        warm_dir = scratch / "warm-dl"
        warm_dir.mkdir()
        client.download_artifacts(run_id, "warm.bin", str(warm_dir))
        if bare is not None:
            bare.download("bare-download/warm.bin", warm_dir / "bare-warm.bin")
        who_all = ["system"] + (["bare", "cp"] if bare is not None else [])
        rates: dict[str, list[float]] = {w: [] for w in who_all}
        for rep in range(reps):
            for who in _order(rep, who_all):
                dst = scratch / f"dl-{rep}-{who}"
                dst.mkdir()
                got = dst / "model.bin"
                os.sync()
                t0 = time.perf_counter()
                if who == "system":
                    got = Path(client.download_artifacts(run_id, "model.bin", str(dst)))
                elif who == "bare":
                    bare.download("bare-download/model.bin", got)
                else:
                    shutil.copyfile(Path(p["destination"]) / "bare-download/model.bin", got)
                elapsed = time.perf_counter() - t0
                rates[who].append(_mbps(size, elapsed))
                _check_same_size(got, size, f"{who} download")
                shutil.rmtree(dst)
        if bare is not None:
            bare.close()
        return _summary("MB/s", rates, size_mib=size // MIB)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# -- server memory during a 5 GiB upload and download ------------------------------------------


def disk_shortfall(path: Path, size: int) -> str | None:
    """Why the memory scenario cannot run here (too little free disk), or None."""
    need = max(MIN_FREE_5G_BYTES, 2 * size + 2 * 1024 * MIB)
    free = shutil.disk_usage(path).free
    if free < need:
        return (
            f"skipped: {free / 2**30:.1f} GiB free on {path}, the {size // MIB} MiB "
            f"upload+download needs {need / 2**30:.0f} GiB"
        )
    return None


def artifact_memory(api: Any, uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """Upload then download a big file, reps times; return the phase timestamps.

    The runner samples the server's RSS every 50 ms and turns the phases into the growth.
    The source is deleted after each upload, so the disk holds at most two copies.
    """
    size, reps = int(p.get("size_mib", 5120)) * MIB, int(p.get("reps", 1))
    scratch = _scratch(p)
    try:
        skip = disk_shortfall(scratch, size)
        if skip:
            return {"value": None, "unit": "MiB", "reps": [], "skipped": skip}
        dest = Path(p["destination"])
        fl = api.mlflow
        fl.set_tracking_uri(uri)
        client = api.Client(tracking_uri=uri)
        exp_id = client.create_experiment(_unique("bench-memory"))
        warm = scratch / "warm.bin"
        write_file(warm, 8 * MIB)
        with fl.start_run(experiment_id=exp_id) as run:
            fl.log_artifact(str(warm))
        warm_dl = scratch / "warm-dl"
        warm_dl.mkdir()
        client.download_artifacts(run.info.run_id, "warm.bin", str(warm_dl))
        shutil.rmtree(warm_dl)
        src = scratch / "model.bin"
        phases: list[dict[str, float]] = []
        up_rates: list[float] = []
        down_rates: list[float] = []
        for rep in range(reps):
            write_file(src, size)
            os.sync()
            time.sleep(1.0)  # a quiet window: the baseline of this repetition
            with fl.start_run(experiment_id=exp_id) as run:
                t_up0 = time.time()
                fl.log_artifact(str(src))
                t_up1 = time.time()
            run_id = run.info.run_id
            stored = _run_dir(dest, run_id) / src.name
            _check_same_size(stored, size, "upload")
            src.unlink()
            dst = scratch / f"dl-{rep}"
            dst.mkdir()
            os.sync()
            t_dn0 = time.time()
            got = Path(client.download_artifacts(run_id, src.name, str(dst)))
            t_dn1 = time.time()
            _check_same_size(got, size, "download")
            shutil.rmtree(dst)
            stored.unlink()
            phases.append({"up0": t_up0, "up1": t_up1, "dn0": t_dn0, "dn1": t_dn1})
            up_rates.append(_mbps(size, t_up1 - t_up0))
            down_rates.append(_mbps(size, t_dn1 - t_dn0))
        time.sleep(1.0)  # after: does the memory come back?
        return {
            "value": None,
            "unit": "MiB",
            "reps": [],
            "phases": phases,
            "end": time.time(),
            "size_mib": size // MIB,
            "upload_mbps": up_rates,
            "download_mbps": down_rates,
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# -- log_artifacts of 1,000 small files -------------------------------------------------------


def log_artifacts_many(api: Any, uri: str, p: dict[str, Any]) -> dict[str, Any]:
    """Seconds for log_artifacts of a folder of n files of 10 KB through the server."""
    n, reps = int(p.get("files", 1000)), int(p.get("reps", 5))
    file_bytes = int(p.get("file_bytes", 10_000))
    dest = Path(p["destination"])
    scratch = _scratch(p)
    try:
        folder = scratch / "folder"
        folder.mkdir()
        for i in range(n):
            (folder / f"part-{i:05d}.bin").write_bytes(os.urandom(file_bytes))
        warm = scratch / "warm"
        warm.mkdir()
        for i in range(3):
            (warm / f"w{i}.txt").write_bytes(b"warm")
        fl = api.mlflow
        fl.set_tracking_uri(uri)
        exp_id = api.Client(tracking_uri=uri).create_experiment(_unique("bench-log-artifacts"))
        with fl.start_run(experiment_id=exp_id):
            fl.log_artifacts(str(warm))
        times: list[float] = []
        for _rep in range(reps):
            with fl.start_run(experiment_id=exp_id) as run:
                os.sync()
                t0 = time.perf_counter()
                fl.log_artifacts(str(folder))
                times.append(time.perf_counter() - t0)
            stored = _run_dir(dest, run.info.run_id)
            count = sum(1 for f in stored.rglob("*") if f.is_file())
            if count != n:
                raise RuntimeError(f"log_artifacts stored {count} files of {n} in {stored}")
            shutil.rmtree(stored)
        return {
            "value": statistics.median(times),
            "unit": "s",
            "reps": times,
            "files": n,
            "file_bytes": file_bytes,
            "files_per_s": n / statistics.median(times),
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


SCENARIOS = {
    "artifact_upload_1g": artifact_upload,
    "artifact_download_1g": artifact_download,
    "artifact_memory_5g": artifact_memory,
    "log_artifacts_1000": log_artifacts_many,
}
