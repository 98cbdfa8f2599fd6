"""Where a model version's files may come from, and reading them: the ModelSourceInspector.

`check` is pure policy (it may resolve local symlinks, it never writes): a source is parsed
strictly (the rules of `modelyard.artifacts.locations`, plus local paths and `file:` URIs,
which only a run's own local artifact root or an operator's root can make acceptable) and
compared segment by segment, on canonical forms, with the run's artifact URI or with the
operator's allowed model-source roots. So a version can never point at another run's
artifacts, at the server's own destination addressed as a file path, or anywhere else the
operator did not allow.

`inspect` lists every file at the storage location and hashes it while streaming (one chunk
in memory at a time): through the server's destination ArtifactStore for the proxied scheme
(`modelyard-artifacts:/...`), through the ArtifactService of a separate artifact server for
`modelyard-artifacts://host:port/...` (split deployments; the host comes from a run's
artifact URI or an operator's root, both vetted by the operator's policies), and through an
fsspec ArtifactStore for `s3://`, Azure and local paths. It reads the signature and the input
example's path from the `MLmodel` file (`yaml.safe_load` only).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import grpc
import yaml

from modelyard.artifact_uris import PROXIED_SCHEME
from modelyard.artifacts.filesystems import StorageOptions
from modelyard.artifacts.locations import CanonicalLocation, canonical_location, path_segments
from modelyard.artifacts.paths import clean_path
from modelyard.artifacts.store import CHUNK_SIZE, ArtifactEntry, ArtifactStore
from modelyard.entities.model_registry import ModelFile, SignatureMetadata, SourceInspection
from modelyard.errors import (
    FailedPrecondition,
    InvalidArgument,
    ModelyardError,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
)
from modelyard.models.mlmodel import safe_yaml_load
from modelyard.stores import StoreOptions
from modelyard.v1 import artifacts_pb2 as apb
from modelyard.v1 import artifacts_pb2_grpc as apb_grpc
from modelyard.wire.status import error_from_rpc

#: The family name of local paths and `file:` URIs (not a family clients may use for
#: experiment locations; model sources accept it only under a run or an operator's root).
LOCAL_FAMILY = "file"
#: The model descriptor read at registration.
MLMODEL_FILE = "MLmodel"
#: Largest MLmodel file parsed (it holds the signature, never the model itself).
MAX_MLMODEL_BYTES = 16 * 1024 * 1024
#: Most files one version may record.
MAX_FILES = 100_000
#: Deadline of one metadata call to a separate artifact server (seconds).
REMOTE_CALL_TIMEOUT_S = 60.0
#: Deadline of one file download from a separate artifact server (seconds).
REMOTE_DOWNLOAD_TIMEOUT_S = 3600.0

#: "host:port" -> a channel to that artifact server.
ChannelFactory = Callable[[str], grpc.Channel]


def insecure_artifact_channel(address: str) -> grpc.Channel:
    """A plaintext channel to a separate artifact server (the default)."""
    return grpc.insecure_channel(address)


class _Tree(Protocol):
    """What inspect needs of a store: stat, recursive listing, chunked reads."""

    def stat(self, path: str) -> ArtifactEntry | None: ...

    def list(self, path: str = "", recursive: bool = False) -> list[ArtifactEntry]: ...

    def read(self, path: str, offset: int = 0, chunk_size: int = CHUNK_SIZE) -> Any: ...


def _invalid(source: str, why: str) -> InvalidArgument:
    return InvalidArgument(f"invalid model version source {source!r}: {why}", source=source)


def _is_local_text(text: str) -> bool:
    """True for plain paths and file: URIs (what canonical_location refuses as local)."""
    lowered = text[:5].lower()
    if lowered.startswith("file:"):
        return True
    head, sep, _ = text.partition(":")
    # No scheme at all, or a one-letter "scheme" (a Windows drive letter).
    return not sep or len(head) <= 1 or "/" in head


def _local_segments(source: str, path: str) -> tuple[str, ...]:
    """Checked segments of an absolute local path (after the character checks)."""
    if not path.startswith("/"):
        raise _invalid(source, "a local path must be absolute")
    return path_segments(source, path, _invalid)


def _parse_local(source: str) -> CanonicalLocation:
    """A local path or file: URI as a canonical location of the "file" family."""
    if len(source) >= 2 and source[1] == ":" and source[0].isalpha():
        raise _invalid(source, "Windows drive paths are not supported")
    if source[:5].lower() == "file:":
        rest = source[5:]
        if rest.startswith("//"):
            authority, slash, path = rest[2:].partition("/")
            if authority not in ("", "localhost"):
                raise _invalid(source, f"a file: URI must not name a host ({authority!r})")
            path = slash + path
        else:
            path = rest
        if not path.startswith("/"):
            raise _invalid(source, "a file: URI needs an absolute path (file:///...)")
    else:
        path = source
        if not path.startswith("/"):
            # A relative path means the working directory of whoever checks it.
            _local_segments(source, "/" + path)  # same segment rules before resolving
            path = os.path.abspath(path)
    return CanonicalLocation(LOCAL_FAMILY, ("",), _local_segments(source, path))


def parse_source(source: str) -> CanonicalLocation:
    """Parse a (resolved) model source or root strictly into its canonical form.

    Raises:
        InvalidArgument: malformed (traversal, query, fragment, userinfo, port, encoding...),
            naming the source.
        PermissionDenied: a scheme that can never hold a model (http:, ftp:, ...).
    """
    if not isinstance(source, str) or not source:
        raise InvalidArgument(
            f"invalid model version source {source!r}: expected a non-empty URI", source=source
        )
    try:
        return canonical_location(source)
    except InvalidArgument as exc:
        why = exc.message
        inner = f"invalid artifact location {source!r}: "
        if why.startswith(inner):
            why = why[len(inner) :]
        raise InvalidArgument(
            f"invalid model version source {source!r}: {why}", source=source
        ) from None
    except PermissionDenied as exc:
        if not _is_local_text(source):
            raise PermissionDenied(
                f"model version source {source!r} uses a scheme that cannot hold models "
                f"({exc.message})",
                source=source,
            ) from None
    return _parse_local(source)


def storage_uri(source: str, canon: CanonicalLocation) -> str:
    """The canonical URI of a parsed location: lower-case scheme, no trailing '/'."""
    tail = "/".join(canon.segments)
    if canon.family == LOCAL_FAMILY:
        return "file:///" + tail
    if canon.family == PROXIED_SCHEME:
        host = canon.authority[0]
        return f"{PROXIED_SCHEME}://{host}/{tail}" if host else f"{PROXIED_SCHEME}:/{tail}"
    scheme, _, rest = source.partition(":")
    authority = rest[2:].partition("/")[0]
    if canon.family == "azure":
        authority = authority.lower()
    uri = f"{scheme.lower()}://{authority}"
    return f"{uri}/{tail}" if tail else uri


def _local_path(canon: CanonicalLocation) -> str:
    return "/" + "/".join(canon.segments)


def _real_under(path: str, root: str) -> bool:
    """True when the real path of `path` is `root`'s real path or inside it."""
    real, real_root = os.path.realpath(path), os.path.realpath(root)
    return real == real_root or os.path.commonpath([real_root, real]) == real_root


