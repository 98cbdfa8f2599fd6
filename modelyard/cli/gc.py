"""`modelyard gc`: permanently remove soft-deleted runs and experiments, with their artifacts.

What is removed: soft-deleted runs (their params, metrics, latest metrics, tags and artifact
folders) and soft-deleted experiments (all their runs, their tags and their artifact folder),
deleted longer ago than `--older-than` (default: any time). Then the partial uploads a killed
server left in `--artifacts-destination` are swept (older than an hour).

Order, so that a failure loses nothing and a re-run finishes the job: per run, the artifact
folder first, then the rows in one transaction; per experiment, its runs, then its folder,
then its row. A store that fails for one run keeps that run's rows (the next gc finds it
again) and gc goes on with the others; missing artifacts count as deleted.

Where artifacts are deleted, with gc's own credentials: `file:`/plain paths, `s3://`,
`wasbs://`, `wasb://`, `abfs://`, `abfss://`, `az://` through an ArtifactStore on the location;
`modelyard-artifacts:/<path>` under `--artifacts-destination` (the tracking server's
destination, required when such runs exist); `modelyard-artifacts://host:port/<path>` through
that server's ArtifactService (DeleteArtifacts).

Never deleted: anything that backs a registered model version (the run is skipped, and so is
its experiment's folder); an experiment folder another experiment or its runs also use; the
root of a store; an experiment folder whose location the user chose (its last segment is not
the experiment id) when files other than its runs' remain in it; and the Default experiment
(id 0) itself, which clients fall back to (its deleted runs are purged).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit, urlunsplit

import click

from modelyard.artifact_uris import PROXIED_SCHEME
from modelyard.cli.app import DomainError
from modelyard.errors import (
    ExperimentNotFound,
    FailedPrecondition,
    InvalidArgument,
    ModelyardError,
    RunNotFound,
)
from modelyard.validation import validate_experiment_id, validate_run_id

if TYPE_CHECKING:
    from modelyard.artifacts.filesystems import StorageOptions
    from modelyard.client.artifact_repos import ArtifactRepository
    from modelyard.stores import DeletedExperiment, DeletedRun, TrackingStore

_Deleted = TypeVar("_Deleted", "DeletedRun", "DeletedExperiment")

#: Partial uploads older than this are orphans of a killed upload or server.
PARTIAL_UPLOAD_MAX_AGE_S = 3600.0
#: Tracking URI schemes gc accepts: the database itself (never a server).
DATABASE_SCHEMES = frozenset({"sqlite", "postgresql", "postgres", "mysql", "mariadb"})
#: The Default experiment: clients fall back to it, so gc purges its runs but never its row.
DEFAULT_EXPERIMENT_ID = "0"
#: Schemes an ArtifactStore serves in gc's own process.
STORE_SCHEMES = frozenset({"", "file", "s3", "wasbs", "wasb", "abfs", "abfss", "az"})
#: Deadline of a remote ArtifactService call (deleting a big tree may take a while).
DELETE_RPC_TIMEOUT_S = 3600.0

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNIT_MS = (86_400_000, 3_600_000, 60_000, 1_000)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


def parse_duration_ms(text: str) -> int:
    """Milliseconds in a duration like 7d, 12h, 30m, 0s or 1d12h (units d, h, m, s)."""
    match = _DURATION.match(text.strip().lower())
    if not text.strip() or match is None:
        raise InvalidArgument(
            f"invalid duration {text!r}: expected numbers with units d, h, m, s "
            "(for example 7d, 12h, 30m, 0s or 1d12h)",
            duration=text,
        )
    return sum(int(n) * unit for n, unit in zip(match.groups(), _UNIT_MS, strict=True) if n)


def split_ids(text: str | None) -> list[str] | None:
    """Comma-separated ids as a list (None when the option was not given)."""
    if text is None:
        return None
    return list(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))


def now_ms() -> int:
    """The current time in milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


def _scheme(uri: str) -> str:
    if _WINDOWS_DRIVE.match(uri):
        return ""
    match = _SCHEME.match(uri)
    return match.group(1).lower() if match else ""


