"""fsspec plumbing: which filesystem and which root path inside it serve an artifact root URI.

Supported roots: plain local paths and `file://` URIs, `s3://bucket[/prefix]` (s3fs), and Azure
Blob as `wasbs://container@account.blob.core.windows.net[/prefix]` (also `wasb://`), `abfs://`,
`abfss://` and `az://` (adlfs). Credentials come from each library's usual sources:

- S3: the AWS chain (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE`, config files,
  instance roles). The endpoint (MinIO, moto or any S3-compatible store) is
  `StorageOptions.s3_endpoint_url` (the server's `--s3-endpoint-url`), else the environment
  variable `MODELYARD_S3_ENDPOINT_URL`, else botocore's own `AWS_ENDPOINT_URL`.
- Azure: `AZURE_STORAGE_CONNECTION_STRING` (also how Azurite is reached), else
  `AZURE_STORAGE_ACCOUNT_KEY` / `AZURE_STORAGE_SAS_TOKEN` / service principal / the default
  Azure credential for the account named in the URI. When the URI names an account and the
  connection string is for another one, the store refuses (FailedPrecondition) instead of
  silently writing to the connection string's account.

fsspec does not know `wasbs://` and `wasb://`: importing this module registers them for adlfs
(lazily: adlfs is imported only when such a URI is opened).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import fsspec

from modelyard.config import client_config
from modelyard.errors import FailedPrecondition, InvalidArgument

#: Environment variable naming the S3 endpoint when the server flag is not given.
S3_ENDPOINT_ENV = "MODELYARD_S3_ENDPOINT_URL"
#: Environment variable adlfs reads for Azure (and Azurite) connection strings.
AZURE_CONNECTION_STRING_ENV = "AZURE_STORAGE_CONNECTION_STRING"

AZURE_SCHEMES = frozenset({"wasbs", "wasb", "abfs", "abfss", "az"})
S3_SCHEMES = frozenset({"s3"})
LOCAL_SCHEMES = frozenset({"", "file"})

_AZURE_HOST = re.compile(r"^(?P<account>[a-z0-9]+)\.(?:blob|dfs)\.core\.windows\.net$")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


@dataclass(frozen=True)
class StorageOptions:
    """Endpoint overrides for artifact stores (credentials come from the usual sources)."""

    s3_endpoint_url: str | None = None

    def resolved_s3_endpoint_url(self) -> str | None:
        """The S3 endpoint: the explicit option, else MODELYARD_S3_ENDPOINT_URL, else None."""
        return self.s3_endpoint_url or client_config().s3_endpoint_url


_wasb_class: type | None = None


def _make_wasb_class() -> type:
    global _wasb_class
    if _wasb_class is None:
        from adlfs import AzureBlobFileSystem

        class WasbBlobFileSystem(AzureBlobFileSystem):
            """adlfs under the `wasbs://` and `wasb://` schemes as well as adlfs' own."""

            protocol = ("wasbs", "wasb", "abfs", "abfss", "az")

        WasbBlobFileSystem.__module__ = __name__
        _wasb_class = WasbBlobFileSystem
    return _wasb_class


def __getattr__(name: str) -> Any:
    """Build WasbBlobFileSystem on first use, so adlfs is imported only when needed."""
    if name == "WasbBlobFileSystem":
        return _make_wasb_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register_wasb() -> None:
    """Register `wasbs://` and `wasb://` with fsspec (lazily bound to adlfs)."""
    for scheme in ("wasbs", "wasb"):
        fsspec.register_implementation(scheme, f"{__name__}.WasbBlobFileSystem", clobber=True)


register_wasb()


def _scheme(uri: str) -> str:
    if _WINDOWS_DRIVE.match(uri):
        return ""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", uri)
    return match.group(1).lower() if match else ""


def _strip_slashes(path: str) -> str:
    return path.strip("/")


def _connection_string_account(conn: str) -> str | None:
    for part in conn.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "accountname":
            return value.strip()
    return None