@dataclass(frozen=True, slots=True)
class _Root:
    text: str
    canon: CanonicalLocation


class FsspecSourceInspector:
    """ModelSourceInspector over the artifact stores (fsspec) and a server's destination."""

    def __init__(
        self,
        *,
        destination: ArtifactStore | None = None,
        allowed_roots: Iterable[str] = (),
        storage_options: StorageOptions | None = None,
        artifact_channel: ChannelFactory = insecure_artifact_channel,
    ) -> None:
        """Build the inspector.

        Args:
            destination: the server's own ArtifactStore (serves `modelyard-artifacts:/`
                sources); None in embedded mode and with --no-serve-artifacts.
            allowed_roots: where a version may come from without a run (operator's roots).
            storage_options: endpoint overrides for s3:// sources.
            artifact_channel: opens a channel to a separate artifact server ("host:port").

        Raises:
            InvalidArgument, PermissionDenied: an allowed root is malformed.
        """
        self.destination = destination
        self.storage_options = storage_options or StorageOptions()
        self.artifact_channel = artifact_channel
        self._roots = [_Root(root, parse_source(root)) for root in allowed_roots]
        self._destination_path: str | None = None
        if destination is not None and destination.is_local:
            self._destination_path = destination.root

    @property
    def allowed_roots(self) -> tuple[str, ...]:
        """The allowed model-source roots, as given."""
        return tuple(root.text for root in self._roots)

    # -- policy --------------------------------------------------------------------------
    def check(self, source: str, *, run_artifact_uri: str | None) -> str:
        """Return the canonical storage location of `source`, or raise; writes nothing."""
        canon = parse_source(source)
        if canon.family == PROXIED_SCHEME and not canon.authority[0] and self.destination is None:
            raise InvalidArgument(
                f"model version source {source!r} uses the proxied scheme, but this server "
                "has no artifact destination (it runs with --no-serve-artifacts or embedded)",
                source=source,
            )
        self._refuse_destination_path(source, canon)
        if run_artifact_uri:
            self._check_under_run(source, canon, run_artifact_uri)
        else:
            self._check_allowed(source, canon)
        return storage_uri(source, canon)

    def _refuse_destination_path(self, source: str, canon: CanonicalLocation) -> None:
        """A local source inside the server's own local destination is never accepted."""
        dest = self._destination_path
        if dest is None or canon.family != LOCAL_FAMILY:
            return
        path = _local_path(canon)
        dest_canon = _parse_local(dest)
        if canon.is_under(dest_canon) or _real_under(path, dest):
            raise PermissionDenied(
                f"model version source {source!r} addresses the server's artifact destination "
                f"as a file path; register it as {PROXIED_SCHEME}:/<path> from its run instead",
                source=source,
            )

    def _check_under_run(self, source: str, canon: CanonicalLocation, run_uri: str) -> None:
        try:
            run_canon = parse_source(run_uri)
        except ModelyardError:
            raise PermissionDenied(
                f"model version source {source!r}: the run's artifact location {run_uri!r} "
                "cannot hold registered models",
                source=source,
                run_artifact_uri=run_uri,
            ) from None
        inside = canon.is_under(run_canon)
        if inside and canon.family == LOCAL_FAMILY:
            # Also compare real paths: a symlink in the run's folder must not lead elsewhere.
            inside = _real_under(_local_path(canon), _local_path(run_canon))
        if not inside:
            raise PermissionDenied(
                f"model version source {source!r} is not inside the artifact root of its run "
                f"({run_uri!r}); a version may only point at its own run's artifacts",
                source=source,
                run_artifact_uri=run_uri,
            )

    def _check_allowed(self, source: str, canon: CanonicalLocation) -> None:
        for root in self._roots:
            if canon.is_under(root.canon) and (
                canon.family != LOCAL_FAMILY
                or _real_under(_local_path(canon), _local_path(root.canon))
            ):
                return
        allowed = ", ".join(self.allowed_roots) or "none"
        raise PermissionDenied(
            f"model version source {source!r} has no run and is not under an allowed "
            f"model-source root (allowed: {allowed}; the operator adds roots with "
            "--allowed-model-sources)",
            source=source,
            allowed_roots=allowed,
        )

    def is_local(self, storage_location: str) -> bool:
        """True when the location is a local path."""
        try:
            return parse_source(storage_location).family == LOCAL_FAMILY
        except ModelyardError:
            return False

    # -- reading -------------------------------------------------------------------------
    def inspect(self, storage_location: str) -> SourceInspection:
        """List and hash every file under `storage_location`; read its MLmodel if any."""
        canon = parse_source(storage_location)
        if canon.family == PROXIED_SCHEME and canon.authority[0]:
            channel = self.artifact_channel(canon.authority[0])
            try:
                remote = _RemoteTree(storage_location, channel)
                return _inspect_tree(remote, "/".join(canon.segments), canon, storage_location)
            finally:
                channel.close()
        store, base = self._tree(storage_location, canon)
        return _inspect_tree(store, base, canon, storage_location)

    def _tree(self, location: str, canon: CanonicalLocation) -> tuple[ArtifactStore, str]:
        """The store to read and the path inside it that is the location."""
        if canon.family == PROXIED_SCHEME:
            if self.destination is None:
                raise FailedPrecondition(
                    f"model version source {location!r}: this server has no artifact "
                    "destination to read it from",
                    source=location,
                )
            return self.destination, "/".join(canon.segments)
        if canon.segments:
            # Root the store at the parent, so a single-file source can be read too; a
            # folder is re-rooted at itself (confinement at the model's own folder).
            parent = storage_uri(location, _parent(canon))
            store = ArtifactStore(parent, self.storage_options)
            entry = store.stat(canon.segments[-1])
            if entry is not None and entry.is_dir:
                return ArtifactStore(location, self.storage_options), ""
            return store, canon.segments[-1]
        return ArtifactStore(location, self.storage_options), ""