def needs_destination(uri: str) -> bool:
    """True for `modelyard-artifacts:/…` (no host): only the server's destination holds it."""
    return _scheme(uri) == PROXIED_SCHEME and not uri[len(PROXIED_SCHEME) + 1 :].startswith("//")


def run_folder_uri(run_id: str, artifact_uri: str) -> str:
    """The folder gc deletes for a run: `<location>/<run_id>` when the URI has the usual
    `<location>/<run_id>/artifacts` shape, else the artifact URI itself."""
    suffix = f"/{run_id}/artifacts"
    trimmed = artifact_uri.rstrip("/")
    return trimmed[: -len("/artifacts")] if trimmed.endswith(suffix) else artifact_uri


@dataclass(frozen=True, slots=True)
class ArtifactFolder:
    """One folder to delete: the store holding it and its path below that store's root."""

    uri: str
    """The folder as an artifact URI (what messages show)."""
    root: str
    """An ArtifactStore root URI, or grpc[s]://host:port for a remote ArtifactService."""
    path: str
    """Relative to `root`; never empty (a store root is never deleted)."""
    remote: bool = False


class StoreRoot(Exception):
    """The URI names the root of a store (a bucket, a container, "/"): gc never deletes one."""


class ArtifactFolders:
    """Finds artifact folders in their stores and deletes them, with gc's own credentials."""

    def __init__(
        self, *, destination: str | None, s3_endpoint_url: str | None, tls: bool = False
    ) -> None:
        """Stores come from `destination` (proxied URIs) and each URI; remotes over gRPC."""
        self.destination = destination
        self.s3_endpoint_url = s3_endpoint_url
        self.tls = tls
        self._repositories: dict[str, ArtifactRepository] = {}

    # -- resolution --------------------------------------------------------------------
    def folder(self, uri: str) -> ArtifactFolder:
        """Where the folder named by an artifact URI lives.

        Raises:
            StoreRoot: the URI is the root of its store.
            FailedPrecondition: a proxied URI and no --artifacts-destination.
            InvalidArgument: a malformed URI or an unsupported scheme, naming it.
        """
        scheme = _scheme(uri)
        if scheme == PROXIED_SCHEME:
            return self._proxied(uri)
        if scheme not in STORE_SCHEMES:
            raise InvalidArgument(
                f"cannot delete artifacts at {uri!r}: unsupported scheme {scheme!r} (gc deletes "
                "file, s3, wasbs, wasb, abfs, abfss, az and modelyard-artifacts URIs)",
                uri=uri,
            )
        if scheme == "":
            path = os.path.normpath(os.path.abspath(os.path.expanduser(uri)))
            parent, name = os.path.split(path)
            if not name:
                raise StoreRoot(uri)
            return ArtifactFolder(uri=uri, root=parent, path=name)
        parts = urlsplit(uri)
        if parts.query or parts.fragment:
            raise InvalidArgument(f"artifact URI {uri!r} has a query or fragment", uri=uri)
        segments = [s for s in parts.path.split("/") if s]
        if not segments or (scheme != "file" and not parts.netloc):
            raise StoreRoot(uri)
        parent_path = "/" + "/".join(segments[:-1]) if len(segments) > 1 else ""
        if scheme == "file":
            parent_path = parent_path or "/"
        parent = urlunsplit((parts.scheme, parts.netloc, parent_path, "", ""))
        return ArtifactFolder(uri=uri, root=parent, path=segments[-1])

    def _proxied(self, uri: str) -> ArtifactFolder:
        from modelyard.artifacts.locations import canonical_location

        location = canonical_location(uri)
        if not location.segments:
            raise StoreRoot(uri)
        path = "/".join(location.segments)
        (authority,) = location.authority
        if authority:
            scheme = "grpcs" if self.tls else "grpc"
            return ArtifactFolder(uri=uri, root=f"{scheme}://{authority}", path=path, remote=True)
        if not self.destination:
            raise FailedPrecondition(
                f"artifacts at {uri!r} live in the tracking server's artifact destination: "
                "pass --artifacts-destination (the server's --artifacts-destination)",
                uri=uri,
            )
        return ArtifactFolder(uri=uri, root=self.destination, path=path)

    def equivalents(self, uri: str) -> list[str]:
        """The URI and, for `modelyard-artifacts:/<p>`, the same place under the destination."""
        if not (self.destination and needs_destination(uri)):
            return [uri]
        from modelyard.artifact_uris import join_artifact_uri

        path = uri[len(PROXIED_SCHEME) + 1 :].strip("/")
        return [uri, join_artifact_uri(self.destination, path)]

    # -- operations --------------------------------------------------------------------
    def exists(self, folder: ArtifactFolder) -> bool:
        """True when anything is at the folder's path."""
        return self._repository(folder).stat(folder.path) is not None

    def is_empty(self, folder: ArtifactFolder) -> bool:
        """True when the folder holds no file (empty subfolders do not count)."""
        entries = self._repository(folder).list(folder.path, recursive=True)
        return not any(not e.is_dir for e in entries)

    def delete(self, folder: ArtifactFolder) -> None:
        """Delete the folder and everything below it; a missing folder is fine."""
        self._repository(folder).delete(folder.path)

    def sweep_destination(self) -> int:
        """Remove partial uploads older than an hour from the destination; return how many."""
        if not self.destination:
            return 0
        from modelyard.artifacts.store import ArtifactStore

        return ArtifactStore(self.destination, self._options()).sweep(PARTIAL_UPLOAD_MAX_AGE_S)

    def close(self) -> None:
        """Forget the repositories opened here."""
        self._repositories.clear()

    def _options(self) -> StorageOptions:
        from modelyard.artifacts.filesystems import StorageOptions

        return StorageOptions(s3_endpoint_url=self.s3_endpoint_url)

    def _repository(self, folder: ArtifactFolder) -> ArtifactRepository:
        """The client's repository for the folder's root: a store, or a remote ArtifactService."""
        repository = self._repositories.get(folder.root)
        if repository is None:
            if folder.remote:
                from dataclasses import replace

                from modelyard.client.artifact_repos import ProxiedRepository
                from modelyard.config import client_config

                authority = folder.root.partition("://")[2]
                repository = ProxiedRepository(
                    f"{PROXIED_SCHEME}://{authority}/",
                    tracking_uri=folder.root,
                    # deleting a large tree may take long; UNAVAILABLE is retried
                    config=replace(client_config(), grpc_timeout=DELETE_RPC_TIMEOUT_S),
                )
            else:
                from modelyard.client.artifact_repos import StoreRepository

                repository = StoreRepository(folder.root, self._options())
            self._repositories[folder.root] = repository
        return repository


