"""System tags a new fluent run gets: who started it, from which source, at which git commit.

Tag names are MLflow's (`mlflow.user`, `mlflow.source.*`), so queries in ported scripts keep
working. Git details come from the `git` command line (short timeout, no GitPython); when git
is missing, slow or the script is not in a checkout, the git tags are simply left out.
"""

from __future__ import annotations

import functools
import getpass
import os
import subprocess
import sys
from collections.abc import Mapping

from modelyard.config import client_config

USER = "mlflow.user"
SOURCE_NAME = "mlflow.source.name"
SOURCE_TYPE = "mlflow.source.type"
GIT_COMMIT = "mlflow.source.git.commit"
GIT_BRANCH = "mlflow.source.git.branch"
GIT_REPO_URL = "mlflow.source.git.repoURL"
RUN_NAME = "mlflow.runName"
PARENT_RUN_ID = "mlflow.parentRunId"
NOTE_CONTENT = "mlflow.note.content"

GIT_TIMEOUT_SECONDS = 2.0


def current_user() -> str:
    """MODELYARD_TRACKING_USERNAME, else the OS user, else "unknown"."""
    configured = client_config().username
    if configured:
        return configured
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry, no USER variable (containers)
        return "unknown"


def source_name() -> str:
    """The script that is running (sys.argv[0]), or "<console>" in an interactive session."""
    argv = getattr(sys, "argv", None) or [""]
    return argv[0] or "<console>"


def _git(directory: str, *args: str) -> str | None:
    try:
        proc = subprocess.run(
            ["git", "-C", directory, *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.strip() or None


@functools.lru_cache(maxsize=32)
def git_tags(directory: str) -> dict[str, str]:
    """Commit, branch and origin URL of the git checkout holding `directory` ({} if none)."""
    out = _git(directory, "rev-parse", "HEAD", "--abbrev-ref", "HEAD")
    if out is None:
        return {}
    lines = out.splitlines()
    tags = {GIT_COMMIT: lines[0]}
    if len(lines) > 1 and lines[1] != "HEAD":  # "HEAD" means a detached head: no branch
        tags[GIT_BRANCH] = lines[1]
    url = _git(directory, "config", "--get", "remote.origin.url")
    if url:
        tags[GIT_REPO_URL] = url
    return tags


def _script_directory(source: str) -> str | None:
    if source.startswith("<") or source == "-c":
        return None
    path = os.path.abspath(source)
    if os.path.isfile(path):
        return os.path.dirname(path)
    return None


def context_tags() -> dict[str, str]:
    """The system tags for a new run started from this process."""
    source = source_name()
    tags = {USER: current_user(), SOURCE_NAME: source, SOURCE_TYPE: "LOCAL"}
    directory = _script_directory(source)
    if directory is not None:
        tags.update(git_tags(directory))
    return tags


def resolve_tags(user_tags: Mapping[str, object] | None = None) -> dict[str, str]:
    """System tags with the user's tags merged on top (the user's win), values as strings."""
    tags = context_tags()
    for key, value in (user_tags or {}).items():
        tags[key] = str(value)
    return tags
