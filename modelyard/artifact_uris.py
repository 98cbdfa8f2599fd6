"""Artifact URI helpers of the core (no grpc, no fsspec): joining a root and path segments."""

from __future__ import annotations

#: The scheme of artifacts served by a modelyard server's ArtifactService:
#: `modelyard-artifacts:/<path>` (this tracking server) or `modelyard-artifacts://host:port/<path>`.
PROXIED_SCHEME = "modelyard-artifacts"


def join_artifact_uri(root: str, *parts: str) -> str:
    """Append path segments to an artifact root URI with exactly one "/" between them.

    `modelyard-artifacts:/` + `1` -> `modelyard-artifacts:/1`, `s3://b/p/` + `1` ->
    `s3://b/p/1`, `s3://b/p` + `1` -> `s3://b/p/1`, `file:///` + `1` -> `file:///1`.
    Empty parts and the slashes around each part are dropped.
    """
    if not root:
        raise ValueError("an artifact root must not be empty")
    tail = "/".join(p.strip("/") for p in parts if p.strip("/"))
    if not tail:
        return root
    base = root.rstrip("/")
    if not base:  # the root is "/" (a plain absolute path)
        return "/" + tail
    if base.endswith(":"):  # scheme-only roots keep their slashes: "x:/", "file:///"
        return (root if root.endswith("/") else root + "/") + tail
    return f"{base}/{tail}"
