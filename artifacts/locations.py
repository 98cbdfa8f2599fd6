"""Artifact locations: strict parsing into a canonical form, and the server's root policy.

A client may give an experiment an explicit artifact location (direct-to-bucket). The server
accepts it only when it lies under a root its operator allows, compared segment by segment
on a canonical form: the scheme family, where the bytes go (S3 bucket; Azure account, cloud
and container; proxied host) and the key prefix. Anything that could point the server at its
own disk or network (`file:`, plain paths, `http(s):`, `ftp:`, unknown schemes) is refused,
and so is anything that is ambiguous to parse: queries, fragments, `;` parameters, userinfo,
ports on object stores, percent-encoding, `.`/`..`/empty segments, backslashes and control
characters.

Pure logic: no grpc, no fsspec, no network.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from modelyard.errors import InvalidArgument, PermissionDenied

#: Longest location accepted (the metadata column holds 2048 characters).
MAX_LOCATION_LENGTH = 2048

#: Scheme -> family. Every other scheme is refused.
SCHEME_FAMILIES: dict[str, str] = {
    "s3": "s3",
    "wasbs": "azure",
    "wasb": "azure",
    "abfs": "azure",
    "abfss": "azure",
    "az": "azure",
    "modelyard-artifacts": "modelyard-artifacts",
}

#: Azure endpoint suffixes (public cloud and sovereign clouds) after "<account>.blob|dfs.".
AZURE_ENDPOINT_SUFFIXES = (
    "core.windows.net",
    "core.chinacloudapi.cn",
    "core.usgovcloudapi.net",
    "core.cloudapi.de",
)

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):(.*)$", re.DOTALL)
# Lenient on purpose (legacy buckets may hold capitals or underscores); what matters is that
# nothing in the authority can change where the request goes.
_S3_BUCKET = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._\-]{0,253}[A-Za-z0-9])?$")
_AZURE_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
_AZURE_CONTAINER = re.compile(r"^(?:[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}|\$root)$")
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9\-]+)*$")


@dataclass(frozen=True, slots=True)
class CanonicalLocation:
    """A parsed artifact location: family, where the bytes go, and the key segments."""

    family: str
    """"s3", "azure" or "modelyard-artifacts" (the wasbs/abfs/az schemes share "azure")."""
    authority: tuple[str, ...]
    """("bucket",) for S3; (account, endpoint suffix, container) for Azure; ("host:port",)
    or ("",) for the proxied scheme."""
    segments: tuple[str, ...]
    """The key prefix, one item per path segment."""

    def is_under(self, root: CanonicalLocation) -> bool:
        """True when this location equals `root` or lies below it, segment by segment."""
        return (
            self.family == root.family
            and self.authority == root.authority
            and self.segments[: len(root.segments)] == root.segments
        )


def _bad_char(text: str) -> str | None:
    """A description of the first forbidden character in `text`, or None."""
    for ch in text:
        code = ord(ch)
        if code < 0x20 or code == 0x7F or 0x80 <= code <= 0x9F:
            return f"a control character (U+{code:04X})"
        if ch == "\\":
            return "a backslash"
        if ch == "%":
            return "percent-encoding"
        if ch == "?":
            return "a query"
        if ch == "#":
            return "a fragment"
        if ch == ";":
            return "a ';' parameter"
    return None


def _invalid(location: str, why: str) -> InvalidArgument:
    return InvalidArgument(f"invalid artifact location {location!r}: {why}", location=location)


def _segments(location: str, path: str) -> tuple[str, ...]:
    """Split a URI path ("" or "/a/b" or "/a/b/") into checked segments."""
    if not path:
        return ()
    return path_segments(location, path, _invalid)


def path_segments(
    value: str, path: str, invalid: Callable[[str, str], InvalidArgument]
) -> tuple[str, ...]:
    """Split an absolute path ("/a/b" or "/a/b/") into segments; no "", "." or "..".

    Errors are built by `invalid(value, why)`, so each caller names what it checks.
    """
    if not path.startswith("/"):
        raise invalid(value, "the path must start with '/'")
    body = path[1:]
    if body.endswith("/"):
        body = body[:-1]
    if not body:
        return ()
    parts = tuple(body.split("/"))
    for part in parts:
        if part == "":
            raise invalid(value, "empty path segment ('//')")
        if part in (".", ".."):
            raise invalid(value, f"{part!r} path segment")
    return parts


def _split_authority(location: str, rest: str) -> tuple[str, str]:
    """("authority", "/path") from "//authority/path"."""
    if not rest.startswith("//"):
        raise _invalid(location, "expected '//' and a bucket, container or host after the scheme")
    authority, slash, path = rest[2:].partition("/")
    if not authority:
        raise _invalid(location, "no bucket, container or host")
    return authority, slash + path


def _parse_s3(location: str, rest: str) -> CanonicalLocation:
    authority, path = _split_authority(location, rest)
    if "@" in authority:
        raise _invalid(location, "userinfo ('@') is not allowed in an s3:// location")
    if ":" in authority:
        raise _invalid(location, "a port is not allowed in an s3:// location")
    if not _S3_BUCKET.match(authority) or ".." in authority:
        raise _invalid(location, f"{authority!r} is not a valid S3 bucket name")
    return CanonicalLocation("s3", (authority,), _segments(location, path))


def _parse_azure(location: str, scheme: str, rest: str) -> CanonicalLocation:
    authority, path = _split_authority(location, rest)
    if "@" not in authority:
        raise _invalid(
            location,
            f"an Azure location must name its storage account: "
            f"{scheme}://<container>@<account>.blob.core.windows.net/<path>",
        )
    container, _, host = authority.partition("@")
    if "@" in host:
        raise _invalid(location, "more than one '@'")
    if ":" in host:
        raise _invalid(location, "a port is not allowed in an Azure location")
    if not _AZURE_CONTAINER.match(container):
        raise _invalid(location, f"{container!r} is not a valid Azure container name")
    labels = host.lower().split(".")
    suffix = ".".join(labels[2:])
    if len(labels) < 3 or labels[1] not in ("blob", "dfs") or suffix not in AZURE_ENDPOINT_SUFFIXES:
        raise _invalid(
            location, f"{host!r} is not an Azure storage endpoint (<account>.blob.core.windows.net)"
        )
    account = labels[0]
    if not _AZURE_ACCOUNT.match(account):
        raise _invalid(location, f"{account!r} is not a valid Azure storage account name")
    return CanonicalLocation("azure", (account, suffix, container), _segments(location, path))


def _parse_proxied(location: str, rest: str) -> CanonicalLocation:
    if rest.startswith("//"):
        authority, path = _split_authority(location, rest)
        if "@" in authority:
            raise _invalid(location, "userinfo ('@') is not allowed")
        host, colon, port = authority.rpartition(":")
        if not colon or not port.isdigit() or not 0 < int(port) < 65536:
            raise _invalid(location, "a modelyard-artifacts:// location needs host:port")
        bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        if not bare or not (_HOST.match(bare) or re.fullmatch(r"[0-9A-Fa-f:.]+", bare)):
            raise _invalid(location, f"{host!r} is not a valid host name")
        return CanonicalLocation(
            "modelyard-artifacts", (f"{host.lower()}:{int(port)}",), _segments(location, path)
        )
    if not rest.startswith("/"):
        raise _invalid(location, "expected modelyard-artifacts:/<path>")
    return CanonicalLocation("modelyard-artifacts", ("",), _segments(location, rest))


def canonical_location(location: str) -> CanonicalLocation:
    """Parse an artifact location strictly into its canonical form.

    Raises:
        InvalidArgument: malformed (see the module docstring), naming the location.
        PermissionDenied: a scheme that can never be allowed (file:, http:, plain paths, ...).
    """
    if not isinstance(location, str) or not location:
        raise InvalidArgument(
            f"invalid artifact location {location!r}: expected a non-empty URI", location=location
        )
    if len(location) > MAX_LOCATION_LENGTH:
        raise _invalid(location, f"longer than {MAX_LOCATION_LENGTH} characters")
    bad = _bad_char(location)
    if bad is not None:
        raise _invalid(location, f"contains {bad}")
    match = _SCHEME.match(location)
    if match is None or len(match.group(1)) == 1:  # "C:/x" is a drive letter, not a scheme
        raise PermissionDenied(
            f"artifact location {location!r} is a local path; the server never accepts paths "
            "on its own disk (use s3://, wasbs://... or modelyard-artifacts:/)",
            location=location,
        )
    scheme, rest = match.group(1).lower(), match.group(2)
    family = SCHEME_FAMILIES.get(scheme)
    if family is None:
        raise PermissionDenied(
            f"artifact location {location!r} uses the scheme {scheme!r}, which the server "
            f"never accepts (allowed schemes: {', '.join(sorted(SCHEME_FAMILIES))})",
            location=location,
            scheme=scheme,
        )
    if family == "s3":
        return _parse_s3(location, rest)
    if family == "azure":
        return _parse_azure(location, scheme, rest)
    return _parse_proxied(location, rest)


def is_policy_root(root: str) -> bool:
    """True when `root` parses as a location clients could be allowed under."""
    try:
        canonical_location(root)
    except (InvalidArgument, PermissionDenied):
        return False
    return True


class ArtifactRootPolicy:
    """Which artifact locations clients may give experiments: those under an allowed root."""

    def __init__(self, allowed_roots: Sequence[str], *, implicit_roots: Iterable[str] = ()) -> None:
        """Parse `allowed_roots` (each must be valid) and `implicit_roots` (invalid ones skipped).

        Implicit roots are the server's destination and default root: a `file:` destination,
        for example, is fine for the server but is never a location a client may choose.

        Raises:
            InvalidArgument, PermissionDenied: an allowed root is malformed or not allowable.
        """
        roots: list[tuple[str, CanonicalLocation]] = [
            (root, canonical_location(root)) for root in allowed_roots
        ]
        for root in implicit_roots:
            if root and is_policy_root(root):
                roots.append((root, canonical_location(root)))
        seen: set[CanonicalLocation] = set()
        self._roots: list[tuple[str, CanonicalLocation]] = []
        for text, canon in roots:
            if canon not in seen:
                seen.add(canon)
                self._roots.append((text, canon))

    @property
    def roots(self) -> tuple[str, ...]:
        """The allowed roots, as given."""
        return tuple(text for text, _ in self._roots)

    def allows(self, location: str) -> bool:
        """True when `check` would accept the location."""
        try:
            self.check(location)
        except (InvalidArgument, PermissionDenied):
            return False
        return True

    def check(self, location: str) -> str:
        """Return `location` when it lies under an allowed root.

        Raises:
            InvalidArgument: the location is malformed, naming it.
            PermissionDenied: outside every allowed root (or a refused scheme), naming the
                location and the allowed roots.
        """
        allowed = ", ".join(self.roots) or "none"
        try:
            canon = canonical_location(location)
        except PermissionDenied as exc:  # a scheme or a local path that is never allowed
            raise PermissionDenied(
                f"{exc.message}; allowed artifact roots: {allowed}",
                **exc.details,
                allowed_roots=allowed,
            ) from None
        if any(canon.is_under(root) for _, root in self._roots):
            return location
        raise PermissionDenied(
            f"artifact location {location!r} is not under an allowed artifact root "
            f"(allowed: {allowed}; the operator adds more with --allowed-artifact-roots)",
            location=location,
            allowed_roots=allowed,
        )