@dataclass
class Summary:
    """What one gc pass did (or, in a dry run, would do)."""

    runs: int = 0
    experiments: int = 0
    folders: int = 0
    swept: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)

    def line(self, *, dry_run: bool, swept: bool) -> str:
        """The one-line summary gc prints last."""
        verb = "would remove" if dry_run else "removed"
        text = (
            f"gc{' (dry run)' if dry_run else ''}: {verb} {_n(self.runs, 'run')}, "
            f"{_n(self.experiments, 'experiment')}, {_n(self.folders, 'artifact folder')}"
        )
        if swept and not dry_run:
            text += f"; swept {_n(self.swept, 'partial upload')}"
        if self.skipped:
            text += f"; kept {self.skipped} (see above)"
        if self.failures:
            text += f"; {_n(len(self.failures), 'failure')}: re-run gc to retry"
        return text


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _valid(check: Callable[[str], object], value: str) -> bool:
    """Whether `check` accepts the value (a malformed id is simply unknown to gc)."""
    try:
        check(value)
    except InvalidArgument:
        return False
    return True


def _is_protected(uris: Sequence[str], protected: frozenset[str]) -> str | None:
    """The protected URI overlapping any of `uris`, or None (see purge.is_protected)."""
    from modelyard.registry.tracking.purge import is_protected

    return is_protected(uris, protected)


def _error_text(exc: BaseException) -> str:
    message = exc.message if isinstance(exc, ModelyardError) else str(exc)
    return f"{type(exc).__name__}: {message}"