def _local(uri: str) -> tuple[fsspec.AbstractFileSystem, str]:
    if _scheme(uri) == "file":
        parts = urlsplit(uri)
        if parts.query or parts.fragment:
            raise InvalidArgument(f"file URI {uri!r} must not have a query or fragment", uri=uri)
        if parts.netloc not in ("", "localhost"):
            raise InvalidArgument(f"file URI {uri!r} names a remote host", uri=uri)
        path = unquote(parts.path)
    else:
        path = uri
    if not path:
        raise InvalidArgument(f"artifact root {uri!r} has no path", uri=uri)
    root = os.path.abspath(os.path.expanduser(path))
    return fsspec.filesystem("file"), root


def _s3(uri: str, options: StorageOptions) -> tuple[fsspec.AbstractFileSystem, str]:
    parts = urlsplit(uri)
    if parts.query or parts.fragment:
        raise InvalidArgument(f"S3 URI {uri!r} must not have a query or fragment", uri=uri)
    bucket = parts.netloc
    if not bucket or "@" in bucket or ":" in bucket:
        raise InvalidArgument(f"S3 URI {uri!r} must be s3://bucket[/prefix]", uri=uri)
    kwargs: dict[str, Any] = {"use_listings_cache": False}
    endpoint = options.resolved_s3_endpoint_url()
    if endpoint:
        kwargs["endpoint_url"] = endpoint
    prefix = _strip_slashes(parts.path)
    return fsspec.filesystem("s3", **kwargs), f"{bucket}/{prefix}" if prefix else bucket


def _azure(uri: str) -> tuple[fsspec.AbstractFileSystem, str]:
    parts = urlsplit(uri)
    if parts.query or parts.fragment:
        raise InvalidArgument(f"Azure URI {uri!r} must not have a query or fragment", uri=uri)
    container, at, host = parts.netloc.partition("@")
    if not container:
        raise InvalidArgument(f"Azure URI {uri!r} names no container", uri=uri)
    kwargs: dict[str, Any] = {"use_listings_cache": False}
    account = None
    if at:
        match = _AZURE_HOST.match(host.lower())
        if not match:
            raise InvalidArgument(
                f"Azure URI {uri!r}: expected container@<account>.blob.core.windows.net",
                uri=uri,
            )
        account = match.group("account")
        kwargs["account_name"] = account
    conn = os.environ.get(AZURE_CONNECTION_STRING_ENV)
    if conn:
        conn_account = _connection_string_account(conn)
        if account and conn_account and conn_account.lower() != account:
            raise FailedPrecondition(
                f"artifact root {uri!r} is in Azure account {account!r}, but "
                f"{AZURE_CONNECTION_STRING_ENV} is for account {conn_account!r}",
                uri=uri,
            )
        kwargs["connection_string"] = conn
    prefix = _strip_slashes(parts.path)
    try:
        fs = _make_wasb_class()(**kwargs)
    except ValueError as exc:  # adlfs: no connection string, account or credential
        raise FailedPrecondition(
            f"no Azure credentials for artifact root {uri!r}: set {AZURE_CONNECTION_STRING_ENV}"
            f" or name the account in the URI ({exc})",
            uri=uri,
        ) from exc
    return fs, f"{container}/{prefix}" if prefix else container


def filesystem_for(
    uri: str, options: StorageOptions | None = None
) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec filesystem serving an artifact root URI and the root path inside it."""
    options = options or StorageOptions()
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidArgument(f"artifact root {uri!r} is empty", uri=uri)
    scheme = _scheme(uri)
    try:
        if scheme in LOCAL_SCHEMES:
            return _local(uri)
        if scheme in S3_SCHEMES:
            return _s3(uri, options)
        if scheme in AZURE_SCHEMES:
            return _azure(uri)
    except ImportError as exc:
        extra = "s3" if scheme in S3_SCHEMES else "azure"
        raise FailedPrecondition(
            f"artifact root {uri!r} needs {exc.name or 'an optional package'} "
            f"(pip install modelyard[{extra}])",
            uri=uri,
        ) from exc
    raise InvalidArgument(
        f"artifact root {uri!r} has an unsupported scheme {scheme!r} "
        "(supported: file, s3, wasbs, wasb, abfs, abfss, az)",
        uri=uri,
    )
