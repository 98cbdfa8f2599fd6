"""The one boundary check for client-supplied artifact paths.

Every relative artifact path that comes from a client (gRPC request, URI suffix, CLI argument)
goes through `clean_path` once, before any store touches it. The stores confine it again on
their side (real-path check on local disks, root-prefixed keys on object stores), so a path
that slipped past this check still could not leave the store's root.

A clean path is POSIX-style: segments separated by "/", none of them empty, "." or "..", no
leading "/", no drive letter, no backslash, no percent sign (so no percent-encoded or
double-encoded separators or dots can be decoded into one later), no ";" path parameters, no
NUL or control characters, no segment named like the stores' reserved temporary folder, and at
most MAX_PATH_LENGTH characters.
"""

from __future__ import annotations

import re

from modelyard.errors import InvalidArgument

#: The folder (at a local store's root) that holds uploads in progress; never a client path.
PARTIAL_DIR = ".modelyard-partial"
#: Longest accepted artifact path, in characters.
MAX_PATH_LENGTH = 1024

# C0 controls (incl. NUL), DEL and the C1 controls U+0080..U+009F.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DRIVE = re.compile(r"^[A-Za-z]:")
_SHOWN = 80  # characters of an over-long path quoted in its error message


def _bad(path: str, why: str) -> InvalidArgument:
    shown = path if len(path) <= _SHOWN else path[:_SHOWN] + "..."
    return InvalidArgument(f"invalid artifact path {shown!r}: {why}", path=shown)


def clean_path(path: str, *, allow_empty: bool = False) -> str:
    """Return `path` unchanged when it is a safe relative artifact path; else InvalidArgument."""
    if not isinstance(path, str):
        raise InvalidArgument(
            f"invalid artifact path {path!r}: must be a string, not {type(path).__name__}",
            path=repr(path),
        )
    if not path:
        if allow_empty:
            return path
        raise _bad(path, "must not be empty")
    if len(path) > MAX_PATH_LENGTH:
        raise _bad(path, f"longer than {MAX_PATH_LENGTH} characters ({len(path)})")
    control = _CONTROL.search(path)
    if control:
        raise _bad(path, f"contains the control character {control.group()!r}")
    if "\\" in path:
        raise _bad(path, "contains a backslash (use '/' between segments)")
    if "%" in path:
        raise _bad(path, "contains '%' (percent-encoded characters are not accepted)")
    if ";" in path:
        raise _bad(path, "contains ';' (path parameters are not accepted)")
    if path.startswith("/"):
        raise _bad(path, "is absolute (artifact paths are relative to the artifact root)")
    for segment in path.split("/"):
        if not segment:
            raise _bad(path, "has an empty segment ('//' or a trailing '/')")
        if segment in (".", ".."):
            raise _bad(path, f"has a {segment!r} segment")
        if _DRIVE.match(segment):
            raise _bad(path, f"segment {segment!r} starts with a drive letter")
        if segment == PARTIAL_DIR:
            raise _bad(path, f"{PARTIAL_DIR!r} is reserved for uploads in progress")
    return path


def join_path(*parts: str) -> str:
    """Join relative artifact paths with "/" (empty parts are skipped); the result is checked."""
    return clean_path("/".join(p for p in parts if p), allow_empty=True)