class GarbageCollector:
    """One gc pass over a tracking store and the artifact stores its runs point at."""

    def __init__(
        self,
        store: TrackingStore,
        folders: ArtifactFolders,
        *,
        dry_run: bool = False,
        echo: Callable[[str], None] = click.echo,
        warn: Callable[[str], None] = lambda text: click.echo(text, err=True),
    ) -> None:
        """Collect with `store` (validated) and `folders`; report through echo and warn."""
        self.store = store
        self.folders = folders
        self.dry_run = dry_run
        self.echo = echo
        self.warn = warn
        self.summary = Summary()
        self.protected: frozenset[str] = frozenset()

    # -- planning ----------------------------------------------------------------------
    def plan(
        self,
        *,
        deleted_before: int | None,
        run_ids: Sequence[str] | None,
        experiment_ids: Sequence[str] | None,
    ) -> tuple[list[DeletedRun], list[tuple[DeletedExperiment, list[DeletedRun]]]]:
        """The runs to purge on their own, and the experiments to purge with all their runs.

        Raises:
            FailedPrecondition: a named run or experiment is not deleted (or deleted too
                recently), or proxied artifacts need --artifacts-destination. Nothing has
                been removed then.
        """
        refused: list[str] = []
        if run_ids is None and experiment_ids is None:
            runs = self.store.list_deleted_runs(deleted_before=deleted_before)
            experiments = self.store.list_deleted_experiments(deleted_before=deleted_before)
        else:
            runs = self._named_runs(run_ids or [], deleted_before, refused)
            experiments = self._named_experiments(experiment_ids or [], deleted_before, refused)
        if refused:
            raise FailedPrecondition(
                "refusing to purge, nothing was removed: " + "; ".join(refused),
                refused="; ".join(refused),
            )
        exp_runs: dict[str, list[DeletedRun]] = {e.experiment_id: [] for e in experiments}
        if experiments:
            for run in self.store.list_deleted_runs(experiment_ids=list(exp_runs)):
                exp_runs[run.experiment_id].append(run)
        standalone = [r for r in runs if r.experiment_id not in exp_runs]
        grouped = [(e, exp_runs[e.experiment_id]) for e in experiments]
        self._check_destination(standalone, grouped)
        return standalone, grouped

    def _named_runs(
        self, run_ids: Sequence[str], deleted_before: int | None, refused: list[str]
    ) -> list[DeletedRun]:
        valid = [r for r in run_ids if _valid(validate_run_id, r)]
        found = {r.run_id: r for r in self.store.list_deleted_runs(run_ids=valid)} if valid else {}
        return self._select_named(
            "run", run_ids, valid, found, self.store.get_run, RunNotFound, deleted_before, refused
        )

    def _named_experiments(
        self, experiment_ids: Sequence[str], deleted_before: int | None, refused: list[str]
    ) -> list[DeletedExperiment]:
        valid = [e for e in experiment_ids if _valid(validate_experiment_id, e)]
        found = (
            {e.experiment_id: e for e in self.store.list_deleted_experiments(experiment_ids=valid)}
            if valid
            else {}
        )
        return self._select_named(
            "experiment",
            experiment_ids,
            valid,
            found,
            self.store.get_experiment,
            ExperimentNotFound,
            deleted_before,
            refused,
        )

    def _select_named(
        self,
        noun: str,
        ids: Sequence[str],
        valid: Sequence[str],
        found: dict[str, _Deleted],
        get: Callable[[str], object],
        not_found: type[Exception],
        deleted_before: int | None,
        refused: list[str],
    ) -> list[_Deleted]:
        """The named items that are deleted long enough; the others warned about or refused."""
        unknown: list[str] = []
        active: list[str] = []
        recent: list[str] = []
        for item_id in ids:
            item = found.get(item_id)
            if item is not None:
                deleted_time = item.deleted_time
                if deleted_before is not None and (
                    deleted_time is None or deleted_time > deleted_before
                ):
                    recent.append(item_id)
            elif item_id not in valid:
                unknown.append(item_id)
            else:
                try:
                    get(item_id)
                except not_found:
                    unknown.append(item_id)
                else:
                    active.append(item_id)
        if unknown:
            self.warn(f"gc: unknown {noun} id(s), ignored (already purged?): {', '.join(unknown)}")
        if active:
            refused.append(f"{noun}(s) not deleted: {', '.join(active)}")
        if recent:
            refused.append(f"{noun}(s) deleted too recently for --older-than: {', '.join(recent)}")
        return [found[i] for i in ids if i in found and i not in recent]

    def _check_destination(
        self,
        runs: Sequence[DeletedRun],
        experiments: Sequence[tuple[DeletedExperiment, list[DeletedRun]]],
    ) -> None:
        if self.folders.destination:
            return
        uris = [r.artifact_uri for r in runs]
        for experiment, exp_runs in experiments:
            uris.append(experiment.artifact_location)
            uris.extend(r.artifact_uri for r in exp_runs)
        proxied = [u for u in uris if needs_destination(u)]
        if proxied:
            raise FailedPrecondition(
                f"{len(proxied)} artifact location(s) to delete are on the tracking server's "
                f"artifact destination (for example {proxied[0]!r}): pass "
                "--artifacts-destination with the server's --artifacts-destination; "
                "nothing was removed",
                uri=proxied[0],
            )

    # -- collecting --------------------------------------------------------------------
    def collect(
        self,
        runs: Sequence[DeletedRun],
        experiments: Sequence[tuple[DeletedExperiment, list[DeletedRun]]],
        *,
        sweep: bool,
    ) -> Summary:
        """Purge the runs, then the experiments, then sweep the destination; return the summary."""
        self.protected = self.store.protected_artifact_uris()
        for run in runs:
            self.collect_run(run)
        for experiment, exp_runs in experiments:
            self.collect_experiment(experiment, exp_runs)
        if sweep and self.folders.destination and not self.dry_run:
            try:
                self.summary.swept = self.folders.sweep_destination()
            except Exception as exc:
                self._fail(
                    f"sweeping partial uploads of {self.folders.destination!r} failed: "
                    f"{_error_text(exc)}"
                )
        return self.summary

    def _fail(self, text: str) -> None:
        self.summary.failures.append(text)
        self.warn(f"gc: {text}")

    def _count_folder(self, folder: ArtifactFolder) -> bool:
        """Whether the folder exists (a failed check counts as absent, with a warning)."""
        try:
            return self.folders.exists(folder)
        except Exception as exc:
            self.warn(f"gc: cannot check {folder.uri!r}: {_error_text(exc)}")
            return False

    def _delete_folder(self, folder: ArtifactFolder, label: str, kept: str) -> bool:
        """Delete a folder, counting it when it existed; False (a failure noted) on error."""
        try:
            existed = self.folders.exists(folder)
            self.folders.delete(folder)
        except Exception as exc:
            self._fail(
                f"{label}: deleting artifacts at {folder.uri!r} failed: {_error_text(exc)}; {kept}"
            )
            return False
        if existed:
            self.summary.folders += 1
        return True

    def collect_run(self, run: DeletedRun) -> bool:
        """Purge one run, artifacts first; True when its rows are gone (or would be)."""
        label = f"run {run.run_id} (experiment {run.experiment_id})"
        folder_uri = run_folder_uri(run.run_id, run.artifact_uri)
        candidates = [
            *self.folders.equivalents(run.artifact_uri),
            *self.folders.equivalents(folder_uri),
            f"runs:/{run.run_id}",
        ]
        protector = _is_protected(candidates, self.protected)
        if protector is not None:
            self.summary.skipped += 1
            self.echo(f"{label}: kept, its artifacts back a model version ({protector})")
            return False
        try:
            folder: ArtifactFolder | None = self.folders.folder(folder_uri)
        except StoreRoot:
            folder = None
            self.warn(f"gc: {label}: {folder_uri!r} is the root of its store; not deleting it")
        except ModelyardError as exc:
            self._fail(f"{label}: cannot delete its artifacts: {_error_text(exc)}; rows kept")
            return False
        if self.dry_run:
            if folder is not None and self._count_folder(folder):
                self.summary.folders += 1
            self.summary.runs += 1
            self.echo(f"{label}: would remove, with artifacts at {folder_uri}")
            return True
        if not self.store.list_deleted_runs(run_ids=[run.run_id]):
            try:
                self.store.get_run(run.run_id)
            except RunNotFound:
                return True  # purged meanwhile (another gc)
            self.summary.skipped += 1
            self.echo(f"{label}: kept, it was restored")
            return False
        if folder is not None and not self._delete_folder(folder, label, "its rows are kept"):
            return False
        try:
            purged = self.store.purge_run(run.run_id)
        except ModelyardError as exc:
            self._fail(f"{label}: artifacts deleted, removing its rows failed: {_error_text(exc)}")
            return False
        if purged:
            self.summary.runs += 1
            self.echo(f"{label}: removed, with artifacts at {folder_uri}")
        else:
            self.summary.skipped += 1
            self.echo(f"{label}: rows kept, it was restored while gc ran")
        return purged

    def collect_experiment(self, experiment: DeletedExperiment, runs: Sequence[DeletedRun]) -> None:
        """Purge an experiment: its runs, then its artifact folder, then its row."""
        label = f"experiment {experiment.experiment_id} ({experiment.name!r})"
        location = experiment.artifact_location
        results = [self.collect_run(run) for run in runs]
        if experiment.experiment_id == DEFAULT_EXPERIMENT_ID:
            self.summary.skipped += 1
            self.echo(f"{label}: kept, the Default experiment is never purged (its runs are)")
            return
        protector = _is_protected(self.folders.equivalents(location), self.protected)
        if protector is not None:
            self.summary.skipped += 1
            self.echo(f"{label}: kept, its artifacts back a model version ({protector})")
            return
        if not all(results):
            self.summary.skipped += 1
            kept = len(results) - sum(results)
            self.echo(f"{label}: kept, {kept} of its runs remain")
            return
        if not self.dry_run and not self.store.list_deleted_experiments(
            experiment_ids=[experiment.experiment_id]
        ):
            return  # purged or restored meanwhile
        try:
            folder = self._experiment_folder(experiment, label)
        except ModelyardError as exc:
            self._fail(f"{label}: cannot delete its artifacts: {_error_text(exc)}; row kept")
            return
        if self.dry_run:
            if folder is not None and self._count_folder(folder):
                self.summary.folders += 1
            self.summary.experiments += 1
            self.echo(f"{label}: would remove, with artifacts at {location}")
            return
        if folder is not None and not self._delete_folder(folder, label, "its row is kept"):
            return
        try:
            purged = self.store.purge_experiment(experiment.experiment_id)
        except ModelyardError as exc:
            self._fail(f"{label}: removing its row failed: {_error_text(exc)}")
            return
        if purged:
            self.summary.experiments += 1
            self.echo(f"{label}: removed, with artifacts at {location}")

    def _experiment_folder(
        self, experiment: DeletedExperiment, label: str
    ) -> ArtifactFolder | None:
        """The experiment's folder when gc may delete it, else None (with the reason shown)."""
        location = experiment.artifact_location
        if self.store.artifact_location_in_use(location, experiment_id=experiment.experiment_id):
            self.echo(f"{label}: artifact folder {location} kept, other experiments use it")
            return None
        try:
            folder = self.folders.folder(location)
        except StoreRoot:
            self.echo(f"{label}: artifact folder {location} kept, it is the root of its store")
            return None
        if folder.path.rsplit("/", 1)[-1] == experiment.experiment_id:
            return folder
        # A location the user chose: delete it only when nothing but its runs' folders was there.
        if self.dry_run:
            return None
        try:
            empty = self.folders.is_empty(folder)
        except Exception as exc:
            self.warn(f"gc: {label}: cannot list {location!r}: {_error_text(exc)}; folder kept")
            return None
        if not empty:
            self.echo(f"{label}: artifact folder {location} kept, it holds other files")
            return None
        return folder


