"""Start and stop the servers under test (modelyard, MLflow) as process groups on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
START_TIMEOUT_S = 120.0


def quiet_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for servers and workloads: no telemetry, no inherited tracking settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MODELYARD_", "MLFLOW_")) and k != "PYTHONPATH"
    }
    env.update(
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
        PYTHONUNBUFFERED="1",
        GIT_PYTHON_REFRESH="quiet",
    )
    env.update(extra or {})
    return env


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running server subprocess (leader of its own process group)."""

    system: str
    proc: subprocess.Popen[bytes]
    port: int
    uri: str
    workdir: Path
    log_path: Path
    label: str = ""
    extra_ports: list[int] = field(default_factory=list)
    settle_s: float = 0.0
    artifacts_dir: Path | None = None

    def log_tail(self, n: int = 40) -> str:
        """Return the last n lines of the server's log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def _wait_ready(server: Server, http_health: bool) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(
                f"{server.system} server exited with {server.proc.returncode}:\n"
                + server.log_tail()
            )
        try:
            if http_health:
                with urllib.request.urlopen(
                    f"http://{HOST}:{server.port}/health", timeout=2
                ) as resp:
                    if resp.status == 200:
                        return
            else:
                with socket.create_connection((HOST, server.port), timeout=1):
                    pass
                if "listening on" in server.log_path.read_text(errors="replace"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    stop(server)
    raise RuntimeError(
        f"{server.system} server not ready in {START_TIMEOUT_S}s:\n" + server.log_tail()
    )


def _spawn(
    cmd: list[str], workdir: Path, log_name: str, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], Path]:
    log_path = workdir / log_name
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    return proc, log_path


def modelyard_command(python: str) -> list[str]:
    """The command that runs the modelyard CLI of the venv that owns python."""
    script = Path(python).parent / "modelyard"
    if script.exists():
        return [str(script)]
    return [python, "-c", "import sys; from modelyard.cli import main; sys.exit(main())"]


def _modelyard_has_flag(python: str, flag: str) -> bool:
    try:
        out = subprocess.run(
            [*modelyard_command(python), "server", "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            env=quiet_env(),
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return flag in out


def start_modelyard(db_path: Path, workdir: Path, python: str = sys.executable) -> Server:
    """Start `modelyard server` on a SQLite file and wait until it listens."""
    port = free_port()
    cmd = [
        *modelyard_command(python),
        "server",
        "--backend-store-uri",
        f"sqlite:///{db_path}",
        "--host",
        HOST,
        "--port",
        str(port),
    ]
    extra: list[int] = []
    if _modelyard_has_flag(python, "--http-port"):
        http_port = free_port()
        extra.append(http_port)
        cmd += ["--http-port", str(http_port)]
    artifacts_dir = None
    if _modelyard_has_flag(python, "--artifacts-destination"):
        artifacts_dir = workdir / "artifacts"
        cmd += ["--artifacts-destination", str(artifacts_dir)]
    proc, log_path = _spawn(cmd, workdir, "modelyard-server.log", quiet_env())
    server = Server(
        "modelyard", proc, port, f"grpc://{HOST}:{port}", workdir, log_path, "modelyard", extra
    )
    server.artifacts_dir = artifacts_dir
    _wait_ready(server, http_health=False)
    server.settle_s = wait_idle(proc.pid)
    return server


def start_mlflow(db_path: Path, workdir: Path, venv_python: str, workers: int = 1) -> Server:
    """Start `mlflow server` (SQLite backend, given worker count) and wait for /health."""
    port = free_port()
    mlflow_bin = Path(venv_python).parent / "mlflow"
    cmd = [
        str(mlflow_bin),
        "server",
        "--backend-store-uri",
        f"sqlite:///{db_path}",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--serve-artifacts",
        "--artifacts-destination",
        str(workdir / "mlartifacts"),
    ]
    proc, log_path = _spawn(cmd, workdir, f"mlflow-server-w{workers}.log", quiet_env())
    server = Server(
        "mlflow", proc, port, f"http://{HOST}:{port}", workdir, log_path, f"mlflow-w{workers}"
    )
    server.artifacts_dir = workdir / "mlartifacts"
    _wait_ready(server, http_health=True)
    server.settle_s = wait_idle(proc.pid)
    return server


def start_bare(root: Path, workdir: Path, python: str = sys.executable) -> Server:
    """Start the bare gRPC byte-stream server (bench/bare_stream.py) writing under root."""
    port = free_port()
    shim = workdir / "bare-shim"
    shim.mkdir(exist_ok=True)
    link = shim / "bench"
    if not link.exists():
        link.symlink_to(Path(__file__).resolve().parent, target_is_directory=True)
    cmd = [python, "-P", "-m", "bench.bare_stream", "serve", "--host", HOST, "--port", str(port)]
    cmd += ["--root", str(root)]
    proc, log_path = _spawn(cmd, workdir, "bare-stream.log", quiet_env({"PYTHONPATH": str(shim)}))
    server = Server("bare", proc, port, f"grpc://{HOST}:{port}", workdir, log_path, "bare-grpc")
    server.artifacts_dir = root
    _wait_ready(server, http_health=False)
    return server


def stop(server: Server, timeout: float = 15.0) -> None:
    """Stop a server's whole process group: SIGTERM, then SIGKILL after timeout."""
    if server.proc.poll() is None or _group_alive(server.proc.pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _group_alive(server.proc.pid):
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.proc.wait(timeout=0.2)
        if _group_alive(server.proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.proc.wait(timeout=5)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # zombies of our own child still count as "alive" for killpg; check the leader
    return any(_pgid_of(pid) == pgid and _state_of(pid) != "Z" for pid in _pids())


def _pids() -> list[int]:
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name may contain spaces; fields after the closing paren are stable
    return raw[raw.rfind(")") + 2 :].split()


def _pgid_of(pid: int) -> int | None:
    f = _stat_fields(pid)
    return int(f[2]) if f else None


def _state_of(pid: int) -> str | None:
    f = _stat_fields(pid)
    return f[0] if f else None


def process_tree(root: int) -> list[int]:
    """Return root and all its descendants (via /proc ppid links)."""
    children: dict[int, list[int]] = {}
    for pid in _pids():
        f = _stat_fields(pid)
        if f:
            children.setdefault(int(f[1]), []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _kb_field(path: str, name: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_memory(root: int) -> dict[str, int]:
    """RSS and PSS (bytes) summed over a process tree, and its process count."""
    pids = process_tree(root)
    rss = sum(_kb_field(f"/proc/{p}/status", "VmRSS") for p in pids)
    pss = sum(_kb_field(f"/proc/{p}/smaps_rollup", "Pss") for p in pids)
    return {"rss_bytes": rss, "pss_bytes": pss, "processes": len(pids)}


def tree_cpu_seconds(root: int) -> float:
    """User+system CPU seconds consumed so far by a process tree."""
    hz = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in process_tree(root):
        f = _stat_fields(pid)
        if f:
            total += int(f[11]) + int(f[12])
    return total / hz


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine since boot (all cores; /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def wait_idle(root: int, max_wait_s: float = 30.0, cpu_fraction: float = 0.05) -> float:
    """Wait until a process tree uses < cpu_fraction of a core over 1 s; return seconds waited."""
    t0 = time.monotonic()
    prev = tree_cpu_seconds(root)
    while time.monotonic() - t0 < max_wait_s:
        time.sleep(1.0)
        cur = tree_cpu_seconds(root)
        if cur - prev < cpu_fraction:
            break
        prev = cur
    return time.monotonic() - t0


class RssSampler(threading.Thread):
    """Samples the RSS of a process tree every `interval` s (the tree re-read every second)."""

    def __init__(self, root: int, interval: float = 0.05) -> None:
        """Sample the tree rooted at pid root."""
        super().__init__(daemon=True, name="rss-sampler")
        self.root = root
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        """Sample until stopped."""
        pids: list[int] = []
        next_tree = 0.0
        while not self._halt.is_set():
            now = time.monotonic()
            if now >= next_tree:
                pids = process_tree(self.root)
                next_tree = now + 1.0
            rss = sum(_kb_field(f"/proc/{p}/status", "VmRSS") for p in pids)
            if rss:
                self.samples.append((time.time(), rss))
            self._halt.wait(self.interval)

    def stop(self) -> list[tuple[float, int]]:
        """Stop sampling; return (unix time, RSS bytes) samples."""
        self._halt.set()
        self.join(timeout=5)
        return self.samples


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    """Context manager that stops the server on exit, whatever happens."""
    try:
        yield server
    finally:
        stop(server)
