"""The web UI: static assets (HTML, CSS, ES modules; no build step) served on the HTTP port.

Every page is the same shell (`static/index.html`); `static/js/app.js` routes by path in the
browser and each page reads its data from the JSON gateway (`/api/...`), so the UI has no
server-side templates and uses exactly the API everyone else does. Nothing is rendered
from strings as HTML: the scripts build DOM nodes and set text (see `static/js/dom.js`).

Caching: the shell names its assets under `/static/v/<version>/`, where the version is a hash
of every asset's content taken when the server starts. Those URLs never change meaning, so the
browser keeps them for a year without asking again (modules import each other by relative
path, so the whole tree stays under the versioned prefix); a returning user's page load then
fetches only the shell and its data. Plain `/static/<path>` is served too, revalidated.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from werkzeug.utils import send_from_directory
from werkzeug.wrappers import Request, Response

from modelyard.gateway.security import CSRF_COOKIE, new_csrf_token

#: The assets next to this module (resolved, so an editable install serves the checkout's).
STATIC_DIR = Path(__file__).resolve().parent / "static"


class UiAssets:
    """Serves the shell page (setting the CSRF cookie) and the static assets."""

    def __init__(self, static_dir: Path = STATIC_DIR) -> None:
        self.static_dir = static_dir
        self.version = content_version(static_dir)
        shell = (static_dir / "index.html").read_text(encoding="utf-8")
        self._shell = shell.replace('"/static/', f'"/static/v/{self.version}/').encode("utf-8")

    def asset(self, request: Request, path: str) -> Response:
        """One static file (confined to the static folder; 404 outside it).

        Under this start's version prefix it may be cached for good; under another version
        (a page loaded before an upgrade) or none, it is the current file, revalidated.
        """
        immutable = False
        if path.startswith("v/"):
            _, version, rest = [*path.split("/", 2), ""][:3]  # v/<version>/<file>
            immutable = version == self.version
            path = rest
        response = send_from_directory(
            self.static_dir, path, request.environ, max_age=0, conditional=True, etag=True
        )
        response.headers["Cache-Control"] = (
            "public, max-age=31536000, immutable" if immutable else "no-cache"
        )
        return response

    def page(self, request: Request) -> Response:
        """The page shell; gives the browser a CSRF token cookie if it has none."""
        response = Response(self._shell, content_type="text/html; charset=utf-8")
        response.headers["Cache-Control"] = "no-store"
        if not request.cookies.get(CSRF_COOKIE):
            # Readable by the UI's script (it echoes it in X-CSRF-Token); Strict keeps it off
            # every request another site makes.
            response.set_cookie(
                CSRF_COOKIE,
                new_csrf_token(),
                httponly=False,
                samesite="Strict",
                secure=request.is_secure,
                path="/",
            )
        return response


def content_version(static_dir: Path) -> str:
    """A short hash of every asset's path and bytes: changes whenever any file does."""
    digest = hashlib.sha256()
    for file in sorted(p for p in static_dir.rglob("*") if p.is_file()):
        digest.update(file.relative_to(static_dir).as_posix().encode("utf-8") + b"\0")
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]