def _check_database_uri(uri: str) -> None:
    """Refuse anything but an existing database (gc never talks to a server or makes a DB)."""
    from modelyard.registry.engine import normalize_url, sqlite_file
    from modelyard.store_registry import uri_scheme

    if uri_scheme(uri) not in DATABASE_SCHEMES:
        raise InvalidArgument(
            f"gc needs the database itself, got {uri!r}: pass the server's --backend-store-uri "
            "(sqlite:///…, postgresql://…, mysql://…)",
            uri=uri,
        )
    url = normalize_url(uri)
    path = sqlite_file(url)
    if url.get_backend_name() == "sqlite" and path is not None and not path.exists():
        raise InvalidArgument(f"no SQLite database at {str(path)!r}", uri=uri)


def run_gc(
    *,
    backend_store_uri: str,
    older_than: str | None = None,
    run_ids: str | None = None,
    experiment_ids: str | None = None,
    artifacts_destination: str | None = None,
    s3_endpoint_url: str | None = None,
    artifacts_tls: bool = False,
    dry_run: bool = False,
    echo: Callable[[str], None] = click.echo,
    warn: Callable[[str], None] = lambda text: click.echo(text, err=True),
) -> Summary:
    """One gc pass with the command's options; prints progress and returns the summary."""
    from modelyard.store_registry import tracking_store_for_uri

    older_ms = parse_duration_ms(older_than) if older_than is not None else 0
    deleted_before = now_ms() - older_ms if older_ms else None
    _check_database_uri(backend_store_uri)
    store = tracking_store_for_uri(backend_store_uri)
    folders = ArtifactFolders(
        destination=artifacts_destination, s3_endpoint_url=s3_endpoint_url, tls=artifacts_tls
    )
    try:
        collector = GarbageCollector(store, folders, dry_run=dry_run, echo=echo, warn=warn)
        runs, experiments = collector.plan(
            deleted_before=deleted_before,
            run_ids=split_ids(run_ids),
            experiment_ids=split_ids(experiment_ids),
        )
        summary = collector.collect(runs, experiments, sweep=True)
    finally:
        folders.close()
        store.close()
    echo(summary.line(dry_run=dry_run, swept=bool(artifacts_destination)))
    return summary