def _inspect_tree(
    store: _Tree, base: str, canon: CanonicalLocation, storage_location: str
) -> SourceInspection:
    """List and hash every file at `base` in `store` (a file or a folder)."""
    entry = store.stat(base)
    if entry is None:
        raise NotFound(
            f"nothing exists at model version source {storage_location!r}",
            source=storage_location,
        )
    if not entry.is_dir:
        name = canon.segments[-1] if canon.segments else base
        file, _ = _hash(store, base, name, keep=False)
        return SourceInspection(files=[file])
    prefix = f"{base}/" if base else ""
    files: list[ModelFile] = []
    mlmodel: bytes | None = None
    for item in store.list(base, recursive=True):
        if item.is_dir:
            continue
        if len(files) >= MAX_FILES:
            raise ResourceExhausted(
                f"model version source {storage_location!r} holds more than {MAX_FILES} files",
                source=storage_location,
                max_files=MAX_FILES,
            )
        rel = item.path[len(prefix) :] if item.path.startswith(prefix) else item.path
        file, data = _hash(store, item.path, rel, keep=rel == MLMODEL_FILE)
        files.append(file)
        if data is not None:
            mlmodel = data
    if not files:
        raise NotFound(
            f"model version source {storage_location!r} is an empty folder",
            source=storage_location,
        )
    files.sort(key=lambda f: f.path)
    signature, example = (None, None)
    if mlmodel is not None:
        signature, example = read_mlmodel(mlmodel, storage_location)
    return SourceInspection(files=files, signature=signature, input_example_path=example)


