"""The UI's assets: the shell names them under a content version that browsers keep for good."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from modelyard.ui import STATIC_DIR, content_version
from tests.integration.http.conftest import HttpServer

pytestmark = pytest.mark.integration

IMMUTABLE = "public, max-age=31536000, immutable"


def shell_assets(server: HttpServer) -> list[str]:
    """The asset URLs the shell page links."""
    page = server.get("/experiments/1")
    assert page.status == 200
    return re.findall(r'"(/static/[^"]+)"', page.body.decode())


def test_shell_links_assets_under_the_content_version(server: HttpServer) -> None:
    version = content_version(STATIC_DIR)
    assets = shell_assets(server)
    assert assets and all(a.startswith(f"/static/v/{version}/") for a in assets)
    for asset in assets:
        reply = server.get(asset)
        assert reply.status == 200, asset
        assert reply.header("Cache-Control") == IMMUTABLE
        plain = server.get(asset.replace(f"/static/v/{version}/", "/static/"))
        assert plain.body == reply.body and plain.header("Cache-Control") == "no-cache"
    # A page loaded before an upgrade asks an older version: it gets today's file, revalidated.
    old = server.get("/static/v/0123456789abcdef/js/app.js")
    assert old.status == 200 and old.header("Cache-Control") == "no-cache"


@pytest.mark.parametrize(
    "path",
    [
        "/static/v/0123456789abcdef/../../__init__.py",
        "/static/v/0123456789abcdef/%2e%2e/__init__.py",
        "/static/v/0123456789abcdef/..%2f__init__.py",
        "/static/v/x",
        "/static/v/",
    ],
)
def test_versioned_paths_stay_in_the_static_folder(server: HttpServer, path: str) -> None:
    reply = server.get(path)
    assert reply.status == 404
    assert b"import" not in reply.body


def test_the_version_follows_the_content(tmp_path: Path) -> None:
    folder = tmp_path / "static"
    folder.mkdir()
    (folder / "a.js").write_text("one")
    first = content_version(folder)
    assert content_version(folder) == first
    (folder / "a.js").write_text("two")
    assert content_version(folder) != first