@click.command("gc")
@click.option(
    "--backend-store-uri",
    required=True,
    help="The tracking database (the server's --backend-store-uri).",
)
@click.option(
    "--older-than",
    default=None,
    help="Only what was deleted longer ago than this: 7d, 12h, 30m, 0s, 1d12h "
    "[default: everything deleted].",
)
@click.option("--run-ids", default=None, help="Comma-separated runs to purge (must be deleted).")
@click.option(
    "--experiment-ids",
    default=None,
    help="Comma-separated experiments to purge with all their runs (must be deleted).",
)
@click.option(
    "--artifacts-destination",
    default=None,
    help="The server's --artifacts-destination; needed for modelyard-artifacts:/ URIs.",
)
@click.option(
    "--s3-endpoint-url",
    default=None,
    envvar="MODELYARD_S3_ENDPOINT_URL",
    help="S3-compatible endpoint (MinIO, moto) [env: MODELYARD_S3_ENDPOINT_URL].",
)
@click.option(
    "--artifacts-tls/--no-artifacts-tls",
    default=False,
    show_default=True,
    help="Use TLS for modelyard-artifacts://host:port servers (CA: MODELYARD_TLS_CA_FILE).",
)
@click.option("--dry-run", is_flag=True, help="Show what would be removed; remove nothing.")
def gc_command(
    backend_store_uri: str,
    older_than: str | None,
    run_ids: str | None,
    experiment_ids: str | None,
    artifacts_destination: str | None,
    s3_endpoint_url: str | None,
    artifacts_tls: bool,
    dry_run: bool,
) -> None:
    """Permanently remove deleted runs and experiments with their artifacts (safe to re-run)."""
    try:
        summary = run_gc(
            backend_store_uri=backend_store_uri,
            older_than=older_than,
            run_ids=run_ids,
            experiment_ids=experiment_ids,
            artifacts_destination=artifacts_destination,
            s3_endpoint_url=s3_endpoint_url,
            artifacts_tls=artifacts_tls,
            dry_run=dry_run,
        )
    except ModelyardError as exc:
        raise DomainError(exc) from exc  # exit status by EXIT_CODES, as every command
    if summary.failures:
        raise SystemExit(1)