def _parent(canon: CanonicalLocation) -> CanonicalLocation:
    return CanonicalLocation(canon.family, canon.authority, canon.segments[:-1])


def _hash(store: _Tree, path: str, rel: str, *, keep: bool) -> tuple[ModelFile, bytes | None]:
    """SHA-256 and size of one file, streamed; its bytes too when `keep` (bounded)."""
    digest = hashlib.sha256()
    size = 0
    kept: list[bytes] | None = [] if keep else None
    with store.read(path, chunk_size=CHUNK_SIZE) as reader:
        for chunk in reader:
            digest.update(chunk)
            size += len(chunk)
            if kept is not None:
                if size > MAX_MLMODEL_BYTES:
                    kept = None
                    keep = False
                else:
                    kept.append(chunk)
    data = b"".join(kept) if kept is not None else None
    return ModelFile(path=rel, size=size, sha256=digest.hexdigest()), data


class _RemoteTree:
    """A separate artifact server's destination, read through its ArtifactService."""

    def __init__(self, location: str, channel: grpc.Channel) -> None:
        self._location = location
        self._stub = apb_grpc.ArtifactServiceStub(channel)  # type: ignore[no-untyped-call]

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except grpc.RpcError as err:
            error = error_from_rpc(err)
            raise type(error)(
                f"reading model version source {self._location!r} from its artifact server: "
                f"{error.message}",
                source=self._location,
            ) from None

    @staticmethod
    def _entry(info: apb.ArtifactInfo) -> ArtifactEntry:
        return ArtifactEntry(info.path, info.is_dir, info.size, info.modified_time)

    def stat(self, path: str) -> ArtifactEntry | None:
        """The entry at `path` ("" is the root), None when nothing is there."""
        if not path:
            return ArtifactEntry("", True, 0, 0)
        try:
            with self._errors():
                response = self._stub.StatArtifact(
                    apb.StatArtifactRequest(path=clean_path(path)), timeout=REMOTE_CALL_TIMEOUT_S
                )
        except NotFound:
            return None
        return self._entry(response.info)

    def list(self, path: str = "", recursive: bool = False) -> list[ArtifactEntry]:
        """Entries below `path`, paths relative to the destination root."""
        with self._errors():
            response = self._stub.ListArtifacts(
                apb.ListArtifactsRequest(
                    path=clean_path(path, allow_empty=True), recursive=recursive
                ),
                timeout=REMOTE_CALL_TIMEOUT_S,
            )
        entries = [self._entry(info) for info in response.files]
        for entry in entries:
            clean_path(entry.path)  # never trust a path a server sends
        return entries

    @contextlib.contextmanager
    def read(self, path: str, offset: int = 0, chunk_size: int = CHUNK_SIZE) -> Iterator[Any]:
        """The file's chunks as they stream; the trailer's size and hash are verified."""
        call = self._stub.DownloadArtifact(
            apb.DownloadArtifactRequest(path=clean_path(path)), timeout=REMOTE_DOWNLOAD_TIMEOUT_S
        )

        def chunks() -> Iterator[bytes]:
            digest, size = hashlib.sha256(), 0
            with self._errors():
                for message in call:
                    part = message.WhichOneof("part")
                    if part == "chunk":
                        digest.update(message.chunk)
                        size += len(message.chunk)
                        yield message.chunk
                    elif part == "trailer":
                        if (
                            message.trailer.sent != size
                            or message.trailer.sha256 != digest.hexdigest()
                        ):
                            raise FailedPrecondition(
                                f"model version source {self._location!r}: {path!r} arrived "
                                "damaged from its artifact server (size or hash mismatch)",
                                source=self._location,
                            )
                        return
            raise FailedPrecondition(
                f"model version source {self._location!r}: the download of {path!r} ended "
                "without a trailer",
                source=self._location,
            )

        try:
            yield chunks()
        finally:
            call.cancel()


def _schema_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value)


def read_mlmodel(data: bytes, location: str) -> tuple[SignatureMetadata | None, str | None]:
    """(signature, input example path) from an MLmodel file's bytes (yaml.safe_load only).

    Raises:
        InvalidArgument: the file is not YAML, not a mapping, or names an unsafe example path.
    """
    try:
        doc = safe_yaml_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidArgument(
            f"the MLmodel file of {location!r} is not valid YAML: {exc}", source=location
        ) from None
    if doc is None:
        return None, None
    if not isinstance(doc, dict):
        raise InvalidArgument(
            f"the MLmodel file of {location!r} is not a YAML mapping", source=location
        )
    signature = None
    raw = doc.get("signature")
    if isinstance(raw, dict):
        parts = {key: _schema_text(raw.get(key)) for key in ("inputs", "outputs", "params")}
        if any(parts.values()):
            signature = SignatureMetadata(**parts)
    example = None
    info = doc.get("saved_input_example_info")
    if isinstance(info, dict) and info.get("artifact_path"):
        example = str(info["artifact_path"])
        try:
            clean_path(example)
        except InvalidArgument:
            raise InvalidArgument(
                f"the MLmodel file of {location!r} names an unsafe input example path {example!r}",
                source=location,
                input_example_path=example,
            ) from None
    return signature, example


def default_inspector(options: StoreOptions) -> FsspecSourceInspector:
    """The embedded-mode inspector: the caller's own credentials and local artifact root.

    Without a run, a version may come from the local artifact root (the default artifact
    root when it is a local path, else ./mlartifacts) and from the roots named in
    `options.extra["allowed_model_sources"]`.
    """
    roots: list[str] = []
    root = options.default_artifact_root
    if not root:
        root = Path.cwd().joinpath("mlartifacts").resolve().as_uri()
    roots.append(root)
    roots.extend(_extra_roots(options.extra.get("allowed_model_sources", ())))
    usable = []
    for candidate in roots:
        try:
            parse_source(candidate)
        except ModelyardError:
            continue
        usable.append(candidate)
    return FsspecSourceInspector(allowed_roots=usable)


def _extra_roots(value: object) -> Sequence[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return []
